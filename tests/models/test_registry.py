"""The model registry: every registered model builds from its spec, the CLI lists and summarises
them, and the sizing hooks (fit_to_data / check) take sizes from the data or refuse them by name."""

from __future__ import annotations

import json
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ecgq import models
from ecgq.errors import ConfigError
from ecgq.models import __main__ as models_cli
from ecgq.models import teacher
from ecgq.models.registry import InputView
from ecgq.quantum.config import quantum_config

NAMES = models.MODELS.names()
EXPECTED = {"ae_vqc": ("student", "quantum"), "ae_mlp": ("student", "classical"),
            "nisq_vqc": ("student", "quantum"), "nisq_mlp": ("student", "classical"),
            "cnn1d": ("student", "classical"),
            "resnet1d": ("student", "classical"), "ecgfounder": ("teacher", "classical"),
            "ecgfounder_small": ("teacher", "classical")}
def _eval_create(name, **kwargs):
    """``(module, abstract variables)`` of ``create`` traced by ``jax.eval_shape``: no compilation."""
    box = {}

    def build():
        box["module"], variables = models.create(name, **kwargs)
        return variables

    variables = jax.eval_shape(build)
    return box["module"], variables


def _summary(capsys, *args):
    status = models_cli.main([*args, "--json", "--batch_sizes=1"])
    out, err = capsys.readouterr()
    assert status == 0, err
    out = out.strip().splitlines()
    assert len(out) == 1
    return json.loads(out[0])


def test_registry_holds_the_documented_models():
    assert set(EXPECTED) <= set(NAMES)
    for name in NAMES:
        spec = models.model_spec(name)
        assert spec.name == name and models.MODELS.get(name) is spec
        assert spec.role in ("teacher", "student") and spec.family in ("classical", "quantum")
        # every quantum model reads config.quantum; a control may too (it matches that circuit's size)
        assert spec.uses_quantum or spec.family == "classical", name
        if name in EXPECTED:
            assert (spec.role, spec.family) == EXPECTED[name]
    assert models.model_spec("ecgfounder").default_input_shape == (5000, 12)
    assert models.model_spec("ecgfounder").default_n_outputs == 150


@pytest.mark.parametrize("name", NAMES)
def test_every_config_field_is_documented(name):
    spec = models.model_spec(name)
    cfg = models.model_config(name)
    assert set(cfg) == set(spec.docs), name  # no undocumented field, no stale help
    assert all(text.strip() for text in spec.docs.values())
    with cfg.unlocked():
        cfg.added_by_a_caller = 1
    assert "added_by_a_caller" not in models.model_config(name)  # a fresh config per call


def test_create_builds_the_released_teacher_at_its_default_input_shape():
    spec = models.model_spec("ecgfounder")
    module, variables = _eval_create("ecgfounder", input_shape=spec.default_input_shape,
                                     n_outputs=spec.default_n_outputs)
    logits = jax.eval_shape(module.apply, variables, jnp.zeros((2, *spec.default_input_shape)))
    assert logits.shape == (2, 150)


def test_create_builds_the_released_teacher_given_its_leads():
    # The 30 M-parameter forward is shape-checked only (jax.eval_shape compiles nothing).
    module, variables = _eval_create("ecgfounder", input_shape=(5000, 12), n_outputs=150,
                                     leads=teacher.TEACHER_LEADS, sampling_rate=0.0)
    assert models.count_params(variables) == {"classical": 30_752_646, "quantum": 0}
    logits = jax.eval_shape(module.apply, variables, jnp.zeros((2, 5000, 12)))
    assert logits.shape == (2, 150) and logits.dtype == jnp.float32


def test_unknown_model_names_raise_config_error():
    for call in (lambda: models.model_spec("lstm"), lambda: models.model_config("lstm"),
                 lambda: models.MODELS.get("lstm"),
                 lambda: models.build_model("lstm", models.model_config("cnn1d"), 2),
                 lambda: models.create("lstm", input_shape=(256, 1), n_outputs=2)):
        with pytest.raises(ConfigError, match=r"Unknown model 'lstm'.*'cnn1d'"):
            call()
    with pytest.raises(ConfigError, match=r"Unknown model 'lstm' in --config\.students"):
        models.model_spec("lstm", "students")


def test_create_refuses_unknown_fields_by_name():
    with pytest.raises(ConfigError, match="'some_unknown_field'") as error:
        models.create("cnn1d", input_shape=(256, 1), n_outputs=2, some_unknown_field=1)
    assert "cnn1d" in str(error.value)
    with pytest.raises(ConfigError, match="n_outputs must be positive"):
        models.build_model("cnn1d", models.model_config("cnn1d"), 0)


