"""The teacher stage of a distillation study: train or fine-tune the teacher, score it, and compute
its logits on every split once (cached on disk) as the students' soft targets.

The teacher may see its own view of the data (``config.teacher_data``: e.g. 10 s of 12-lead PTB-XL
at 500 Hz) while the students see crops of the same records; each student window then gets the
teacher's mean logit of its record (:func:`logits_by_record`), or, for beat datasets whose views
are aligned beat by beat (a longer multi-beat context for the teacher), the logit of its own beat.
"""

from __future__ import annotations

import os

import jax
import numpy as np

from ecgq.distill import teacher_cache
from ecgq.distill.arrays import (
    SPLITS,
    profile,
    seeds_from,
    split_arrays,
    stack,
    standardize_rr,
)
from ecgq.distill.results import TaskInfo, member_histories, stage_record
from ecgq.models import build_model, model_spec, trainable_mask
from ecgq.models import teacher as teacher_lib
from ecgq.train import loop, multiseed, steps


def logits_by_record(teacher_logits: np.ndarray, teacher_records: np.ndarray,
                     student_records: np.ndarray) -> np.ndarray:
    """Teacher logits for each student window: the mean teacher logit of the window's record."""
    ids, inverse = np.unique(np.asarray(teacher_records), return_inverse=True)
    sums = np.zeros((len(ids), teacher_logits.shape[1]))
    np.add.at(sums, inverse, teacher_logits)
    means = sums / np.bincount(inverse, minlength=len(ids))[:, None]
    position = {r: i for i, r in enumerate(ids)}
    missing = sorted({r for r in student_records if r not in position})
    if missing:
        raise ValueError(f"the teacher's data lack records {missing[:5]}... that the students see")
    return means[[position[r] for r in student_records]].astype(np.float32)


def beat_aligned(teacher_splits, student_splits) -> bool:
    """Whether the teacher's view holds the students' beats one to one (``ecgq.data.align``)."""
    return all(t.beat is not None and s.beat is not None and len(t) == len(s)
               and np.array_equal(t.record, s.record) and np.array_equal(t.beat, s.beat)
               for (_, t), (_, s) in zip(teacher_splits.items(), student_splits.items()))


def teacher_inputs(tcfg, splits) -> dict[str, np.ndarray]:
    """Every split brought to the teacher by its model's ``adapt_inputs`` (leads, rate, length,
    normalisation; the ECGFounder family's adapter), or as they are for a teacher without one."""
    info = splits.info
    adapt = model_spec(tcfg.name).adapt_inputs
    if adapt is None:
        return {s: getattr(splits, s).x for s in SPLITS}
    return {s: adapt(getattr(splits, s).x, info.lead_names, info.sampling_rate, tcfg) for s in SPLITS}


def run_teacher_stage(tcfg, *, teacher_splits, student_splits, task: TaskInfo, seed: int, workdir: str,
                      cache_dir: str, eval_cfg, meta: dict, mesh=None) -> tuple[dict, dict[str, np.ndarray]]:
    """Train/fine-tune the teacher (split over ``mesh``, ``ecgq.train.sharding``); return (stage
    record, teacher logits per student window)."""
    own_view = teacher_splits is not student_splits
    info = teacher_splits.info
    x = teacher_inputs(tcfg, teacher_splits)
    data = standardize_rr({s: split_arrays(getattr(teacher_splits, s), x[s], task.use_rr) for s in SPLITS})
    model = build_model(tcfg.name, tcfg, task.n_outputs)
    members = [multiseed.Member(s) for s in seeds_from(seed, tcfg.train.n_seeds)]
    init_params = None
    if tcfg.get("checkpoint"):  # released weights: only teachers with a checkpoint field have them
        rr_dim = data["train"]["rr"].shape[1] if task.use_rr else None
        _, variables = teacher_lib.load_teacher(tcfg, task.n_outputs, jax.random.PRNGKey(seed), rr_dim)
        init_params = stack(variables["params"], len(members))
        meta["notes"].append(f"teacher initialised from {tcfg.checkpoint} (finetune={tcfg.finetune})")
    result = loop.fit(
        model=model, members=members, cfg=tcfg.train, train=data["train"], val=data["val"], head=task.head,
        multilabel=task.multilabel, data_seed=seed, ckpt_dir=os.path.join(workdir, "checkpoints", "teacher"),
        desc=f"teacher {tcfg.name}", init_params=init_params,
        trainable_fn=lambda p: trainable_mask(tcfg.name, tcfg, p), mesh=mesh,
    )
    multi_eval = multiseed.make_multi_eval(steps.make_eval_step(tcfg.train.compute_dtype))
    first = jax.tree_util.tree_map(lambda a: a[:1], result.best_state)
    teacher_id = teacher_cache.fingerprint(first.params, first.batch_stats, tcfg.name)
    batch = int(tcfg.train.eval_batch_size)
    logits, computed = {}, {}
    for s in SPLITS:
        dataset_id = teacher_cache.fingerprint(data[s]["x"], info.name, s)
        logits[s], hit = teacher_cache.cached_logits(
            cache_dir, teacher_id, dataset_id, s,
            lambda s=s: multiseed.predict(multi_eval, first, data[s], batch)[0])
        computed[s] = 0 if hit else 1
    meta["teacher_forward_passes"] = computed
    meta["teacher_id"] = teacher_id[:16]
    student_logits = logits
    view = (f"teacher sees its own view ({info.name}, {len(info.lead_names)} leads at {info.sampling_rate:g} Hz, "
            f"{teacher_splits.train.x.shape[1]}-sample windows)")
    if own_view and beat_aligned(teacher_splits, student_splits):
        meta["notes"].append(f"{view} of the students' beats, one to one; students get the logit of their beat")
    elif own_view:
        student_logits = {s: logits_by_record(logits[s], getattr(teacher_splits, s).record,
                                              getattr(student_splits, s).record) for s in SPLITS}
        meta["notes"].append(f"{view}; students get its mean logit per record")

    if len(members) > 1:  # the extra teacher seeds only report the teacher's own spread
        all_logits = {s: multiseed.predict(multi_eval, result.best_state, data[s], batch) for s in ("val", "test")}
    else:
        all_logits = {s: logits[s][None] for s in ("val", "test")}
    histories = member_histories(result.history, len(members))
    cost = profile(model, multiseed.member_variables(result.best_state, 0), data["train"], eval_cfg)
    record = stage_record(tcfg.name, members, all_logits, teacher_splits, histories, cost, task)
    return record, student_logits
