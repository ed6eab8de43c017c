"""Study ``bench_train_step``: seconds per training step of each student, ecgq against PyTorch.

    python launch.py --config=experiments/bench_train_step.py --workdir=runs/bench_train_step

What is timed: the training step of the distillation engine (forward in train mode, cross-entropy
(the KD term adds a few elementwise ops), backward, gradient clipping, AdamW of ``train_config()``
with the model's trainable mask, BatchNorm statistics, dropout) on a batch gathered from windows of
MIT-BIH beat shape (``window`` x ``leads``, default 256 x 1, binary head), for

* ``ecgq``: ``ecgq.train.multiseed.make_multi_step`` with ``member_axis="vmap"`` (all members one
  vmapped program) or ``"loop"`` (one jitted single-member step per member), exactly what the
  engine runs;
* ``torch_eager`` / ``torch_compile``: the PyTorch mirrors of :mod:`ecgq.studies.torch_mirrors`
  (same layers and parameter count, printed side by side) stepped by
  ``torch_mirrors.make_train_step`` (loop: one module and optimiser per member; vmap:
  ``torch.func.vmap`` over stacked members).

Each (model, implementation, members, mode) is compiled and warmed up first, then timed
``repeats`` times over ``steps`` steps (``block_until_ready`` on the losses; PyTorch on CPU is
synchronous); ``seconds`` is the median per step of all members, ``seconds_min`` the fastest. The
ratios printed are those of this one run (machines differ, and so does the load on them). Writes
``bench_train_step.json``: the records, the ratios, the parameter counts and a note for every row
that was skipped (torch missing, a model without a mirror, ``skip``).
"""

from __future__ import annotations

import os
import platform
import time

import numpy as np

from ecgq.atomic import write_json_atomic
from ecgq.errors import ConfigError
from ecgq.studies.registry import STUDIES, TOP_LEVEL_DOCS, StudySpec

IMPLEMENTATIONS = ("ecgq", "torch_eager", "torch_compile")
MODES = ("vmap", "loop")

BENCH_DOCS = {
    "train_bench.models": "Students to time (registered model names); () = every registered student.",
    "train_bench.implementations": f"Implementations to time, any of {list(IMPLEMENTATIONS)}.",
    "train_bench.modes": f"How members share a step, any of {list(MODES)}: one vmapped program, or one "
                         "single-member step after another.",
    "train_bench.members": "Member (seed) counts to time; the seconds of a row are per step of all its members.",
    "train_bench.skip": "'implementation:mode' pairs left out (compiling a torch.func.vmap of the step "
                        "takes minutes per member count on two cores).",
    "train_bench.batch": "Training batch size of every timed step.",
    "train_bench.window": "Samples per window (MIT-BIH beats: 256).",
    "train_bench.leads": "Leads per window (MIT-BIH beats: 1).",
    "train_bench.n_outputs": "Logits of the head (2: the binary task).",
    "train_bench.steps": "Optimiser steps per timed run (their mean is one sample).",
    "train_bench.warmup": "Untimed runs after the first (compiling) one.",
    "train_bench.repeats": "Timed runs; the median is reported as seconds, the fastest as seconds_min.",
    "train_bench.torch_threads": "Intra-op threads of PyTorch (torch.set_num_threads); 0 = its default, one per core.",
}


def build_student(name: str, cfg):
    """The Flax module of student ``name`` sized for ``cfg``'s windows, as a study would build it
    (``ecgq.models.create`` without the initialisation, which the engine does per member)."""
    from ecgq.models import InputView, build_model, model_spec

    spec, model_cfg = model_spec(name), model_spec(name).config()
    view = InputView(int(cfg.window), tuple(f"lead{i}" for i in range(int(cfg.leads))))
    try:
        if spec.fit_to_data is not None:
            spec.fit_to_data(model_cfg, view, name)
        if spec.check is not None:
            spec.check(model_cfg, None, name)
    except ConfigError as error:
        raise ConfigError(f"--config.train_bench.window={cfg.window} / leads={cfg.leads}: student {name!r} "
                          f"cannot take these windows ({error})") from None
    return build_model(name, model_cfg, int(cfg.n_outputs))


def _students(cfg) -> list[str]:
    from ecgq.models import MODELS

    return list(cfg.models) or [s.name for s in MODELS.entries() if s.role == "student"]