def test_create_applies_overrides():
    module, variables = _eval_create("cnn1d", input_shape=(128, 2), n_outputs=4, hidden=8,
                                     features=(8, 8), kernel_sizes=(3, 3))
    assert (module.hidden, tuple(module.features), module.n_outputs) == (8, (8, 8), 4)
    assert variables["params"]["head"]["kernel"].shape == (8, 4)


# --- the CLI -----------------------------------------------------------------------------------


def _run_cli(*args):
    return subprocess.run([sys.executable, "-m", "ecgq.models", *args], capture_output=True,
                          text=True, timeout=120)


def test_cli_lists_every_registered_model_as_json():
    result = _run_cli("--list", "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [row["name"] for row in rows] == list(NAMES)
    for row in rows:
        assert row["role"] in ("teacher", "student") and row["family"] in ("classical", "quantum")
        spec = models.model_spec(row["name"])
        assert (row["role"], row["family"], row["description"]) == (spec.role, spec.family, spec.description)
        assert row["default_input_shape"] == list(spec.default_input_shape)
    assert {row["name"]: row["family"] for row in rows}["ae_vqc"] == "quantum"


def test_cli_lists_one_line_per_model(capsys):
    assert models_cli.main(["--list"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split()[:3] for line in lines] == [
        [n, models.model_spec(n).role, models.model_spec(n).family] for n in NAMES]


def test_cli_unknown_model_exits_2_with_one_line():
    result = _run_cli("--model=lstm", "--json")
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "'lstm'" in lines[0] and "Traceback" not in result.stderr


def test_cli_without_a_model_exits_2(capsys):
    assert models_cli.main([]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--model=NAME" in err[0]


# One test per model for both, so that the CLI's create (the same program as the first one)
# comes from the compilation cache of the same test worker.
@pytest.mark.parametrize("name", [n for n in NAMES if n != "ecgfounder"])
def test_every_model_builds_via_create_and_the_cli_summarises_it(name, capsys):
    spec = models.model_spec(name)
    module, variables = models.create(name, input_shape=spec.default_input_shape,
                                      n_outputs=spec.default_n_outputs)
    x = jax.random.normal(jax.random.key(0), (2, *spec.default_input_shape))
    logits = jax.jit(module.apply)(variables, x)
    assert logits.shape == (2, spec.default_n_outputs) and np.all(np.isfinite(logits))
    counts = models.count_params(variables)
    assert counts["classical"] > 0 and (counts["quantum"] > 0) == (spec.family == "quantum")

    summary = _summary(capsys, f"--model={name}")
    assert summary["model"] == name and summary["input_shape"] == list(spec.default_input_shape)
    assert summary["output_shape"] == [1, spec.default_n_outputs]
    assert summary["classical_params"] == counts["classical"]
    assert summary["quantum_params"] == counts["quantum"]
    assert summary["flops"] > 0 and set(summary["latency_ms"]) == {"1"}
    assert summary["latency_ms"]["1"] > 0


def test_cli_summarises_the_released_teacher_at_a_small_input(capsys):
    summary = _summary(capsys, "--model=ecgfounder", "--input_shape=64,12")
    assert summary["input_shape"] == [64, 12] and summary["output_shape"] == [1, 150]
    assert summary["classical_params"] == 30_752_646 and summary["quantum_params"] == 0


# --- sizing from the data ----------------------------------------------------------------------


def test_ae_vqc_takes_its_window_from_the_data():
    spec = models.model_spec("ae_vqc")
    cfg = models.model_config("ae_vqc")
    spec.fit_to_data(cfg, InputView(128, ("MLII",)), "students.ae_vqc")
    assert cfg.window_length == 128
    spec.fit_to_data(cfg, InputView(128, ("MLII",)), "students.ae_vqc")  # idempotent
    module, variables = _eval_create("ae_vqc", input_shape=(128, 1), n_outputs=2)
    assert module.window_length == 128 and module.latent_dim == quantum_config().n_qubits
    recon = jax.eval_shape(lambda v, x: module.apply(v, x, method="reconstruct"), variables,
                           jnp.zeros((3, 128, 1)))
    assert recon.shape == (3, 128, 1)


def test_ae_vqc_refuses_a_window_the_encoder_cannot_halve():
    spec = models.model_spec("ae_vqc")
    cfg = models.model_config("ae_vqc")
    assert len(cfg.encoder_features) == 3
    with pytest.raises(ConfigError, match=r"multiple of 8.*--config\.students\.ae_vqc\.encoder_features"):
        spec.fit_to_data(cfg, InputView(100, ("MLII",)), "students.ae_vqc")
    with pytest.raises(ConfigError, match=r"--config\.ae_vqc\.encoder_features"):
        models.create("ae_vqc", input_shape=(100, 1), n_outputs=2)
    # The factor is 2 ** len(encoder_features): two layers halve 100 samples twice, fine.
    cfg = models.model_config("ae_vqc")
    cfg.encoder_features = (16, 32)
    spec.fit_to_data(cfg, InputView(100, ("MLII",)), "students.ae_vqc")
    assert cfg.window_length == 100
    # A window set explicitly must be the data's.
    with pytest.raises(ConfigError, match=r"--config\.students\.ae_vqc\.window_length=100"):
        spec.fit_to_data(cfg, InputView(96, ("MLII",)), "students.ae_vqc")


def test_ae_vqc_check_ties_the_latent_to_the_qubits():
    check = models.model_spec("ae_vqc").check
    qcfg = quantum_config()
    cfg = models.model_config("ae_vqc")
    for latent in (0, qcfg.n_qubits):  # 0 = n_qubits
        cfg.latent_dim = latent
        check(cfg, qcfg, "students.ae_vqc")
    cfg.latent_dim = 4
    with pytest.raises(ConfigError, match=r"--config\.students\.ae_vqc\.latent_dim=4 .*n_qubits=6"):
        check(cfg, qcfg, "students.ae_vqc")
    with pytest.raises(ConfigError, match=r"latent_dim=4"):
        models.create("ae_vqc", input_shape=(256, 1), n_outputs=2, latent_dim=4)
    qcfg.encoding = "reupload"
    with pytest.raises(ConfigError, match="latent_dim=4"):
        check(cfg, qcfg, "students.ae_vqc")
    qcfg.encoding = "amplitude"  # 2**6 amplitudes: 4 latent values fit
    check(cfg, qcfg, "students.ae_vqc")
    cfg.latent_dim = 65
    with pytest.raises(ConfigError, match=r"amplitude encoding on 6 qubits takes 1\.\.64"):
        check(cfg, qcfg, "students.ae_vqc")


def _fitted_teacher(leads, **fields):
    cfg = models.model_config("ecgfounder_small")
    cfg.update(fields)
    models.model_spec("ecgfounder_small").fit_to_data(cfg, InputView(256, tuple(leads)), "teacher")
    return cfg


def test_teacher_takes_the_data_leads_in_canonical_order():
    assert (_fitted_teacher(("V1", "II")).lead_order, _fitted_teacher(("V1", "II")).n_leads) == ("II,V1", 2)
    # MIT-BIH's modified limb lead MLII is lead II: named so, it sorts before V1.
    cfg = _fitted_teacher(("V1", "MLII"))
    assert (cfg.lead_order, cfg.n_leads) == ("II,V1", 2)
    assert teacher.canonical_order(["V6", "AVR", "I", "v2"]) == ["I", "aVR", "V2", "V6"]
    # As soon as one lead is not a standard one, the data's order is kept.
    cfg = _fitted_teacher(("V1", "ECG2", "MLII"))
    assert (cfg.lead_order, cfg.n_leads) == ("V1,ECG2,MLII", 3)
    view = InputView(256, ("V1", "ECG2", "MLII"))
    assert models.sized_input_shape("ecgfounder_small", cfg, view) == (256, 3)


def test_teacher_refuses_leads_or_rates_the_data_lack():
    cfg = _fitted_teacher(("II", "V1"), lead_order="II,V1")  # an explicit order is kept
    assert (cfg.lead_order, cfg.n_leads) == ("II,V1", 2)
    with pytest.raises(ConfigError, match=r"--config\.teacher\.lead_order: .*\['V1'\]"):
        _fitted_teacher(("MLII",), lead_order="II,V1")
    cfg = _fitted_teacher(("MLII",), lead_order="II,V1", missing_leads="zeros")
    assert cfg.n_leads == 2
    with pytest.raises(ConfigError, match=r"--config\.teacher\.sampling_rate=500"):
        _fitted_teacher(("II",), sampling_rate=500.0)


def test_every_quantum_student_names_a_registered_classical_control():
    for name in NAMES:
        spec = models.model_spec(name)
        if spec.role == "student" and spec.family == "quantum":
            control = models.model_spec(spec.control)
            assert (control.role, control.family, control.pretraining) == ("student", "classical", spec.pretraining)
            assert set(control.config()) <= set(spec.config()) | {"hidden"}
