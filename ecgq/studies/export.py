"""Export a trained model of a finished study: StableHLO for every model, OpenQASM 3 for circuits.

``export(workdir, model, out_dir)`` reads the study's ``config.json`` and the member's best
checkpoint (seed and KD setting chosen by the caller; default: the first no-KD seed) and writes:

- ``model.jaxexport``: ``jax.export`` of the inference function ``x[, rr] -> logits`` with the
  trained weights as constants and a symbolic batch axis (RR features standardised inside, with the
  training split's statistics, as the study fed them);
- for a quantum student also ``circuit.qasm`` (:func:`ecgq.quantum.qasm_export.to_qasm3`: trained
  weights bound, the encoding angles as ``input`` declarations), ``preprocess.jaxexport``
  (``x[, rr] -> angles``: everything before the circuit) and ``postprocess.jaxexport``
  (``x[, rr], circuit outputs -> logits``: everything after it, with the paths that bypass it);
- ``weights.npz`` (every variable by its path), ``export.json`` (what was exported, signatures, and
  the round-trip checks on real test windows) and a short ``README.md``.

Why the round trip at export time: an artefact that does not reproduce the model is worse than
none. Each one is reloaded (``jax.export.deserialize``; the circuit through Qiskit's OpenQASM 3
importer and Aer) and compared with the JAX model on real test windows; the differences go into
``export.json`` and a mismatch above ``tolerance`` is an error. The folder appears complete or not
at all (written beside it, then renamed).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from ecgq.errors import UserError

CHECK_WINDOWS = 32


def _load_workdir(workdir: str):
    path = os.path.join(workdir, "config.json")
    if not os.path.exists(path):
        raise UserError(f"--workdir={workdir} holds no config.json: point it at a finished distillation study.")
    with open(path) as handle:
        config = ml_collections.ConfigDict(json.load(handle))
    if config.get("study") != "distill":
        raise UserError(f"--workdir={workdir} holds a {config.get('study')!r} study; export reads distillation studies.")
    return config


def trained_member(config, workdir: str, model: str, seed: int | None, kd: bool, temperature, alpha):
    """``(model_cfg, variables, member description)`` of one trained member of ``model``."""
    from ecgq.train.checkpoints import restore_best_members
    from ecgq.train.multiseed import member_grid, member_index

    teacher = model == config.teacher.name
    if not teacher and model not in config.student_names:
        raise UserError(f"--model={model!r} was not trained in this study; choose one of "
                        f"{[config.teacher.name, *config.student_names]}.")
    cfg = config.teacher if teacher else config.students[model]
    seeds = [int(config.seed) + i for i in range(int(cfg.train.n_seeds))]
    members = (member_grid(seeds, (), (), True) if teacher else
               member_grid(seeds, config.distill.temperatures, config.distill.alphas, config.distill.include_no_kd))
    seed = seeds[0] if seed is None else int(seed)
    index = member_index(members, seed, temperature, alpha, kd)
    if index is None:
        raise UserError(f"--model={model}: no member with seed {seed}, kd={kd}, T={temperature}, alpha={alpha}; "
                        f"trained: {[(m.seed, m.kd, m.temperature, m.alpha) for m in members]}.")
    best = restore_best_members(os.path.join(workdir, "checkpoints", "teacher" if teacher else model))
    if best is None:
        raise UserError(f"--model={model}: no checkpoint under {workdir}/checkpoints; is the study finished?")
    variables = {k: jax.tree_util.tree_map(lambda a: a[index], v) for k, v in best.items()}
    kind = f"KD T={temperature:g} a={alpha:g}" if kd else "no KD"
    return cfg, variables, f"{model}, seed {seed}, {kind}"


def _test_windows(config, teacher: bool):
    from ecgq.distill.arrays import split_arrays, standardize_rr
    from ecgq.studies.distill import load_study_splits

    splits, teacher_splits = load_study_splits(config, {"notes": []})
    source = teacher_splits if teacher else splits
    data = {s: split_arrays(getattr(source, s), use_rr=bool(config.use_rr)) for s in ("train", "test")}
    rr_stats = None
    if "rr" in data["train"]:
        rr_stats = (data["train"]["rr"].mean(axis=0), np.maximum(data["train"]["rr"].std(axis=0), 1e-6))
    test = standardize_rr(data)["test"]
    take = np.unique(np.linspace(0, len(test["x"]) - 1, min(CHECK_WINDOWS, len(test["x"]))).astype(int))
    raw_rr = data["test"]["rr"][take] if "rr" in data["test"] else None
    return test["x"][take], raw_rr, rr_stats, len(source.info.class_names)


def _vqc_calls(module, variables, x, rr, replace=None):
    """Run ``module`` recording the inputs and outputs of its circuit (one :class:`VQC` call), or
    with the circuit's outputs replaced by ``replace``: ``(logits, angles, outputs)``."""
    import flax.linen as nn

    from ecgq.quantum import VQC

    seen = {}

    def interceptor(next_fun, args, kwargs, context):
        if isinstance(context.module, VQC) and context.method_name == "__call__":
            if "angles" in seen:
                raise UserError("this model calls more than one circuit; export handles one circuit per model.")
            seen["angles"], seen["spec"] = args[0], context.module.spec
            seen["outputs"] = next_fun(*args, **kwargs) if replace is None else replace
            return seen["outputs"]
        return next_fun(*args, **kwargs)

    with nn.intercept_methods(interceptor):
        logits = module.apply(variables, x, rr)
    return logits, seen.get("angles"), seen.get("outputs"), seen.get("spec")


