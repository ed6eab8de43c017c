"""The distillation study's config: assembled from every layer's builder, documented by each
field's owner, completed when a flag switches the dataset, teacher or students, and checked before
anything trains.

Layout: ``data`` (and optionally ``teacher_data``, the teacher's own view of the same records),
``mesh`` (the devices the members and batches are split over), ``quantum``, ``teacher`` (the teacher's model config + ``name`` + ``train``), ``student_names`` and
``students.<name>`` (model config + ``train`` [+ ``pretrain``]), ``distill``, ``eval``,
``subsample``, ``use_rr``.
"""

from __future__ import annotations

import ml_collections

from ecgq.configs import apply_overrides, changed_leaves, mount
from ecgq.data import check_data_config, data_config, data_docs, with_dataset_defaults
from ecgq.data.registry import dataset
from ecgq.distill.config import FIELD_DOCS as DISTILL_DOCS
from ecgq.distill.config import check_distill_config, distill_config
from ecgq.errors import ConfigError
from ecgq.eval.config import FIELD_DOCS as EVAL_DOCS
from ecgq.eval.config import check_eval_config, eval_config
from ecgq.models import model_spec
from ecgq.quantum.config import FIELD_DOCS as QUANTUM_DOCS
from ecgq.quantum.config import check_quantum_config, quantum_config
from ecgq.studies.registry import TOP_LEVEL_DOCS
from ecgq.train.config import FIELD_DOCS as TRAIN_DOCS
from ecgq.train.config import (
    MESH_DOCS,
    PRETRAIN_DOCS,
    check_mesh_config,
    check_pretrain_config,
    check_train_config,
    mesh_config,
    pretrain_config,
    train_config,
)

# Each quantum student sits beside its classical control (same model, circuit -> classical layer).
DEFAULT_STUDENTS = ("resnet1d", "cnn1d", "ae_vqc", "ae_mlp", "nisq_vqc", "nisq_mlp")

STUDY_DOCS: dict[str, str] = {
    "study_name": "Name of the study, used in report titles and the TensorBoard run.",
    "student_names": "Students to distil into, in order (registered student models); each has its config under students.<name>. "
                     "A quantum student needs its classical control beside it (ae_vqc: ae_mlp; nisq_vqc: nisq_mlp); "
                     "naming students by flag adds the controls.",
    "use_rr": "Feed the RR-interval features to every model (only for datasets that provide them, e.g. mitbih).",
    "rr_features": "Which RR features every model reads when use_rr (names of ecgq.data.rr.RR_FEATURES, in any "
                   "order; () = all). record_rr and the intervals in seconds are nearly constant within a record, "
                   "so they can identify training patients; the *_norm ratios transfer to new ones.",
    "teacher.name": "Teacher model (a registered teacher, e.g. 'ecgfounder_small' or 'ecgfounder').",
    "teacher.train.n_seeds": "Teacher seeds (the first one is distilled; more only give the teacher's own CI).",
    "subsample.train": "Keep at most this many training windows (class-stratified random; 0 = all). Smoke runs only.",
    "subsample.val": "Keep at most this many validation windows (class-stratified random; 0 = all).",
    "subsample.test": "Keep at most this many test windows (0 = all: report on the whole test split).",
    "subsample.seed": "Seed of the subsampling draw (independent of the model seeds).",
}


TARGET_DOCS: dict[str, str] = {
    "source": "Where the targets come from (a paper, a seed implementation); printed in the report.",
    "total_params": "Claimed parameter count to stay under (all parameters, quantum ones included); 0 = none.",
    "latency_ms": "Claimed CPU latency per sample at batch 1, in ms, to stay under; 0 = none.",
    "energy_mj": "Claimed energy per sample in mJ to stay under (compared with the measured energy where a "
                 "counter exists, else the operation-count estimate); 0 = none.",
    "accuracy": "Claimed test accuracy to reach; 0 = none.",
}


def targets_config(source: str, **targets: float) -> ml_collections.ConfigDict:
    """``config.targets``: the claims of the work a study tests, put beside the measured numbers in
    ``results.md`` (fields of :data:`TARGET_DOCS`; 0 = no claim)."""
    unknown = set(targets) - set(TARGET_DOCS)
    if unknown:
        raise ValueError(f"unknown targets {sorted(unknown)}; known: {sorted(TARGET_DOCS)}")
    return ml_collections.ConfigDict({"source": source, **{k: float(targets.get(k, 0.0))
                                                           for k in TARGET_DOCS if k != "source"}})


def teacher_config(name: str) -> ml_collections.ConfigDict:
    spec = model_spec(name, "teacher.name")
    if spec.role != "teacher":
        raise ConfigError(f"--config.teacher.name={name!r} is a {spec.role}, not a teacher.")
    c = spec.config()
    c.name = name
    c.train = train_config()
    c.train.n_seeds = 1
    return c


