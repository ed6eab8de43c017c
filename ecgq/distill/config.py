"""Distillation settings of a study: ``distill_config()`` and the help of each field.

The study-level fields of a distillation config (``teacher.*``, ``students.*``) are documented here
too, since this layer is the one that reads them.
"""

from __future__ import annotations

import ml_collections


def distill_config() -> ml_collections.ConfigDict:
    """One KD setting (T=4, alpha=0.5) plus the no-KD baseline, for every student."""
    c = ml_collections.ConfigDict()
    c.temperatures = (4.0,)
    c.alphas = (0.5,)
    c.include_no_kd = True
    c.cache_dir = ""
    return c


FIELD_DOCS: dict[str, str] = {
    "temperatures": "KD temperatures T; every (T, alpha) pair is one KD setting, all vmapped with the seeds.",
    "alphas": "KD mixing weights alpha (weight of the soft-target term; 0 = cross-entropy only).",
    "include_no_kd": "Also train each student without KD (plain cross-entropy) as the baseline.",
    "cache_dir": "Teacher-logit cache folder ('' = <workdir>/teacher_cache); shareable between workdirs.",
    # study-level fields read by ecgq.pipeline (config.teacher's model fields, such as checkpoint
    # and finetune, are documented by the models layer)
    "teacher.name": "Teacher model preset (ecgq.models.build_model name), e.g. 'ecgfounder_small' or 'ecgfounder'.",
    "study_name": "Name of the study, used in report titles and the TensorBoard run.",
    "student_names": "Students to distil into, in order; each has its config under config.students.<name>.",
    "teacher.train.n_seeds": "Teacher seeds (the first one is distilled; more only give the teacher's own CI).",
    "subsample.train": "Keep at most this many training windows (class-stratified random; 0 = all). Smoke runs only.",
    "subsample.val": "Keep at most this many validation windows (class-stratified random; 0 = all).",
    "subsample.test": "Keep at most this many test windows (0 = all: report on the whole test split).",
    "subsample.seed": "Seed of the subsampling draw (independent of the model seeds).",
    "teacher_data": "Optional own data view of the teacher (a data config); students then get its mean logit per record.",
    "use_rr": "Feed the RR-interval features to every model (only for datasets that provide them).",
}

STUDENT_NAMES = ("resnet1d", "cnn1d", "ae_vqc")


def set_student_training(config: ml_collections.ConfigDict, **fields) -> None:
    """Set the same ``train`` fields on every student of a study config (presets use this)."""
    for name in config.student_names:
        for key, value in fields.items():
            config.students[name].train[key] = value


def distill_study_config(data_name: str, student_names=STUDENT_NAMES, teacher_name: str = "ecgfounder_small",
                         n_seeds: int = 3) -> ml_collections.ConfigDict:
    """A complete distillation study config assembled from every layer's builder.

    ``config.teacher`` is the teacher's model config (so ``config.teacher.checkpoint`` and
    ``config.teacher.finetune`` are the models layer's fields) plus ``name``, ``n_seeds`` and its
    ``train`` config; each ``config.students.<name>`` is a model config plus its ``train`` config
    (and ``pretrain`` for ae_vqc).
    """
    from ecgq.data.config import data_config
    from ecgq.models.config import model_config
    from ecgq.quantum.config import quantum_config
    from ecgq.eval.config import eval_config
    from ecgq.train.config import pretrain_config, train_config

    c = ml_collections.ConfigDict()
    c.study = "distill"
    c.seed = 0
    c.study_name = "distill"
    c.data = data_config(data_name)
    c.quantum = quantum_config()
    c.use_rr = False
    c.teacher = model_config(teacher_name)
    c.teacher.name = teacher_name
    c.teacher.train = train_config()
    c.teacher.train.n_seeds = 1
    c.student_names = tuple(student_names)
    c.students = ml_collections.ConfigDict()
    for name in student_names:
        student = model_config(name)
        student.train = train_config()
        student.train.n_seeds = n_seeds
        if name == "ae_vqc":
            # The autoencoder is pre-trained on reconstruction, then fine-tuned through the circuit:
            # a frozen 6-value reconstruction latent stayed at chance (balanced accuracy 0.50 on
            # the default synthetic study), fine-tuning with a 16-unit readout reached ~0.7.
            student.pretrain = pretrain_config()
            student.freeze_encoder = False
            student.readout_hidden = 16
            student.train.learning_rate = 3e-3
        c.students[name] = student
    c.distill = distill_config()
    c.eval = eval_config()
    c.subsample = ml_collections.ConfigDict({"train": 0, "val": 0, "test": 0, "seed": 0})
    return c
