"""Decision regions of a finished distillation study on 2-D points (the XOR study's figure).

Why here: drawing needs the *trained* models evaluated on a grid of the plane, which no stage
computes (a grid is no split, and the stages' records keep metrics, not weights). A finished study
already holds every member's best-on-validation weights in its Orbax checkpoints, so this module
reads them back (:func:`ecgq.train.checkpoints.restore_best_members`), evaluates the teacher and, per
student, the no-KD baseline and the validation-chosen KD setting of the first seed on the grid,
and hands the class maps to :func:`ecgq.eval.decision_regions.plot_decision_regions`. The stages
and the report stay as they are; a study whose inputs are not 2-D points gets no figure.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

log = logging.getLogger(__name__)
FIGURE = "decision_regions.png"
RESOLUTION = 121
MAX_POINTS = 400


def applies(config, splits) -> bool:
    """Whether the students and the teacher all see 2-D points (``x`` of shape ``(n, 2, 1)``)."""
    return tuple(splits.train.x.shape[1:]) == (2, 1) and "teacher_data" not in config


def _member_index(members, seed: int, temperature, alpha, kd: bool) -> int | None:
    for i, m in enumerate(members):
        if m.seed == seed and m.kd == kd and (not kd or (m.temperature == temperature and m.alpha == alpha)):
            return i
    return None


def _grid_classes(name: str, model_cfg, n_outputs: int, quantum_cfg, best: dict, index: int,
                  x: np.ndarray, resolution: int) -> np.ndarray:
    import jax

    from ecgq.eval.decision_regions import class_map
    from ecgq.models import build_model

    model = build_model(name, model_cfg, n_outputs, quantum_cfg)
    variables = {k: jax.tree_util.tree_map(lambda a: a[index], v) for k, v in best.items()}
    logits = np.asarray(jax.jit(model.apply)(variables, x))
    return class_map(logits, resolution)


def _score(runs: Sequence[Mapping[str, Any]], model: str, seed: int, kd: bool, temperature, alpha) -> str:
    for r in runs:
        if r["model"] == model and r["seed"] == seed and bool(r["kd"]) == kd and \
                (not kd or (r["temperature"] == temperature and r["alpha"] == alpha)):
            value = r["metrics"].get("f1_macro")
            return "" if value is None else f", test F1 {value:.3f}"
    return ""


def write(config, workdir: str, splits, runs: Sequence[Mapping[str, Any]],
          comparison: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Write ``decision_regions.png`` into ``workdir`` when the inputs are 2-D points; ``{kind: path}``.

    Panels: the clean labelling (for the ``xor`` dataset), the teacher, then per student its
    no-KD baseline and its KD setting chosen on validation (``comparison``), all of the first seed,
    each with its test macro F1; the test points are drawn on top.
    """
    if not applies(config, splits):
        return {}
    from ecgq.eval.decision_regions import plane_grid, plot_decision_regions
    from ecgq.train.checkpoints import restore_best_members
    from ecgq.train.multiseed import member_grid

    info = splits.info
    n_outputs = len(info.class_names)
    test_x = splits.test.x[..., 0]
    span = float(np.max(np.abs(splits.train.x)))
    points, extent = plane_grid(-1.05 * span, 1.05 * span, RESOLUTION)
    x = points[:, :, None]
    seed = int(config.seed)
    panels: list[tuple[str, np.ndarray] | None] = []
    if config.data.name == "xor":
        from ecgq.data.xor import label_points

        truth = label_points(points, int(config.data.xor.n_groups), int(config.data.xor.n_levels))
        panels.append(("clean labels (data.xor)", truth.reshape(RESOLUTION, RESOLUTION)))
    ckpt = os.path.join(workdir, "checkpoints")
    teacher = config.teacher.name
    best = restore_best_members(os.path.join(ckpt, "teacher"))
    if best is None:
        log.warning("decision regions: no teacher checkpoint under %s; figure skipped", ckpt)
        return {}
    panels.append((f"teacher {teacher}{_score(runs, teacher, seed, False, None, None)}",
                   _grid_classes(teacher, config.teacher, n_outputs, None, best, 0, x, RESOLUTION)))
    if len(panels) % 2:
        panels.append(None)  # each student starts a row: no KD left, KD right
    chosen = {c["model"]: c for c in comparison}
    d = config.distill
    for name in config.student_names:
        best = restore_best_members(os.path.join(ckpt, name))
        if best is None:
            log.warning("decision regions: no checkpoint of %s; its panels are left out", name)
            continue
        members = member_grid(list(range(seed, seed + int(config.students[name].train.n_seeds))),
                              d.temperatures, d.alphas, d.include_no_kd)
        c = chosen.get(name) or {}
        base = c.get("baseline") or {"kind": "no_kd"}
        settings = [("no KD", False, None, None) if base["kind"] == "no_kd"
                    else ("alpha=0", True, base["temperature"], 0.0)]
        if c.get("kd_setting"):
            s = c["kd_setting"]
            settings.append((f"KD T={s['temperature']:g} a={s['alpha']:g}", True, s["temperature"], s["alpha"]))
        for label, kd, t, a in settings:
            index = _member_index(members, seed, t, a, kd)
            if index is None:
                panels.append(None)
                continue
            image = _grid_classes(name, config.students[name], n_outputs, config.quantum, best, index, x,
                                  RESOLUTION)
            panels.append((f"{name} {label}{_score(runs, name, seed, kd, t, a)}", image))
        if len(settings) == 1:
            panels.append(None)
    shown = np.random.default_rng(0).permutation(len(test_x))[:MAX_POINTS]
    path = plot_decision_regions(
        panels, extent, os.path.join(workdir, FIGURE), info.class_names, points=test_x[shown],
        labels=np.asarray(splits.test.y)[shown], ncols=2,
        title=f"{config.study_name}: decision regions (seed {seed}; test points)")
    return {"plot_decision_regions": path}