def time_runs(call, steps: int, warmup: int, repeats: int) -> dict:
    """Seconds per step of ``call()`` (which runs ``steps`` steps and blocks until they finish)."""
    start = time.perf_counter()
    call()
    first = time.perf_counter() - start
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) / steps)
    return {"seconds": float(np.median(samples)), "seconds_min": float(min(samples)),
            "first_run_seconds": first}


class _Data:
    """Random windows and labels, and the batch indices every timed run reuses."""

    def __init__(self, cfg, seed: int):
        rng = np.random.default_rng(seed)
        n = max(2048, int(cfg.batch))
        self.x = rng.normal(size=(n, int(cfg.window), int(cfg.leads))).astype(np.float32)
        self.y = rng.integers(0, int(cfg.n_outputs), n).astype(np.int32)
        self.idx = rng.integers(0, n, (int(cfg.steps), int(cfg.batch))).astype(np.int32)


def ecgq_call(name: str, model, mode: str, n_members: int, data: _Data, cache: dict) -> EngineRun:
    """An :class:`EngineRun` of ``len(data.idx)`` engine steps of ``n_members`` members of ``model``.

    ``cache`` keeps the optimiser and initialiser per model and the engine's step per (model,
    mode), so that the loop's single-member program compiles once for every member count, as in
    training, and each member count initialises once for both modes."""
    import jax.numpy as jnp

    from ecgq.models import model_config, trainable_mask
    from ecgq.train import multiseed, steps
    from ecgq.train.config import train_config

    arrays = {"x": jnp.asarray(data.x), "y": jnp.asarray(data.y)}
    if name not in cache:
        tx = steps.make_optimizer(train_config(), 100, lambda p: trainable_mask(name, model_config(name), p))
        cache[name] = multiseed.make_init_fn(model, tx, arrays)
    if (name, mode) not in cache:
        cache[name, mode] = multiseed.make_multi_step(steps.make_train_step("softmax"), False, mode)
    init, run = cache[name], cache[name, mode]
    members = [multiseed.Member(seed) for seed in range(n_members)]
    return EngineRun(run, init(multiseed.seed_keys(members)), multiseed.hparams_of(members),
                     jnp.asarray(data.idx), arrays)


class EngineRun:
    """``run()`` = the engine's steps over ``idx`` for every member, blocking; ``state`` is the
    members' state after the runs so far (the tests compare it between member axes)."""

    def __init__(self, run, state, hparams, idx, arrays):
        self._run, self.state, self._hparams, self._idx, self._arrays = run, state, hparams, idx, arrays

    def __call__(self) -> None:
        import jax

        self.state, losses = self._run(self.state, self._hparams, self._idx, self._arrays)
        jax.block_until_ready(losses)


def torch_call(model, mode: str, compiled: bool, n_members: int, data: _Data, cfg, seed: int):
    """``call()`` running ``len(data.idx)`` steps of ``n_members`` PyTorch mirrors of ``model``."""
    import torch

    from ecgq.studies import torch_mirrors

    torch.manual_seed(seed)
    mirrors = [torch_mirrors.build(model, (int(cfg.window), int(cfg.leads))) for _ in range(n_members)]
    step = torch_mirrors.make_train_step(mirrors, mode, compiled)
    x = torch.from_numpy(data.x).transpose(1, 2).contiguous()  # PyTorch's (batch, leads, time)
    y = torch.from_numpy(data.y).long()
    idx = [torch.from_numpy(ids).long() for ids in data.idx]

    def call():
        for ids in idx:
            step(x[ids], y[ids])

    return call


def _ratios(records: list[dict]) -> list[dict]:
    """ecgq over each PyTorch implementation, and vmap over loop, for every pair this run timed."""
    by = {(r["model"], r["implementation"], r["members"], r["mode"]): r["seconds"] for r in records}
    out = []
    for (model, impl, members, mode), seconds in by.items():
        if impl != "ecgq":
            ours = by.get((model, "ecgq", members, mode))
            if ours is not None:
                out.append({"model": model, "members": members, "mode": mode, "ratio": f"ecgq/{impl}",
                            "value": ours / seconds})
        if mode == "vmap" and (model, impl, members, "loop") in by:
            out.append({"model": model, "members": members, "implementation": impl, "ratio": "vmap/loop",
                        "value": seconds / by[(model, impl, members, "loop")]})
    return out