def _export(fn, shapes) -> bytes:
    batch = jax.export.symbolic_shape("batch")[0]
    args = [jax.ShapeDtypeStruct((batch, *s), jnp.float32) for s in shapes]
    return jax.export.export(jax.jit(fn))(*args).serialize()


def _max_diff(serialized: bytes, expected, *args) -> float:
    restored = jax.export.deserialize(bytearray(serialized))
    return float(np.max(np.abs(np.asarray(restored.call(*args)) - np.asarray(expected))))


def _aer_outputs(qasm: str, spec, angles: np.ndarray) -> np.ndarray:
    import qiskit.qasm3
    from qiskit_aer.primitives import EstimatorV2

    from ecgq.quantum.qiskit_backend import observables

    circuit = qiskit.qasm3.loads(qasm).remove_final_measurements(inplace=False)
    order = [int(p.name[1:]) for p in circuit.parameters]  # Qiskit orders parameters by name
    values = np.asarray(angles, np.float64)[:, order]
    estimator = EstimatorV2(options={"default_precision": 0.0, "backend_options": {"method": "statevector"}})
    return np.asarray(estimator.run([(circuit, observables(spec), values[:, None, :])]).result()[0].data.evs)


def export(workdir: str, model: str, out_dir: str, *, seed: int | None = None, kd: bool = False,
           temperature: float | None = None, alpha: float | None = None, tolerance: float = 1e-5,
           overwrite: bool = False) -> dict:
    """Write the artefacts of one trained member (module docstring); return ``export.json``'s record."""
    from ecgq.models import build_model, model_spec

    config = _load_workdir(workdir)
    if os.path.exists(out_dir) and os.listdir(out_dir) and not overwrite:
        raise UserError(f"--out_dir={out_dir} exists and is not empty; choose a new folder or pass --overwrite.")
    teacher = model == config.teacher.name
    if teacher and model_spec(model).adapt_inputs is not None:
        raise UserError(f"--model={model}: the teacher reads the data through an input adapter that export does "
                        "not carry; export a student.")
    cfg, variables, member = trained_member(config, workdir, model, seed, kd, temperature, alpha)
    x, raw_rr, rr_stats, n_outputs = _test_windows(config, teacher)
    module = build_model(model, cfg, n_outputs, config.quantum)
    use_rr = rr_stats is not None
    mean, std = (jnp.asarray(rr_stats[0]), jnp.asarray(rr_stats[1])) if use_rr else (None, None)

    def standardized(rr):
        return None if rr is None else (rr - mean) / std

    def logits_fn(x, rr=None):
        return module.apply(variables, x, standardized(rr))

    shapes = [x.shape[1:]] + ([raw_rr.shape[1:]] if use_rr else [])
    args = [jnp.asarray(x)] + ([jnp.asarray(raw_rr)] if use_rr else [])
    expected = logits_fn(*args)
    files = {"model.jaxexport": _export(logits_fn, shapes)}
    checks = {"model.jaxexport": _max_diff(files["model.jaxexport"], expected, *args)}
    record = {"source_workdir": os.path.abspath(workdir), "study": config.study_name, "member": member,
              "inputs": {"x": ["batch", *map(int, x.shape[1:])]} | ({"rr": ["batch", int(raw_rr.shape[1])]} if use_rr
                                                                     else {}),
              "outputs": {"logits": ["batch", int(n_outputs)]}, "check_windows": int(len(x)), "tolerance": tolerance}
    if model_spec(model).uses_quantum:
        files_q, checks_q, record["circuit"] = _quantum_artefacts(module, variables, standardized, args, shapes,
                                                                   expected)
        files.update(files_q)
        checks.update(checks_q)
    record["max_abs_diff"] = checks
    bad = {k: v for k, v in checks.items() if v is not None and not v <= tolerance}
    if bad:
        raise RuntimeError(f"exported artefacts do not reproduce {member} within {tolerance}: {bad}")
    _write_folder(out_dir, files, variables, record, overwrite)
    return record


