"""The launcher: every experiment loads and documents every field with its owner's help; bad input
of any kind ends in one line on stderr and exit status 2, within seconds, before anything is written."""

from __future__ import annotations

import glob
import os
import subprocess
import sys
import time

import pytest

from ecgq.configs import leaves
from ecgq.studies import STUDIES
from ecgq.studies.help import describe

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXPERIMENTS = sorted(glob.glob(os.path.join(ROOT, "experiments", "*.py")))
PRESETS = {"default.py": ["quick"], "mitbih_binary.py": ["quick", "noise", "quick,noise"], "ptbxl_binary.py": ["quick"],
           "kd_sensitivity.py": ["quick", "synthetic"], "bench_jit_vs_qiskit.py": ["quick", "large"],
           "bench_multiseed.py": ["quick"], "bench_sharding.py": ["quick"], "data_summary.py": ["mitbih", "ptbxl", "wfdb_folder"],
           "xor_c2q.py": ["quick", "sweep"], "qvit_medmnist.py": ["quick", "cpu"]}

sys.path.insert(0, ROOT)
import launch  # noqa: E402  (the launcher is a script at the repository root)

sys.path.pop(0)


def _specs():
    for path in EXPERIMENTS:
        name = os.path.basename(path)
        yield name
        yield from (f"{name}:{preset}" for preset in PRESETS.get(name, []))


@pytest.mark.parametrize("spec", list(_specs()))
def test_every_field_is_documented_by_full_path(spec):
    name, _, preset = spec.partition(":")
    config = launch._load_config(os.path.join(ROOT, "experiments", name) + (f":{preset}" if preset else ""))
    assert config.study in STUDIES.names()
    undocumented = [p for p, _, doc in describe(config) if not doc]
    assert not undocumented, f"{spec}: undocumented fields {undocumented}"
    docs = STUDIES.get(config.study).docs(config)
    stale = sorted(set(docs) - {p for p, _ in leaves(config)})
    assert not stale, f"{spec}: help for fields the config does not have: {stale}"


def test_each_field_shows_the_help_of_its_own_layer():
    from ecgq.data.config import COMMON_DOCS
    from ecgq.distill.config import FIELD_DOCS as DISTILL_DOCS
    from ecgq.models import model_spec
    from ecgq.models.teacher import ADAPTER_DOCS

    config = launch._load_config(os.path.join(ROOT, "experiments", "default.py"))
    docs = dict((p, d) for p, _, d in describe(config))
    assert docs["teacher.sampling_rate"] == ADAPTER_DOCS["sampling_rate"]
    assert docs["data.sampling_rate"] == COMMON_DOCS["sampling_rate"]
    assert docs["teacher.normalize"] == ADAPTER_DOCS["normalize"] and "window" not in docs["teacher.normalize"]
    assert docs["distill.cache_dir"] == DISTILL_DOCS["cache_dir"]
    assert docs["students.ae_vqc.window_length"] == model_spec("ae_vqc").docs["window_length"]
    assert docs["data.window_length"] == COMMON_DOCS["window_length"]
    assert docs["students.cnn1d.kernel_sizes"] != docs["students.resnet1d.kernel_sizes"]


def test_helpfull_lists_config_fields():
    out = subprocess.run(
        [sys.executable, "launch.py", "--config=experiments/data_summary.py", "--helpfull"],
        cwd=ROOT, capture_output=True, text=True,  # absl exits 1 after printing help
    ).stdout
    assert "--config.data.name" in out and "--config.data.synthetic.n_train" in out
    assert "UNDOCUMENTED" not in out


def _launch(*args: str, workdir: str, config: str = "experiments/default.py:quick"):
    began = time.time()
    result = subprocess.run([sys.executable, "launch.py", f"--config={config}", f"--workdir={workdir}", *args],
                            cwd=ROOT, capture_output=True, text=True, timeout=120,
                            env=dict(os.environ, JAX_PLATFORMS="cpu"))
    return result, time.time() - began


def _error_lines(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("error:")]


@pytest.fixture(scope="module")
def empty_labels_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("empty_labels")
    (folder / "labels.csv").write_text("")
    return folder


PROBES = {
    "unknown task": (["--config.data.task=nope"], "--config.data.task"),
    "unknown student": (["--config.student_names=cnn1d,nope"], "student_names"),
    "missing data folder": (["--config.data.name=wfdb_folder", "--config.data.data_dir=/no/such/folder"],
                            "/no/such/folder"),
    "unknown field": (["--config.students.foo=1"], "--config.students.foo"),
    "negative epochs": (["--config.teacher.train.epochs=-1"], "--config.teacher.train.epochs"),
    "zero batch size": (["--config.students.cnn1d.train.batch_size=0"], "--config.students.cnn1d.train.batch_size"),
    "unknown dataset": (["--config.data.name=nope"], "--config.data.name"),
    "bad alpha": (["--config.distill.alphas=(2.0,)"], "--config.distill.alphas"),
    "circuit too small for the latent": (["--config.students.ae_vqc.latent_dim=4"], "latent_dim"),
    "rr without beats": (["--config.use_rr=True"], "use_rr"),
    "unknown rr feature": (["--config.rr_features=pre_rr,heart_rate"], "--config.rr_features"),
    "mesh beyond the devices": (["--config.mesh.data=2"], "--config.mesh.data=2 exceeds the 1 device"),
    "negative mesh size": (["--config.mesh.members=-1"], "--config.mesh.members"),
    "process id beyond the processes": (["--num_processes=2", "--process_id=5"], "--process_id=5"),
}


@pytest.mark.parametrize("probe", sorted(PROBES))
def test_user_errors_are_one_line_exit_2_within_seconds(probe, tmp_path):
    args, named = PROBES[probe]
    result, seconds = _launch(*args, workdir=str(tmp_path / "w"))
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    lines = _error_lines(result)
    assert len(lines) == 1 and named in lines[0], result.stderr[-2000:]
    assert seconds < 10 + 20  # 10 s on an idle machine; slack for a loaded 2-core CI runner
    assert not (tmp_path / "w" / "config.json").exists()


def test_unwritable_workdir_is_one_line_exit_2(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    result, _ = _launch(workdir=str(blocker / "sub"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert len(_error_lines(result)) == 1 and "--workdir" in _error_lines(result)[0]


def test_empty_labels_csv_is_one_line(tmp_path, empty_labels_folder):
    result, _ = _launch("--config.data.name=wfdb_folder", f"--config.data.data_dir={empty_labels_folder}",
                        workdir=str(tmp_path / "w"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    lines = _error_lines(result)
    assert len(lines) == 1 and "labels.csv" in lines[0], result.stderr[-2000:]


def test_unknown_preset_and_config_file(tmp_path):
    result, _ = _launch(workdir=str(tmp_path / "w"), config="experiments/nope.py")
    assert result.returncode == 2 and "no config file" in result.stderr
    result, _ = _launch(workdir=str(tmp_path / "w"), config="experiments/default.py:nope")
    assert result.returncode == 2 and len(_error_lines(result)) == 1 and "nope" in result.stderr