def _print_table(records: list[dict], ratios: list[dict], params: dict, notes: list[str], cfg,
                 load: tuple[float, float]) -> None:
    impls = [i for i in IMPLEMENTATIONS if i in cfg.implementations]
    by = {(r["model"], r["implementation"], r["members"], r["mode"]): r["seconds"] for r in records}
    ratio = {(r["model"], r["members"], r.get("mode"), r.get("implementation"), r["ratio"]): r["value"] for r in ratios}
    print(f"train step, batch {cfg.batch} of {cfg.window} x {cfg.leads}, ms per step of all members "
          f"(median of {cfg.repeats} runs of {cfg.steps} steps); load average {load[0]:.1f} -> {load[1]:.1f} "
          f"on {os.cpu_count()} cores")
    for model, counts in params.items():
        torch_count = counts.get("torch")
        print(f"  {model}: {counts['ecgq']:,} parameters in ecgq, "
              + (f"{torch_count:,} in the PyTorch mirror" if torch_count is not None else "no PyTorch mirror"))
    header = f"  {'model':<10}{'members':>8} {'mode':<5}" + "".join(f"{i:>15}" for i in impls)
    others = [i for i in impls if i != "ecgq"]
    print(header + "".join(f"{'ecgq/' + i[6:]:>14}" for i in others))
    for model in params:
        for members in cfg.members:
            for mode in cfg.modes:
                cells = [by.get((model, i, members, mode)) for i in impls]
                if all(c is None for c in cells):
                    continue
                line = f"  {model:<10}{members:>8} {mode:<5}" + "".join(
                    f"{c * 1e3:15.1f}" if c is not None else f"{'-':>15}" for c in cells)
                line += "".join(f"{ratio[(model, members, mode, None, 'ecgq/' + i)]:14.2f}"
                                if (model, members, mode, None, "ecgq/" + i) in ratio else f"{'-':>14}" for i in others)
                print(line)
    for r in ratios:
        if r["ratio"] == "vmap/loop":
            print(f"  {r['model']} {r['implementation']} {r['members']} members: vmap/loop {r['value']:.2f}")
    for note in notes:
        print(f"  note: {note}")


def run(config, workdir: str) -> dict:
    """Time every (student, implementation, members, mode) of ``config.train_bench``; print, save.

    The JSON is rewritten after every record (``complete`` false until the end), so that a long
    run stopped halfway keeps what it measured."""
    from ecgq.models import count_params
    from ecgq.studies import torch_mirrors

    cfg = config.train_bench
    path = os.path.join(workdir, "bench_train_step.json")
    if int(cfg.torch_threads) and torch_mirrors.torch_available():
        import torch

        torch.set_num_threads(int(cfg.torch_threads))
    result = _header(cfg)
    data = _Data(cfg, int(config.seed))
    skip, cache = set(cfg.skip), {}
    records, notes, params = result["records"], result["notes"], result["params"]
    for name in _students(cfg):
        model = build_student(name, cfg)
        x = _shape((1, int(cfg.window), int(cfg.leads)))
        params[name] = {"ecgq": sum(count_params(_init_shapes(model, x)).values())}
        missing = torch_mirrors.missing(model)
        if not missing:
            params[name]["torch"] = torch_mirrors.n_params(
                torch_mirrors.build(model, (int(cfg.window), int(cfg.leads))))
        for impl in cfg.implementations:
            if impl != "ecgq" and missing:
                notes.append(f"{name} {impl}: skipped, {missing}")
                continue
            for mode in cfg.modes:
                if f"{impl}:{mode}" in skip:
                    notes.append(f"{name} {impl} {mode}: skipped (train_bench.skip)")
                    continue
                for members in cfg.members:
                    if impl == "ecgq":
                        call = ecgq_call(name, model, mode, int(members), data, cache)
                    else:
                        call = torch_call(model, mode, impl == "torch_compile", int(members), data, cfg,
                                          int(config.seed))
                    timing = time_runs(call, int(cfg.steps), int(cfg.warmup), int(cfg.repeats))
                    records.append({"model": name, "implementation": impl, "members": int(members),
                                    "mode": mode, **timing, "seconds_per_member": timing["seconds"] / int(members),
                                    "params": params[name]["ecgq" if impl == "ecgq" else "torch"]})
                    print(f"  {name} {impl} {members} {mode}: {timing['seconds'] * 1e3:.1f} ms/step", flush=True)
                    _save(path, result)
    result["ratios"] = _ratios(records)
    result["complete"] = True
    _save(path, result)
    _print_table(records, result["ratios"], params, notes, cfg,
                 (result["load_average_1min"]["start"], result["load_average_1min"]["end"]))
    return result


