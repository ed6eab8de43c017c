"""Study ``evaluate``: the models of a finished distillation study scored on another dataset.

Example (a MIT-BIH-trained workdir on another beat-annotated WFDB database, every record in test;
records are resampled to the rate each model was trained at, cut to its window and leads):

    python launch.py --config=experiments/evaluate.py --workdir=runs/eval_incart \
        --config.source_workdir=runs/mitbih_binary --config.data.data_dir=$ECGQ_DATA/incartdb

Any registered dataset works as ``--config.data.name`` (``wfdb_folder`` with ``crop_length`` for
recording-level models, ``arrays``, ...); ``--config.class_map=NEW:TRAINED,...`` maps class names
that differ. The report (results.json/csv/md) names the source study.
"""

from __future__ import annotations


def get_config(arg: str | None = None):
    from ecgq.studies.evaluate import evaluate_config

    if arg:
        raise ValueError(f"unknown preset {arg!r} for evaluate.py; it has none (set --config.source_workdir "
                         "and --config.data.*)")
    return evaluate_config()
