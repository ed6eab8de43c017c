"""``config.mesh``: the default quick study sharded over 4 (forced CPU) devices reports the metrics of
the single-device run."""

from __future__ import annotations

import json

import numpy as np
from sharded_study import run


def _metrics(workdir) -> tuple[str, dict]:
    doc = json.loads((workdir / "results.json").read_text())
    return doc["meta"]["mesh"], {(r["model"], r["kd"], r["temperature"], r["alpha"], r["seed"]): r["metrics"]
                                 for r in doc["runs"]}


def test_default_quick_study_on_4_devices_matches_one_device(tmp_path, forced_devices):
    proc = forced_devices(["tests/studies/sharded_study.py", str(tmp_path / "four")], 4)
    run(str(tmp_path / "one"))  # meanwhile, on this process's single device
    output, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, output[-4000:]
    mesh_one, one = _metrics(tmp_path / "one")
    mesh_four, four = _metrics(tmp_path / "four")
    assert mesh_one.startswith("1 device") and mesh_four.startswith("mesh members=4 x data=1 over 4 cpu")
    assert one.keys() == four.keys() and len(one) == 5  # the teacher; cnn1d x (KD, no KD) x 2 seeds
    for run_key, metrics in one.items():
        assert metrics.keys() == four[run_key].keys()
        for name, value in metrics.items():
            if isinstance(value, float):
                np.testing.assert_allclose(four[run_key][name], value, atol=1e-4, err_msg=f"{run_key} {name}")