def _shape(shape):
    import jax

    return jax.ShapeDtypeStruct(shape, np.float32)


def _init_shapes(model, x):
    """The variables' shapes, traced without compiling (``jax.eval_shape``)."""
    import jax

    return jax.eval_shape(model.init, jax.random.key(0), x)


def _header(cfg) -> dict:
    import jax

    from ecgq.studies import torch_mirrors

    torch_version = None
    if torch_mirrors.torch_available():
        import torch

        torch_version = torch.__version__
    load = os.getloadavg()[0]
    return {
        "complete": False,
        "backend": jax.default_backend(), "cpu_count": os.cpu_count(), "machine": platform.machine(),
        "jax": jax.__version__, "torch": torch_version,
        "torch_threads": _torch_threads() if torch_version else None,
        "batch": int(cfg.batch), "input_shape": [int(cfg.window), int(cfg.leads)], "n_outputs": int(cfg.n_outputs),
        "steps": int(cfg.steps), "warmup": int(cfg.warmup), "repeats": int(cfg.repeats),
        # Other work on the machine slows a run down, PyTorch's OpenMP threads far more than XLA's.
        "load_average_1min": {"start": load, "end": load},
        "records": [], "ratios": [], "params": {}, "notes": [],
    }


def _save(path: str, result: dict) -> None:
    result["load_average_1min"]["end"] = os.getloadavg()[0]
    write_json_atomic(path, result)


def _torch_threads() -> int:
    import torch

    return torch.get_num_threads()


def check(config) -> None:
    from ecgq.models import MODELS

    cfg = config.train_bench
    for name in cfg.models:
        if MODELS.get(name, "train_bench.models").role != "student":
            raise ConfigError(f"--config.train_bench.models: {name!r} is a teacher; time students "
                              f"({[s.name for s in MODELS.entries() if s.role == 'student']}).")
    for field, allowed in (("implementations", IMPLEMENTATIONS), ("modes", MODES)):
        bad = [v for v in cfg[field] if v not in allowed]
        if bad or not cfg[field]:
            raise ConfigError(f"--config.train_bench.{field} must be a non-empty subset of {list(allowed)}, "
                              f"got {tuple(cfg[field])}.")
    pairs = [f"{i}:{m}" for i in IMPLEMENTATIONS for m in MODES]
    bad = [v for v in cfg.skip if v not in pairs]
    if bad:
        raise ConfigError(f"--config.train_bench.skip: {bad} are not 'implementation:mode' pairs of {pairs}.")
    if not cfg.members or any(int(m) < 1 for m in cfg.members):
        raise ConfigError(f"--config.train_bench.members must list member counts >= 1, got {tuple(cfg.members)}.")
    for field in ("batch", "window", "leads", "steps", "repeats"):
        if int(cfg[field]) < 1:
            raise ConfigError(f"--config.train_bench.{field} must be >= 1, got {cfg[field]}.")
    if int(cfg.n_outputs) < 2:
        raise ConfigError(f"--config.train_bench.n_outputs must be >= 2 (a softmax head), got {cfg.n_outputs}.")
    for field in ("warmup", "torch_threads"):
        if int(cfg[field]) < 0:
            raise ConfigError(f"--config.train_bench.{field} must be >= 0, got {cfg[field]}.")
    for name in _students(cfg):  # a window the model cannot take fails here, naming the model
        build_student(name, cfg)


STUDIES.register(StudySpec(
    name="bench_train_step",
    description="Seconds per training step of each student: ecgq against PyTorch eager and compiled, vmap against loop",
    run=run,
    docs=lambda config: {**TOP_LEVEL_DOCS, **BENCH_DOCS},
    check=check,
))
