"""``python -m ecgq.export`` on a finished study: a classical student through StableHLO, a quantum
student's circuit through OpenQASM 3 and Qiskit Aer, on real test windows of the study's data."""

from __future__ import annotations

import json

import jax
import numpy as np
import pytest
from study_helpers import load_experiment, shrink

from ecgq import studies
from ecgq.data import load_splits
from ecgq.export import main as export_main
from ecgq.models import build_model
from ecgq.train.checkpoints import restore_best_members


@pytest.fixture(scope="module")
def finished_study(tmp_path_factory):
    config = shrink(load_experiment("default.py:quick"), students=("cnn1d", "ae_vqc", "ae_mlp"), n_seeds=1)
    config.eval.plots = config.eval.profile = False
    config.distill.temperatures = ()  # no KD members: one per student
    workdir = tmp_path_factory.mktemp("study")
    studies.run(studies.prepare(None, config), str(workdir))
    return config, workdir


def _restore(workdir, name, config):
    best = restore_best_members(str(workdir / "checkpoints" / name))
    variables = {k: jax.tree_util.tree_map(lambda a: a[0], v) for k, v in best.items()}
    return build_model(name, config.students[name], 2, config.quantum), variables


def _load(path):
    return jax.export.deserialize(bytearray(open(path, "rb").read()))


def test_exported_cnn1d_reproduces_the_model_through_stablehlo(finished_study, tmp_path, capsys):
    config, workdir = finished_study
    out = tmp_path / "cnn1d"
    assert export_main([f"--workdir={workdir}", "--model=cnn1d", f"--out_dir={out}"]) == 0
    record = json.loads((out / "export.json").read_text())
    assert record["max_abs_diff"]["model.jaxexport"] <= 1e-5 and record["member"] == "cnn1d, seed 0, no KD"
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "export.json", "model.jaxexport", "weights.npz"]
    x = load_splits(config.data).test.x[:7].astype(np.float32)  # any batch size: the batch axis is symbolic
    model, variables = _restore(workdir, "cnn1d", config)
    np.testing.assert_allclose(np.asarray(_load(out / "model.jaxexport").call(x)),
                               np.asarray(model.apply(variables, x)), atol=1e-5)
    assert len(np.load(out / "weights.npz").files) == len(jax.tree.leaves(variables))


def test_exported_ae_vqc_circuit_runs_in_qiskit_aer_like_the_jax_model(finished_study, tmp_path):
    qasm3 = pytest.importorskip("qiskit.qasm3")
    from qiskit_aer.primitives import EstimatorV2

    from ecgq.quantum.qiskit_backend import observables

    config, workdir = finished_study
    out = tmp_path / "ae_vqc"
    assert export_main([f"--workdir={workdir}", "--model=ae_vqc", f"--out_dir={out}"]) == 0
    record = json.loads((out / "export.json").read_text())
    assert all(v is not None and v <= 1e-5 for v in record["max_abs_diff"].values()), record["max_abs_diff"]
    assert record["circuit"]["n_qubits"] == config.quantum.n_qubits
    # By hand, as a user would: angles from the pre-processing, the circuit in Aer, logits after.
    x = load_splits(config.data).test.x[:5].astype(np.float32)
    angles = np.asarray(_load(out / "preprocess.jaxexport").call(x), np.float64)
    circuit = qasm3.loads((out / "circuit.qasm").read_text()).remove_final_measurements(inplace=False)
    values = angles[:, [int(p.name[1:]) for p in circuit.parameters]]
    from ecgq.quantum.circuits import CircuitSpec

    spec = CircuitSpec(config.quantum.n_qubits, config.quantum.n_layers, config.quantum.encoding,
                       config.quantum.rotation, config.quantum.block, config.quantum.measurement)
    estimator = EstimatorV2(options={"default_precision": 0.0, "backend_options": {"method": "statevector"}})
    z = estimator.run([(circuit, observables(spec), values[:, None, :])]).result()[0].data.evs
    logits = np.asarray(_load(out / "postprocess.jaxexport").call(x, np.asarray(z, np.float32)))
    model, variables = _restore(workdir, "ae_vqc", config)
    np.testing.assert_allclose(logits, np.asarray(model.apply(variables, x)), atol=1e-5)
    assert "circuit.qasm" in (out / "README.md").read_text()


def test_export_refuses_what_it_cannot_do_and_leaves_nothing(finished_study, tmp_path, capsys):
    _, workdir = finished_study
    assert export_main([f"--workdir={workdir}", "--model=resnet1d", f"--out_dir={tmp_path / 'x'}"]) == 2
    assert "was not trained in this study" in capsys.readouterr().err and not (tmp_path / "x").exists()
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "keep.txt").write_text("mine")
    assert export_main([f"--workdir={workdir}", "--model=cnn1d", f"--out_dir={taken}"]) == 2
    assert "not empty" in capsys.readouterr().err and (taken / "keep.txt").read_text() == "mine"
    assert export_main([f"--workdir={tmp_path}", "--model=cnn1d", f"--out_dir={tmp_path / 'y'}"]) == 2
    assert "no config.json" in capsys.readouterr().err
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".export-")]
