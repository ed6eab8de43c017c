"""MIT-BIH inter-patient binary study (normal vs abnormal beats): DS1 records train (whole records
held out for validation), DS2 records test (de Chazal protocol).

What each model sees (the report repeats it):

* students: 256-sample single-lead (MLII) beats at 360 Hz (0.71 s, centred on the R peak) minus
  their record's median beat, and the three RR ratios (pre, post and local RR over the record's
  mean RR): inter-patient generalisation comes from beats and rhythm relative to the patient's own;
* teacher (``teacher_data``): the same beats, one to one, with a multi-beat context of 2.5 s
  (448 samples at 180 Hz, so that it sees the neighbouring beats; also minus the record's median
  window), the same RR features and more epochs. Records are edge-padded so that no student beat
  is missing from the teacher's view.

Why these inputs, chosen on DS1 only (4-fold CV grouped by record over DS1's 22 records; DS2 never
looked at), with logistic regression and gradient boosting on the RR features and 8 principal
components of the beat: the three ratios beat all seven features (gradient boosting 0.851 against
0.821 balanced accuracy: record_rr and the intervals in seconds let a flexible model tell the
training patients apart), and the beat minus its record's median beat beats the raw beat (logistic
regression 0.894 against 0.823).

Students: resnet1d, cnn1d, ae_vqc with its classical control ae_mlp, nisq_vqc with nisq_mlp; each
with and without KD, 5 seeds. The full default trains on every DS1 training beat (undersampled
epochs: every abnormal beat each epoch, the normal beats in turn).
Presets: ``:quick`` (< 10 min on 2 CPU cores: 2 seeds, few epochs, a class-stratified 3k-beat
subsample of DS1 for training and validation; DS2 test metrics on every DS2 beat); ``:noise``
trains without records 118 and 119 (the clean sources of the MIT-BIH Noise Stress Test Database,
both DS1), so that ``experiments/noise_stress.py`` can score its models on them; ``:quick,noise``
combines both.
"""

from __future__ import annotations

TEACHER_CONTEXT_SECONDS = 2.5
TEACHER_RATE = 180
RR_RATIOS = ("pre_rr_norm", "post_rr_norm", "local_rr_norm")
NSTDB_SOURCES = "118,119"  # the clean records behind the Noise Stress Test Database
PRESETS = ("quick", "noise")


def get_config(arg: str | None = None):
    from ecgq.data import data_config
    from ecgq.studies.distill_config import (
        distill_study_config,
        set_student_pretraining,
        set_student_training,
    )

    presets = {p.strip() for p in (arg or "").split(",") if p.strip()}
    if presets - set(PRESETS):
        raise ValueError(f"unknown preset(s) {sorted(presets - set(PRESETS))} for mitbih_binary.py; use "
                         "':quick', ':noise', ':quick,noise' or nothing")
    c = distill_study_config("mitbih", n_seeds=5)
    c.study_name = "MIT-BIH inter-patient binary (DS1 -> DS2)"
    c.data.task = "binary"
    c.use_rr = True
    c.rr_features = RR_RATIOS
    c.data.subtract_record_median = True
    c.teacher_data = data_config("mitbih")
    c.teacher_data.task = "binary"
    c.teacher_data.target_rate = TEACHER_RATE
    c.teacher_data.window_length = 448  # 2.49 s at 180 Hz: the beat and its neighbours
    c.teacher_data.pad_edges = True
    c.teacher_data.subtract_record_median = True
    c.subsample.train = 0
    # Nine DS1 beats in ten are normal: each epoch visits every abnormal beat and as many normal
    # ones, a new slice of the normal beats each time (about four epochs cover all of them), so an
    # epoch costs a fifth of a full pass and the full preset fits its time.
    c.teacher.train.epoch_sampling = "undersample"
    c.teacher.train.epochs = 12
    c.teacher.train.restart_epochs = 12.0
    c.teacher.train.early_stopping_patience = 4
    # DS1 -> DS2 validation peaks within a few full passes (then the students overfit DS1 patients)
    set_student_training(c, epochs=8, restart_epochs=8.0, early_stopping_patience=3, batch_size=128,
                         epoch_sampling="undersample")
    set_student_pretraining(c, epochs=4)
    c.distill.temperatures = (4.0,)
    c.distill.alphas = (0.5,)
    if "quick" in presets:
        c.subsample.train = 3000
        c.subsample.val = 3000
        # Every subsampled beat each epoch: undersampled epochs of a 3k-beat subsample are ~600
        # beats, too few steps in a few epochs (nisq_vqc made 15 steps in all; DS2 0.70).
        c.teacher.train.epoch_sampling = "all"
        c.teacher.train.epochs = 4
        c.teacher.train.restart_epochs = 4.0
        set_student_training(c, epochs=3, restart_epochs=3.0, n_seeds=2, epoch_sampling="all")
        set_student_pretraining(c, epochs=2)
        c.eval.latency_batch_sizes = (1, 256)
        c.eval.energy_min_seconds = 0.5
    if "noise" in presets:  # neither trained nor validated on the records the noise study scores
        c.study_name += ", without records 118/119 (noise-stress sources)"
        c.data.exclude_records = NSTDB_SOURCES
        c.teacher_data.exclude_records = NSTDB_SOURCES
    return c
