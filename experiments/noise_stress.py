"""Study ``noise_stress``: a MIT-BIH study's models on the MIT-BIH Noise Stress Test Database.

Train the source without records 118 and 119 (the clean sources of the noise-stress records), then
score every model on 118/119 with electrode-motion noise at SNR 24, 18, 12, 6, 0 and -6 dB (beats in
the noisy segments only) and on the clean 118/119:

    python launch.py --config=experiments/mitbih_binary.py:noise --workdir=runs/mitbih_noise
    python launch.py --config=experiments/noise_stress.py --workdir=runs/noise_stress \
        --config.source_workdir=runs/mitbih_noise

Writes noise_stress.md (balanced accuracy per model and SNR, mean ± 95% CI over seeds),
noise_stress.json, balanced_accuracy_vs_snr.png and a full report per point in points/.
"""

from __future__ import annotations


def get_config(arg: str | None = None):
    from ecgq.studies.noise_stress import noise_stress_config

    if arg:
        raise ValueError(f"unknown preset {arg!r} for noise_stress.py; it has none (set --config.source_workdir)")
    return noise_stress_config()
