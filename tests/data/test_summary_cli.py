"""``python -m ecgq.data`` JSON schema, leakage refusal, and the data_summary study."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import numpy as np
import pytest

from ecgq.data import DataError, __main__ as cli
from ecgq.data.summary import check_disjoint, summarize
from ecgq.data.types import make_split

SPLIT_KEYS = {"records", "patients", "class_counts", "window_shape", "sampling_rate", "dropped", "skipped"}


def _run(capsys, *args):
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _check_schema(summary, dataset, task, class_names):
    assert set(summary) == {"dataset", "task", "splits"}
    assert summary["dataset"] == dataset and summary["task"] == task
    assert set(summary["splits"]) == {"train", "val", "test"}
    for split in summary["splits"].values():
        assert set(split) == SPLIT_KEYS
        assert list(split["class_counts"]) == list(class_names)
        assert all(isinstance(v, int) for v in split["class_counts"].values())
        assert isinstance(split["window_shape"], list) and len(split["window_shape"]) == 2


def test_mitbih_json(capsys, mitdb_dir, mitbih_splits, data_cache_dir):
    code, out, _ = _run(capsys, "--dataset=mitbih", f"--data_dir={mitdb_dir}", "--task=aami5", "--json",
                        f"--cache_dir={data_cache_dir}")
    assert code == 0
    summary = json.loads(out)
    _check_schema(summary, "mitbih", "aami5", "NSVFQ")
    s = summary["splits"]
    assert s["train"]["records"] + s["val"]["records"] == 22 and s["test"]["records"] == 22
    assert s["test"]["class_counts"]["S"] == 1837
    assert s["test"]["window_shape"] == [256, 1] and s["test"]["sampling_rate"] == 360.0
    assert s["test"]["dropped"]["window_outside_record"] > 0


def test_ptbxl_json(capsys, ptbxl_dir, ptbxl_splits, data_cache_dir):
    code, out, _ = _run(capsys, "--dataset=ptbxl", f"--data_dir={ptbxl_dir}", "--task=superdiagnostic",
                        "--json", f"--cache_dir={data_cache_dir}")
    assert code == 0
    summary = json.loads(out)
    _check_schema(summary, "ptbxl", "superdiagnostic", ["NORM", "MI", "STTC", "CD", "HYP"])
    assert sum(s["class_counts"]["NORM"] for s in summary["splits"].values()) == 297


def test_synthetic_text_and_subprocess(capsys):
    code, out, _ = _run(capsys, "--dataset=synthetic")
    assert code == 0 and "train: records=" in out and "class counts: normal=" in out
    proc = subprocess.run([sys.executable, "-m", "ecgq.data", "--dataset=synthetic", "--json"],
                          capture_output=True, text=True, check=True)
    _check_schema(json.loads(proc.stdout), "synthetic", "binary", ["normal", "abnormal"])


def test_bad_input_exits_nonzero(capsys, tmp_path):
    code, _, err = _run(capsys, "--dataset=nope")
    assert code != 0 and "Unknown dataset 'nope'" in err
    code, _, err = _run(capsys, "--dataset=ptbxl", f"--data_dir={tmp_path}")
    assert code != 0 and str(tmp_path) in err


def test_leakage_is_refused(capsys, monkeypatch):
    """A split sharing a patient with another must fail the check and the CLI."""
    from ecgq.data import registry

    real = registry.load_splits

    def leaky(cfg):
        s = real(cfg)
        val = s.val
        patient = val.patient.astype(object)
        patient[0] = s.train.patient[0]
        return dataclasses.replace(s, val=dataclasses.replace(val, patient=patient.astype(str)))

    monkeypatch.setattr(registry, "load_splits", leaky)
    code, out, err = _run(capsys, "--dataset=synthetic", "--json")
    assert code != 0 and out == "" and "Leakage" in err


def test_records_stand_for_patients_when_unknown():
    x = np.zeros((2, 4, 1))
    a = make_split(x, [0, 1], ["r1", "r2"], ["r1", "r2"])
    b = make_split(x, [0, 1], ["r2", "r3"], ["r2", "r3"])
    from ecgq.data.types import DatasetInfo, Splits

    info = DatasetInfo("wfdb_folder", "labels", ("a", "b"), False, 100.0, ("II",), {})
    with pytest.raises(DataError, match="'r2'.*'train'.*'val'"):
        check_disjoint(Splits(train=a, val=b, test=make_split(x[:0], [], [], []), info=info))
    assert summarize(Splits(train=a, val=a, test=a, info=info))["splits"]["val"]["dropped"] == {}
    assert summarize(Splits(train=a, val=a, test=a, info=info))["splits"]["val"]["skipped"] == {}


def test_summary_names_skipped_records():
    from ecgq.data.summary import format_text
    from ecgq.data.types import DatasetInfo, Splits

    x = np.zeros((2, 4, 1))
    split = make_split(x, [0, 1], ["r1", "r2"], ["r1", "r2"])
    gone = [f"g{k}" for k in range(14)]
    info = DatasetInfo("wfdb_folder", "labels", ("a", "b"), False, 100.0, ("II",),
                       dropped={"train": {"skipped_record:missing_lead": 1, "skipped_record:missing_record": 14},
                                "val": {}, "test": {}},
                       skipped={"train": {"missing_lead": ["r9"], "missing_record": gone}, "val": {}, "test": {}})
    summary = summarize(Splits(train=split, val=split, test=split, info=info))
    assert summary["splits"]["train"]["skipped"] == {"missing_lead": ["r9"], "missing_record": gone}
    assert summary["splits"]["train"]["dropped"]["skipped_record:missing_record"] == 14
    assert summary["splits"]["val"]["skipped"] == {}
    json.dumps(summary)  # stays JSON
    text = format_text(summary)
    [line] = [l for l in text.splitlines() if "skipped records" in l]
    assert line.strip() == "skipped records: missing_lead: r9; missing_record: " + ", ".join(gone[:9]) + " (+5 more)"
    assert text.count("skipped records") == 1  # only the split that skipped some


def test_data_summary_study(tmp_path):
    import importlib.util
    import pathlib

    path = pathlib.Path(__file__).resolve().parents[2] / "experiments" / "data_summary.py"
    spec = importlib.util.spec_from_file_location("data_summary", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    config = module.get_config()
    assert config.study == "data_summary" and config.data.name == "synthetic"
    assert module.get_config("mitbih").data.name == "mitbih"
    config.data.synthetic.n_train = 100
    from ecgq.studies import run

    run(config, str(tmp_path))
    saved = json.loads((tmp_path / "data_summary.json").read_text())
    assert saved["splits"]["train"]["class_counts"]["normal"] + saved["splits"]["train"]["class_counts"]["abnormal"] == 100


def test_list_names_every_registered_dataset_with_its_tasks():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "ecgq.data", "--list", "--json"], capture_output=True,
                         text=True, check=True).stdout
    rows = {row["name"]: row for row in json.loads(out)}
    assert set(rows) == {"arrays", "medmnist", "mitbih", "ptbxl", "synthetic", "wfdb_beats", "wfdb_folder", "xor"}
    assert rows["mitbih"]["tasks"] == ["aami5", "binary"] and rows["wfdb_folder"]["tasks"] == ["labels"]
    assert rows["synthetic"]["needs_data_dir"] is rows["xor"]["needs_data_dir"] is False and all(r["description"] for r in rows.values())


def test_arrays_cli_summarises_a_ucr_folder_and_an_npz(capsys, tmp_path):
    rng = np.random.default_rng(0)
    folder = tmp_path / "ECGX"
    folder.mkdir()
    for part, n in (("TRAIN", 40), ("TEST", 30)):
        rows = np.c_[rng.choice([-1.0, 1.0], n), rng.normal(size=(n, 24))]
        np.savetxt(folder / f"ECGX_{part}.tsv", rows, delimiter="\t")
    code, out, _ = _run(capsys, "--dataset=arrays", f"--data_dir={folder}", "--json", "--no_cache")
    assert code == 0
    summary = json.loads(out)
    _check_schema(summary, "arrays", "labels", ["-1", "1"])
    assert summary["splits"]["test"]["window_shape"] == [24, 1]
    assert sum(summary["splits"][s]["records"] for s in ("train", "val")) == 40
    npz = tmp_path / "pool.npz"
    np.savez(npz, x=rng.normal(size=(60, 16, 2)).astype(np.float32), y=rng.integers(0, 3, 60))
    code, out, _ = _run(capsys, "--dataset=arrays", f"--data_dir={npz}", "--no_cache")
    assert code == 0 and "dataset=arrays" in out and "window_shape=(16, 2)" in out
