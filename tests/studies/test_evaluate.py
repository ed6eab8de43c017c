"""``experiments/evaluate.py``: a finished MIT-BIH workdir scored on another beat-annotated WFDB
database at another sampling rate, with each model's own view; refusals for training records,
unmappable classes and workdirs that cannot be scored."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from study_helpers import load_experiment, resampled_beat_database

from ecgq import studies
from ecgq.data.types import DatasetInfo, make_split
from ecgq.errors import ConfigError, UserError
from ecgq.studies import transfer


def _evaluate_config(source, data_dir, **data_fields):
    base = load_experiment("evaluate.py")
    config = load_experiment("evaluate.py")
    config.source_workdir = str(source)
    config.data.data_dir = str(data_dir)
    config.plots = False
    for key, value in data_fields.items():
        target = config.data
        *path, leaf = key.split(".")
        for part in path:
            target = target[part]
        target[leaf] = value
    return studies.prepare(base, config)


def _check_noise_preset_views(noise_workdir):
    """The :noise preset never trains or validates on records 118 and 119, in either view."""
    inputs = json.load(open(noise_workdir / "model_inputs.json"))
    assert set(inputs["views"]) == {"student", "teacher"}
    for view in inputs["views"].values():
        seen = set(view["records"]["train"]) | set(view["records"]["val"])
        assert seen and not seen & {"118", "119"}
        assert "118" not in view["records"]["test"] and "119" not in view["records"]["test"]
    student = inputs["views"]["student"]
    assert (student["sampling_rate"], student["window_length"], student["lead_names"]) == (360.0, 256, ["MLII"])
    assert student["rr_features"] == ["pre_rr_norm", "post_rr_norm", "local_rr_norm"] and len(student["rr_std"]) == 3
    assert inputs["views"]["teacher"]["window_length"] == 448 and inputs["views"]["teacher"]["sampling_rate"] == 180.0


def _check_config_errors(noise_workdir, tmp_path):
    base = load_experiment("evaluate.py")
    with pytest.raises(ConfigError, match="source_workdir is empty"):
        studies.prepare(base, load_experiment("evaluate.py"))
    config = load_experiment("evaluate.py")
    config.source_workdir = str(tmp_path)
    with pytest.raises(UserError, match="holds no distillation study"):
        studies.prepare(base, config)
    config.source_workdir = str(noise_workdir)
    config.class_map = "S"
    with pytest.raises(ConfigError, match="class_map"):
        studies.prepare(base, config)


def test_a_mitbih_workdir_scores_a_128_hz_database_in_each_models_view(noise_workdir, mitdb_dir, tmp_path):
    # one test per use of the session's trained workdir, so that xdist workers build it at most once each
    _check_noise_preset_views(noise_workdir)
    database = resampled_beat_database(mitdb_dir, tmp_path / "db128", records=("100", "103"), seconds=90)
    config = _evaluate_config(noise_workdir, database)
    out = studies.run(config, str(tmp_path / "eval"))
    doc = json.load(open(tmp_path / "eval" / "results.json"))
    stages = {p[:-5]: json.load(open(noise_workdir / "stages" / p)) for p in os.listdir(noise_workdir / "stages")}
    assert len(doc["runs"]) == sum(len(s["runs"]) for s in stages.values())  # every member of every model
    assert {r["model"] for r in doc["runs"]} == {"ecgfounder_small", "cnn1d"}
    assert {r["split"] for r in doc["runs"]} == {"wfdb_beats test"}
    meta = doc["meta"]
    assert meta["source_workdir"] == str(noise_workdir) and "118/119" in meta["source_study"]
    # the 128 Hz records are read at each model's own rate, window and lead (ML2 falls back for MLII)
    assert meta["scored_data"]["student"]["sampling_rate"] == 360.0
    assert meta["scored_data"]["teacher"]["sampling_rate"] == 180.0
    assert meta["scored_data"]["student"]["lead_names"] == ["ML2"]
    assert meta["n"]["student"]["records"] == 2 and meta["n"]["student"]["windows"] > 150
    for run in doc["runs"]:  # the source's validation scores travel with each run (selection stays there)
        source_run = next(r for r in stages[run["model"]]["runs"] if r["seed"] == run["seed"] and r["kd"] == run["kd"])
        assert run["val_metrics"] == source_run["val_metrics"]
        assert 0.0 <= run["metrics"]["accuracy"] <= 1.0 and "record_metrics" not in run  # beats: no record label
    text = open(tmp_path / "eval" / "results.md").read()
    assert str(noise_workdir) in text and "wfdb_beats test" in text
    assert out["summary"]
    # records that trained the models (the same database) are refused, and nothing is written
    config = _evaluate_config(noise_workdir, mitdb_dir, **{"wfdb_beats.records": "101"})  # a DS1 training record
    with pytest.raises(UserError, match="trained or validated the models"):
        studies.run(config, str(tmp_path / "refused"))
    assert not os.path.exists(tmp_path / "refused" / "results.json")
    # the source's own test records may be scored again, and the report says so
    inputs = json.load(open(noise_workdir / "model_inputs.json"))
    own = inputs["views"]["student"]["records"]["test"][0]
    config = _evaluate_config(noise_workdir, mitdb_dir, **{"wfdb_beats.records": own})
    config.models = "cnn1d"
    notes = studies.run(config, str(tmp_path / "own_test"))["meta"]["notes"]
    assert sum("own test records" in n for n in notes) == 1
    _check_config_errors(noise_workdir, tmp_path)


def test_classes_map_by_name_or_class_map_and_unmappable_ones_are_one_error():
    trained = ("N", "abnormal")
    aami = ("N", "S", "V", "F", "Q")
    with pytest.raises(ConfigError, match=r"Classes \['S', 'V', 'F', 'Q'\].*--config.class_map"):
        transfer.class_index(aami, trained, "", False, "wfdb_beats")
    index = transfer.class_index(aami, trained, "S:abnormal,V:abnormal,F:abnormal,Q:abnormal", False, "wfdb_beats")
    np.testing.assert_array_equal(index, [0, 1, 1, 1, 1])
    np.testing.assert_array_equal(transfer.class_index(("abnormal", "N"), trained, "", False, "x"), [1, 0])
    with pytest.raises(ConfigError, match="do not exist"):
        transfer.class_index(aami, trained, "S:arrhythmia", False, "wfdb_beats")


def test_adapted_split_takes_trained_class_order_and_training_rr_statistics():
    view = {"window_length": 4, "lead_names": ["MLII"], "rr_features": ["pre_rr_norm", "local_rr_norm"],
            "rr_mean": [1.0, 2.0], "rr_std": [0.5, 4.0]}
    rr = np.zeros((2, 7), np.float32)
    rr[:, 4], rr[:, 6] = [1.5, 0.5], [2.0, 6.0]  # pre_rr_norm, local_rr_norm columns
    split = make_split(np.zeros((2, 4, 1)), [0, 1], ["a", "b"], ["a", "b"], rr=rr)
    info = DatasetInfo("wfdb_beats", "binary", ("abnormal", "N"), False, 360.0, ("MLII",), {})
    out = transfer.adapt_split(split, info, view, np.array([1, 0]), "--config.data")
    np.testing.assert_array_equal(out.y, [1, 0])
    np.testing.assert_allclose(out.rr, [[1.0, 0.0], [-1.0, 1.0]])
    with pytest.raises(UserError, match="crop_length=8"):
        transfer.adapt_split(split, info, dict(view, window_length=8), np.array([1, 0]), "--config.data")