def _quantum_artefacts(module, variables, standardized, args, shapes, expected):
    from ecgq.quantum import qasm_export

    def pre(x, rr=None):
        return _vqc_calls(module, variables, x, standardized(rr))[1]

    def post(x, *rest):
        rr, z = (rest[0], rest[1]) if len(rest) == 2 else (None, rest[0])
        return _vqc_calls(module, variables, x, standardized(rr), replace=z)[0]

    _, angles, z, spec = _vqc_calls(module, variables, args[0], standardized(args[1]) if len(args) > 1 else None)
    if angles is None:
        raise UserError("this quantum model called no circuit on the test windows; nothing to export as OpenQASM.")
    weights = _quantum_weights(variables)
    qasm = qasm_export.to_qasm3(spec, weights, int(angles.shape[-1]))
    files = {"circuit.qasm": qasm.encode(), "preprocess.jaxexport": _export(pre, shapes),
             "postprocess.jaxexport": _export(post, shapes + [z.shape[1:]])}
    checks = {"preprocess.jaxexport": _max_diff(files["preprocess.jaxexport"], angles, *args),
              "postprocess.jaxexport": _max_diff(files["postprocess.jaxexport"], expected, *args, z)}
    try:
        aer = _aer_outputs(qasm, spec, np.asarray(angles))
        checks["circuit.qasm (Qiskit Aer vs JAX circuit outputs)"] = float(np.max(np.abs(aer - np.asarray(z))))
        through = np.asarray(jax.export.deserialize(bytearray(files["postprocess.jaxexport"])).call(
            *args, jnp.asarray(aer, jnp.float32)))
        checks["circuit.qasm + postprocess (Aer logits vs JAX)"] = float(np.max(np.abs(through - np.asarray(expected))))
    except ImportError as error:
        checks["circuit.qasm (Qiskit Aer vs JAX circuit outputs)"] = None
        print(f"Qiskit / Aer unavailable ({error}): circuit.qasm written but not checked; pip install 'ecgq[qiskit]'.")
    circuit = {"n_qubits": spec.n_qubits, "n_layers": spec.n_layers, "block": spec.block, "encoding": spec.encoding,
               "measurement": spec.measurement, "measured_wires": list(spec.measured_wires),
               "n_inputs": int(angles.shape[-1])}
    return files, checks, circuit


def _quantum_weights(variables):
    found = [leaf for path, leaf in jax.tree_util.tree_flatten_with_path(variables["params"])[0]
             if str(getattr(path[-1], "key", "")) == "quantum_weights"]
    if len(found) != 1:
        raise UserError(f"export handles models with one circuit; found {len(found)} sets of quantum weights.")
    return np.asarray(found[0])


def _write_folder(out_dir: str, files: dict[str, bytes], variables, record: dict, overwrite: bool) -> None:
    parent = os.path.dirname(os.path.abspath(out_dir))
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".export-", dir=parent)
    os.chmod(staging, 0o755)  # mkdtemp's 0700 would follow the folder into place
    try:
        for name, data in files.items():
            with open(os.path.join(staging, name), "wb") as handle:
                handle.write(data)
        flat = {jax.tree_util.keystr(p): np.asarray(v) for p, v in jax.tree_util.tree_flatten_with_path(variables)[0]}
        np.savez(os.path.join(staging, "weights.npz"), **flat)
        with open(os.path.join(staging, "export.json"), "w") as handle:
            json.dump(record, handle, indent=2)
        with open(os.path.join(staging, "README.md"), "w") as handle:
            handle.write(readme(record))
        if os.path.exists(out_dir):
            if not overwrite:
                raise UserError(f"--out_dir={out_dir} appeared while exporting; nothing was replaced.")
            shutil.rmtree(out_dir)
        os.replace(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def readme(record: dict) -> str:
    """The README of an export folder: what each file is and how to use it."""
    rr = " and `rr` (raw RR features; standardised inside)" if "rr" in record["inputs"] else ""
    lines = [f"# {record['member']} (from `{record['source_workdir']}`)", "",
             f"Study: {record['study']}. Inputs: `x` {record['inputs']['x']}{rr}; outputs: logits "
             f"{record['outputs']['logits']}.", "",
             "- `model.jaxexport`: the whole inference function, `jax.export` serialised (StableHLO) with a symbolic "
             "batch axis: `jax.export.deserialize(bytearray(open(p, 'rb').read())).call(x[, rr])`.",
             "- `weights.npz`: every trained variable, keyed by its path in the Flax variables.",
             "- `export.json`: signatures and the round-trip check (max |difference| on "
             f"{record['check_windows']} real test windows, tolerance {record['tolerance']})."]
    if "circuit" in record:
        c = record["circuit"]
        lines += ["- `circuit.qasm`: the trained circuit in OpenQASM 3 (trained angles bound; `input float[64] x0.."
                  f"x{c['n_inputs'] - 1}` the encoding angles; every qubit measured at the end).",
                  "- `preprocess.jaxexport`: `x[, rr] -> angles` (everything before the circuit).",
                  f"- `postprocess.jaxexport`: `x[, rr], outputs -> logits`, where `outputs` are the circuit's "
                  f"{'<Z> of qubits' if c['measurement'] == 'expval' else 'joint probabilities of qubits'} "
                  f"{c['measured_wires']} (`<Z>` = P(0) - P(1) of that bit over the shots).",
                  "", "On a device: angles = preprocess(x); run circuit.qasm with x<i> = angles[i] per window; "
                  "estimate the outputs from the shots; logits = postprocess(x, outputs)."]
    return "\n".join(lines) + "\n"