def student_config(name: str, n_seeds: int = 3) -> ml_collections.ConfigDict:
    """Model config + ``train`` (with the model's own student defaults) [+ ``pretrain``]."""
    spec = model_spec(name, "student_names")
    if spec.role != "student":
        raise ConfigError(f"--config.student_names names {name!r}, which is a {spec.role}, not a student.")
    c = spec.config()
    c.train = train_config()
    c.train.n_seeds = n_seeds
    for key, value in spec.student_train.items():
        c.train[key] = value
    if spec.pretraining:
        c.pretrain = pretrain_config()
    return c


def set_student_training(config: ml_collections.ConfigDict, **fields) -> None:
    """Set the same ``train`` fields on every student of a study config (presets use this)."""
    for name in config.student_names:
        for key, value in fields.items():
            config.students[name].train[key] = value


def set_student_pretraining(config: ml_collections.ConfigDict, **fields) -> None:
    """Set the same ``pretrain`` fields on every student of a study config that pre-trains."""
    for name in config.student_names:
        if "pretrain" in config.students[name]:
            for key, value in fields.items():
                config.students[name].pretrain[key] = value


def distill_study_config(data_name: str, student_names=DEFAULT_STUDENTS, teacher_name: str = "ecgfounder_small",
                         n_seeds: int = 3) -> ml_collections.ConfigDict:
    """A complete distillation study config assembled from every layer's builder."""
    c = ml_collections.ConfigDict()
    c.study = "distill"
    c.seed = 0
    c.study_name = "distill"
    c.data = data_config(data_name)
    c.quantum = quantum_config()
    c.use_rr = False
    c.rr_features = ()
    c.teacher = teacher_config(teacher_name)
    c.student_names = tuple(student_names)
    c.students = ml_collections.ConfigDict({name: student_config(name, n_seeds) for name in student_names})
    c.distill = distill_config()
    c.eval = eval_config()
    c.subsample = ml_collections.ConfigDict({"train": 0, "val": 0, "test": 0, "seed": 0})
    c.mesh = mesh_config()
    return c


def study_docs(config: ml_collections.ConfigDict) -> dict[str, str]:
    """Help of every field of a distillation config, keyed by full path, from each field's owner."""
    docs = dict(TOP_LEVEL_DOCS)
    docs.update(mount("data", data_docs()))
    if "teacher_data" in config:
        docs.update(mount("teacher_data", data_docs()))
        docs["teacher_data.data_dir"] = "Raw data folder of the teacher's view; '' = the same as data.data_dir."
    docs.update(mount("quantum", QUANTUM_DOCS))
    docs.update(mount("teacher", model_spec(config.teacher.name, "teacher.name").docs))
    docs.update(mount("teacher.train", TRAIN_DOCS))
    for name in config.students:
        docs.update(mount(f"students.{name}", model_spec(name).docs))
        docs.update(mount(f"students.{name}.train", TRAIN_DOCS))
        if "pretrain" in config.students[name]:
            docs.update(mount(f"students.{name}.pretrain", PRETRAIN_DOCS))
    docs.update(mount("distill", DISTILL_DOCS))
    docs.update(mount("eval", EVAL_DOCS))
    if "targets" in config:
        docs.update(mount("targets", TARGET_DOCS))
    if "mesh" in config:
        docs.update(mount("mesh", MESH_DOCS))
    docs.update(STUDY_DOCS)
    return docs


def with_controls(names: tuple[str, ...]) -> tuple[str, ...]:
    """``names`` with each quantum student's classical control right after it (when missing)."""
    out: list[str] = []
    for name in names:
        if name not in out:
            out.append(name)
        control = model_spec(name, "student_names").control
        if control and control not in names and control not in out:
            out.append(control)
    return tuple(out)


