"""``experiments/noise_stress.py``: beats of the noisy segments only, a source that never saw 118/119,
and the per-SNR table and plot of a tiny finished study."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import wfdb
from study_helpers import load_experiment

from ecgq import studies
from ecgq.data import DataError, data_config
from ecgq.data import mitbih
from ecgq.errors import UserError
from ecgq.studies import noise_stress


def test_noisy_segments_are_two_minutes_on_two_off_from_minute_five(ecgq_data):
    minutes = np.array([0.0, 4.99, 5.01, 6.99, 7.01, 8.99, 9.01, 28.0, 29.5])
    assert noise_stress.in_noisy_segment(minutes * 60).tolist() == [False, False, True, True, False, False, True,
                                                                      False, True]
    # the data agree: 118e06 differs from 118 by more than a constant only inside those segments
    fs, minute = 360, 360 * 60
    noisy = wfdb.rdrecord(str(ecgq_data / "nstdb" / "118e06"), channels=[0], sampto=12 * minute).p_signal[:, 0]
    clean = wfdb.rdrecord(str(ecgq_data / "mitdb" / "118"), channels=[0], sampto=12 * minute).p_signal[:, 0]
    spread = [np.std((noisy - clean)[m * minute:(m + 1) * minute]) for m in range(12)]
    expected = noise_stress.in_noisy_segment(np.arange(12) * 60.0 + 30.0)
    assert [s > 0.1 for s in spread] == expected.tolist() and fs == 360
    assert noise_stress.record_name("118", -6) == "118e_6" and noise_stress.record_name("119", 6) == "119e06"


def test_a_source_trained_on_118_or_119_is_refused():
    view = {"records": {"train": ["101", "118"], "val": ["112"], "test": ["100"]}}
    with pytest.raises(UserError, match=r"record\(s\) \['118'\].*mitbih_binary.py:noise"):
        noise_stress.refuse_trained_sources({"views": {"student": view}})
    noise_stress.refuse_trained_sources({"views": {"student": dict(view, records={"train": ["101"], "val": [],
                                                                                   "test": ["118"]})}})


def test_mitbih_exclude_records_names_unknown_records():
    cfg = data_config("mitbih")
    cfg.exclude_records = "118, 999"
    with pytest.raises(DataError, match=r"exclude_records names \['999'\]"):
        mitbih.excluded(cfg)
    cfg.exclude_records = "118,119"
    assert mitbih.excluded(cfg) == ("118", "119")


def test_noise_stress_table_and_plot_per_snr(noise_workdir, ecgq_data, tmp_path):
    base = load_experiment("noise_stress.py")
    config = load_experiment("noise_stress.py")
    config.source_workdir = str(noise_workdir)
    config.nstdb_dir, config.mitdb_dir = str(ecgq_data / "nstdb"), str(ecgq_data / "mitdb")
    config.snrs = (24, -6)
    config.models = "cnn1d"
    config = studies.prepare(base, config)
    out = studies.run(config, str(tmp_path))
    doc = json.load(open(tmp_path / "noise_stress.json"))
    assert list(doc["n_beats"]) == ["clean 118/119", "SNR 24 dB", "SNR -6 dB"]
    counts = set(doc["n_beats"].values())
    assert len(counts) == 1  # the same annotated beats at every point
    total = sum(len(wfdb.rdann(str(ecgq_data / "mitdb" / r), "atr").sample) for r in ("118", "119"))
    assert 0.3 * total < counts.pop() < 0.6 * total  # about half the 30 minutes is noisy
    assert [c["label"] for c in doc["curves"]] == ["cnn1d no KD", "cnn1d KD T=4 a=0.5"]
    assert all(p["n_seeds"] == 1 and p["mean"] is not None for c in doc["curves"] for p in c["points"])
    assert "clean 118/119 |" in out["table"] and "SNR -6 dB |" in out["table"] and "| cnn1d " in out["table"]
    assert os.path.getsize(tmp_path / "balanced_accuracy_vs_snr.png") > 10_000
    point = json.load(open(tmp_path / "points" / "SNR_24_dB" / "results.json"))
    assert {r["split"] for r in point["runs"]} == {"SNR 24 dB"} and point["meta"]["dataset"] == "nstdb"
