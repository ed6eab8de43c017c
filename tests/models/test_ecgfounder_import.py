"""The importer refuses what it cannot map faithfully, and its CLI writes a torch-free checkpoint."""

from __future__ import annotations

import json
import subprocess
import sys

import jax
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from ecgq.models import ecgfounder_import, teacher  # noqa: E402
from ecgq.models.ecgfounder_import import CheckpointError  # noqa: E402


def _resave(src, dst, edit):
    checkpoint = torch.load(src, map_location="cpu", weights_only=False)
    edit(checkpoint["state_dict"])
    torch.save(checkpoint, dst)
    return dst


def test_missing_tensor_is_named(torch_net1d_1, tmp_path):
    key = "stage_list.4.block_list.2.se_fc2.bias"
    path = _resave(torch_net1d_1[1], tmp_path / "missing.pth", lambda s: s.pop(key))
    with pytest.raises(CheckpointError, match=f"missing tensors: {key.replace('.', '[.]')}"):
        ecgfounder_import.from_torch_checkpoint(path, n_leads=1)


def test_misshaped_tensor_is_named(torch_net1d_1, tmp_path):
    key = "stage_list.2.block_list.0.conv2.conv.weight"

    def shrink(state):
        state[key] = state[key][:, :, :15].clone()  # kernel 15 instead of 16

    path = _resave(torch_net1d_1[1], tmp_path / "misshaped.pth", shrink)
    with pytest.raises(CheckpointError, match=r"mis-shaped tensors: stage_list\.2\.block_list\.0"
                                              r"\.conv2\.conv\.weight: checkpoint \(160, 16, 15\)"):
        ecgfounder_import.from_torch_checkpoint(path, n_leads=1)


def test_wrong_lead_count_is_refused(torch_net1d_1):
    with pytest.raises(CheckpointError, match="first_conv.conv.weight has 1 input leads"):
        ecgfounder_import.from_torch_checkpoint(torch_net1d_1[1], n_leads=12)


def test_file_that_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "notes.pth"
    path.write_text("this is not a checkpoint\n")
    with pytest.raises(CheckpointError, match="not a readable PyTorch checkpoint"):
        ecgfounder_import.from_torch_checkpoint(path)


def test_checkpoint_without_state_dict(tmp_path):
    path = tmp_path / "list.pth"
    torch.save([1, 2, 3], path)
    with pytest.raises(CheckpointError, match="holds no state_dict"):
        ecgfounder_import.from_torch_checkpoint(path)


def test_unused_batchnorm_entries_are_ignored_but_foreign_tensors_refused(torch_net1d_1, tmp_path):
    state = ecgfounder_import.read_torch_state_dict(torch_net1d_1[1])
    assert any(".bn1." in k for k in state) and "first_bn.running_var" in state
    path = _resave(torch_net1d_1[1], tmp_path / "extra.pth",
                   lambda s: s.__setitem__("head2.weight", torch.zeros(3, 3)))
    with pytest.raises(CheckpointError, match="unexpected tensors: head2.weight"):
        ecgfounder_import.from_torch_checkpoint(path, n_leads=1)


def test_cli_converts_to_orbax(torch_net1d_1, tmp_path):
    out = tmp_path / "converted"
    result = subprocess.run(
        [sys.executable, "-m", "ecgq.models.ecgfounder_import", f"--checkpoint={torch_net1d_1[1]}",
         f"--output_dir={out}", "--n_leads=1"],
        capture_output=True, text=True, check=True)
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["n_classes"] == 150 and report["n_leads"] == 1
    module, variables = ecgfounder_import.load_converted(out)
    reference = ecgfounder_import.read_torch_state_dict(torch_net1d_1[1])
    np.testing.assert_array_equal(np.asarray(variables["params"]["dense"]["kernel"]),
                                  reference["dense.weight"].T)
    # The 1-lead first convolution (kernel 16, 64 filters) reads 11 leads fewer than the 12-lead one.
    assert module.n_classes == 150 and report["params"] == 30_752_646 - 11 * 16 * 64
    # The teacher reads a converted folder like a .pth (no torch needed): same backbone, new head.
    cfg = teacher.released_config()
    cfg.checkpoint, cfg.n_leads, cfg.lead_order = str(out), 1, "II"
    _, loaded = teacher.load_teacher(cfg, n_outputs=2, key=jax.random.key(0))
    assert loaded["params"]["dense"]["kernel"].shape == (1024, 2)
    np.testing.assert_array_equal(np.asarray(loaded["params"]["first_conv"]["conv"]["kernel"]),
                                  reference["first_conv.conv.weight"].transpose(2, 1, 0))


def test_load_converted_refuses_a_folder_without_metadata(tmp_path):
    with pytest.raises(CheckpointError, match="is not a converted ECGFounder checkpoint"):
        ecgfounder_import.load_converted(tmp_path)


def test_cli_refuses_a_missing_file_before_writing(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        ecgfounder_import.run_cli([f"--checkpoint={tmp_path / 'none.pth'}",
                                   f"--output_dir={tmp_path / 'out'}", "--n_leads=1"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: --checkpoint=") and "none.pth" in err[0]
    assert not (tmp_path / "out").exists()


def test_numpy_values_pickled_under_numpy_1_names_are_allowed(tmp_path):
    # Files written under numpy 1.x name the scalar rebuilder numpy.core.multiarray.scalar.
    import io

    buffer = io.BytesIO()
    torch.save({"state_dict": {"dense.weight": torch.ones(2, 3)}, "val_auroc": np.float64(0.9)},
               buffer, _use_new_zipfile_serialization=False)
    data = buffer.getvalue()
    assert b"numpy._core.multiarray" in data
    path = tmp_path / "numpy1.pth"
    path.write_bytes(data.replace(b"numpy._core.multiarray", b"numpy.core.multiarray"))
    state = ecgfounder_import.read_torch_state_dict(path)
    np.testing.assert_array_equal(state["dense.weight"], np.ones((2, 3), np.float32))