def complete(base: ml_collections.ConfigDict, config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """Bring the defaults of a switched dataset or teacher, and configs for newly named students."""
    config = ml_collections.ConfigDict(config.to_dict())  # unlocked working copy
    # --config.student_names=a,b arrives as one string: accept commas as well as a tuple literal
    names = (config.student_names,) if isinstance(config.student_names, str) else config.student_names
    config.student_names = with_controls(
        tuple(part.strip() for name in names for part in str(name).split(",") if part.strip()))
    for where in ("data", "teacher_data"):
        if where in config and where in base:
            config[where] = with_dataset_defaults(base[where], config[where])
    if config.teacher.name != base.teacher.name:
        overrides = {k: v for k, v in changed_leaves(base.teacher, config.teacher).items()
                     if k != "name" and not k.startswith("train.")}
        fresh = teacher_config(config.teacher.name)
        fresh.train = config.teacher.train
        apply_overrides(fresh, overrides, what=f"teacher {config.teacher.name!r}")
        config.teacher = fresh
    template = next((config.students[n] for n in base.student_names if n in config.students), None)
    for name in config.student_names:
        if name not in config.students:
            fresh = student_config(name, template.train.n_seeds if template else 3)
            if template is not None:  # a student joins with the preset's training settings
                own = model_spec(name).student_train
                for key, value in template.train.items():
                    if key not in own:
                        fresh.train[key] = value
                if "pretrain" in fresh and "pretrain" in template:
                    fresh.pretrain = ml_collections.ConfigDict(template.pretrain.to_dict())
            config.students[name] = fresh
    return config


def teacher_view(config: ml_collections.ConfigDict):
    """The teacher's own data config, or None; a '' data_dir of the same dataset reads data.data_dir
    (one folder is asked for once)."""
    if "teacher_data" not in config:
        return None
    view = config.teacher_data
    if not view.data_dir and view.name == config.data.name and config.data.data_dir:
        view = ml_collections.ConfigDict(view.to_dict())
        view.data_dir = config.data.data_dir
    return view


def check_mesh(config: ml_collections.ConfigDict) -> None:
    """``config.mesh`` fits the devices this run sees, and no training config loops its members
    over a mesh of several devices (a sharded member axis is vmapped)."""
    if "mesh" not in config:
        return
    from ecgq.train.sharding import make_mesh

    check_mesh_config(config.mesh, "mesh")
    if make_mesh(config.mesh) is None:
        return
    where = ["teacher.train"] + [f"students.{n}.train" for n in config.student_names if n in config.students]
    for path in where:
        train = config.teacher.train if path == "teacher.train" else config.students[path.split(".")[1]].train
        if int(train.batch_size) % int(config.mesh.data):
            raise ConfigError(f"--config.mesh.data={config.mesh.data} must divide --config.{path}.batch_size="
                              f"{train.batch_size} (each batch is split over the data devices).")
        if train.member_axis == "loop":
            raise ConfigError(f"--config.{path}.member_axis='loop' cannot run on a mesh of several devices "
                              "(the members are split over them as one vmapped program): use 'auto' or 'vmap', or "
                              "--config.mesh.members=1 --config.mesh.data=1 for one device.")


def check(config: ml_collections.ConfigDict) -> None:
    """Everything that can be checked without reading a record; each error names its field."""
    check_data_config(config.data, "data")
    if "teacher_data" in config:
        check_data_config(teacher_view(config), "teacher_data")
    if config.use_rr and not dataset(config.data.name).rr_features:
        raise ConfigError(f"--config.use_rr=True but dataset {config.data.name!r} provides no RR features; "
                          "set it to False.")
    from ecgq.data.rr import RR_FEATURES

    unknown = [n for n in config.get("rr_features", ()) if n not in RR_FEATURES]
    if unknown or len(set(config.get("rr_features", ()))) != len(config.get("rr_features", ())):
        raise ConfigError(f"--config.rr_features={tuple(config.rr_features)}: {unknown or 'repeated names'}; "
                          f"choose distinct names from {list(RR_FEATURES)} (() = all).")
    tspec = model_spec(config.teacher.name, "teacher.name")
    if tspec.role != "teacher":
        raise ConfigError(f"--config.teacher.name={config.teacher.name!r} is a {tspec.role}, not a teacher.")
    if tspec.check is not None:
        tspec.check(config.teacher, None, "teacher")
    check_train_config(config.teacher.train, "teacher.train")
    if not config.student_names:
        raise ConfigError("--config.student_names is empty: name at least one student.")
    uses_quantum = False
    for name in config.student_names:
        spec = model_spec(name, "student_names")
        if spec.role != "student":
            raise ConfigError(f"--config.student_names names {name!r}, which is a {spec.role}, not a student.")
        if name not in config.students:
            raise ConfigError(f"--config.student_names names {name!r} but config.students has no {name!r} entry.")
        if spec.control and spec.control not in config.student_names:
            raise ConfigError(f"--config.student_names names the quantum student {name!r} without its classical "
                              f"control {spec.control!r}: add it, so that the report measures what the circuit adds.")
        scfg = config.students[name]
        uses_quantum |= spec.uses_quantum
        if spec.uses_quantum:
            check_quantum_config(config.quantum, "quantum")
        if spec.check is not None:
            spec.check(scfg, config.quantum, f"students.{name}")
        check_train_config(scfg.train, f"students.{name}.train")
        if "pretrain" in scfg:
            check_pretrain_config(scfg.pretrain, f"students.{name}.pretrain")
    check_distill_config(config.distill, "distill")
    check_eval_config(config.eval, "eval")
    check_mesh(config)
    for key, value in (config.get("targets") or {}).items():
        if key != "source" and float(value) < 0:
            raise ConfigError(f"--config.targets.{key} must be >= 0 (0 = no claim), got {value}.")
    for key in ("train", "val", "test", "seed"):
        if int(config.subsample[key]) < 0:
            raise ConfigError(f"--config.subsample.{key} must be >= 0 (0 = all), got {config.subsample[key]}.")
