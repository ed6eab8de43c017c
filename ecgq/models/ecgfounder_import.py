"""Import released ECGFounder PyTorch weights into the Flax :class:`~ecgq.models.ecgfounder.Net1D`.

Why a separate module: torch is an optional extra. Nothing here imports torch at module level; only
:func:`read_torch_state_dict` does, so converted Orbax checkpoints load on machines without torch.

The released ``.pth`` files hold ``{"state_dict": ..., "epoch", "step", "val_auroc", ...}``, where
the metric is a numpy float64. ``torch.load(weights_only=True)`` refuses arbitrary globals, so the
numpy scalar-reconstruction types are allow-listed -- exactly those, nothing else.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import re
import sys
from collections.abc import Mapping

import jax
import jax.numpy as jnp
import numpy as np

from ecgq.errors import UserError
from ecgq.models import ecgfounder

METADATA_FILE = "ecgfounder.json"
PARAMS_DIR = "params"
_INDEXED = re.compile(r"^(stage_list|block_list)_(\d+)$")
# BatchNorm statistics/affines the released config (use_bn=False) never uses.
_UNUSED_BN = re.compile(r"(^|\.)(first_bn|bn[123])\.(weight|bias|running_mean|running_var|num_batches_tracked)$")


class CheckpointError(UserError):
    """The file is not a usable ECGFounder checkpoint (format, missing or mis-shaped tensors)."""


def _numpy_safe_globals() -> list:
    """The numpy types a released checkpoint pickles beside its tensors (a numpy float64 metric).

    ``numpy.core.multiarray.scalar`` (files written under numpy 1.x) and its numpy 2 home
    ``numpy._core.multiarray.scalar`` rebuild the scalar; ``numpy.dtype`` and the float64 dtype
    class describe it.
    """
    from numpy._core import multiarray

    return [
        multiarray.scalar,
        (multiarray.scalar, "numpy.core.multiarray.scalar"),
        np.dtype,
        np.dtypes.Float64DType,
    ]


def read_torch_state_dict(path: str | pathlib.Path) -> dict[str, np.ndarray]:
    """The checkpoint's ``state_dict`` as float32 numpy arrays, ``module.`` prefixes removed."""
    try:
        import torch
    except ImportError as error:  # pragma: no cover - depends on the installation
        raise ImportError("reading a PyTorch checkpoint needs torch: pip install 'ecgq[torch]'") from error

    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint file at {path}")
    try:
        with torch.serialization.safe_globals(_numpy_safe_globals()):
            loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises several types for a file that is not a checkpoint
        raise CheckpointError(f"{path} is not a readable PyTorch checkpoint: {error}") from error

    state = loaded.get("state_dict", loaded) if isinstance(loaded, Mapping) else None
    if not isinstance(state, Mapping) or not state:
        raise CheckpointError(f"{path} holds no state_dict (found {type(loaded).__name__})")
    arrays = {}
    for key, value in state.items():
        if not isinstance(value, torch.Tensor):
            raise CheckpointError(f"{path}: state_dict entry {key!r} is {type(value).__name__}, "
                                  "not a tensor")
        name = key[len("module."):] if key.startswith("module.") else key
        arrays[name] = value.detach().to(torch.float32).numpy()
    return arrays


def torch_key(flax_path: tuple[str, ...]) -> str:
    """``('stage_list_3', 'block_list_1', 'conv2', 'conv', 'kernel')`` -> the PyTorch key."""
    parts = []
    for part in flax_path[:-1]:
        match = _INDEXED.match(part)
        parts.extend(match.groups() if match else (part,))
    leaf = {"kernel": "weight", "bias": "bias"}[flax_path[-1]]
    return ".".join(parts + [leaf])


def to_flax_layout(array: np.ndarray) -> np.ndarray:
    """Conv ``(out, in/groups, k)`` -> ``(k, in/groups, out)``; Linear ``(out, in)`` -> ``(in, out)``."""
    if array.ndim == 3:
        return np.transpose(array, (2, 1, 0))
    if array.ndim == 2:
        return array.T
    return array


def convert_state_dict(state: Mapping[str, np.ndarray], module: ecgfounder.Net1D,
                       n_leads: int) -> dict:
    """Flax variables for ``module`` from a (prefix-free) state_dict; refuses any mismatch."""
    abstract = jax.eval_shape(module.init, jax.random.key(0),
                              jnp.zeros((1, ecgfounder.RELEASED_INPUT_LENGTH, n_leads)))
    flat = jax.tree_util.tree_flatten_with_path(abstract["params"])[0]
    params, missing, misshaped, used = {}, [], [], set()
    for key_path, leaf in flat:
        names = tuple(k.key for k in key_path)
        key = torch_key(names)
        if key not in state:
            missing.append(key)
            continue
        used.add(key)
        value = to_flax_layout(state[key])
        if value.shape != leaf.shape:
            misshaped.append(f"{key}: checkpoint {tuple(state[key].shape)}, model expects "
                             f"{_torch_shape(leaf.shape)}")
            continue
        node = params
        for name in names[:-1]:
            node = node.setdefault(name, {})
        node[names[-1]] = jnp.asarray(value, dtype=jnp.float32)
    unexpected = sorted(k for k in state if k not in used and not _UNUSED_BN.search(k))
    problems = []
    if missing:
        problems.append(f"missing tensors: {', '.join(missing)}")
    if misshaped:
        problems.append(f"mis-shaped tensors: {'; '.join(misshaped)}")
    if unexpected:
        problems.append(f"unexpected tensors: {', '.join(unexpected)}")
    if problems:
        raise CheckpointError(f"checkpoint does not fit Net1D with {n_leads} leads: "
                              + " | ".join(problems))
    return {"params": params}


def _torch_shape(flax_shape: tuple[int, ...]) -> tuple[int, ...]:
    """The PyTorch shape of a tensor whose Flax shape is ``flax_shape`` (for error messages)."""
    if len(flax_shape) == 3:
        return (flax_shape[2], flax_shape[1], flax_shape[0])
    if len(flax_shape) == 2:
        return (flax_shape[1], flax_shape[0])
    return tuple(flax_shape)


def from_torch_checkpoint(path, n_leads: int = 12):
    """``(module, variables)`` for a released ECGFounder checkpoint (12- or 1-lead).

    The number of classes is read from the checkpoint's head (150 for the released files).
    """
    state = read_torch_state_dict(path)
    if "dense.weight" not in state:
        raise CheckpointError(f"{path}: missing tensors: dense.weight")
    first = state.get("first_conv.conv.weight")
    if first is not None and first.shape[1] != n_leads:
        raise CheckpointError(f"{path}: mis-shaped tensors: first_conv.conv.weight has "
                              f"{first.shape[1]} input leads, n_leads={n_leads} was requested")
    module = ecgfounder.released_net1d(n_classes=int(state["dense.weight"].shape[0]))
    return module, convert_state_dict(state, module, n_leads)


def save_converted(variables, module: ecgfounder.Net1D, n_leads: int,
                   output_dir: str | pathlib.Path) -> pathlib.Path:
    """Write ``variables`` as an Orbax checkpoint plus a JSON description of the architecture."""
    import orbax.checkpoint as ocp

    output_dir = pathlib.Path(output_dir).resolve()
    output_dir.mkdir(parents=True, exist_ok=True)
    checkpointer = ocp.StandardCheckpointer()
    checkpointer.save(output_dir / PARAMS_DIR, variables, force=True)
    checkpointer.wait_until_finished()
    metadata = {
        "n_leads": n_leads,
        "n_classes": module.n_classes,
        "arch": {k: list(v) if isinstance(v, tuple) else v for k, v in ecgfounder.RELEASED_ARCH.items()},
        "input_length": ecgfounder.RELEASED_INPUT_LENGTH,
        "sampling_rate": ecgfounder.RELEASED_SAMPLING_RATE,
    }
    (output_dir / METADATA_FILE).write_text(json.dumps(metadata, indent=2))
    return output_dir


def load_converted(directory: str | pathlib.Path):
    """``(module, variables)`` from a directory written by :func:`save_converted` (no torch needed)."""
    import orbax.checkpoint as ocp

    directory = pathlib.Path(directory).resolve()
    meta_path = directory / METADATA_FILE
    if not meta_path.is_file():
        raise CheckpointError(f"{directory} is not a converted ECGFounder checkpoint "
                              f"(no {METADATA_FILE})")
    metadata = json.loads(meta_path.read_text())
    arch = {k: tuple(v) if isinstance(v, list) else v for k, v in metadata["arch"].items()}
    module = ecgfounder.Net1D(n_classes=metadata["n_classes"], **arch)
    abstract = jax.eval_shape(module.init, jax.random.key(0),
                              jnp.zeros((1, metadata["input_length"], metadata["n_leads"])))
    variables = ocp.StandardCheckpointer().restore(directory / PARAMS_DIR, abstract)
    return module, variables


def run_cli(argv: list[str] | None = None) -> None:
    """``python -m ecgq.models.ecgfounder_import --checkpoint=PATH --output_dir=DIR [--n_leads=12]``."""
    parser = argparse.ArgumentParser(
        prog="python -m ecgq.models.ecgfounder_import",
        description="Convert a released ECGFounder .pth checkpoint into an Orbax checkpoint.")
    parser.add_argument("--checkpoint", required=True, help="released PyTorch .pth file")
    parser.add_argument("--output_dir", required=True, help="where to write the Orbax checkpoint")
    parser.add_argument("--n_leads", type=int, default=12, choices=(1, 12),
                        help="12 for the 12-lead model, 1 for the single-lead one")
    args = parser.parse_args(argv)
    try:
        if not pathlib.Path(args.checkpoint).is_file():
            raise CheckpointError(f"--checkpoint={args.checkpoint}: no such file; point it at a released "
                                  "ECGFounder .pth.")
        module, variables = from_torch_checkpoint(args.checkpoint, n_leads=args.n_leads)
        out = save_converted(variables, module, args.n_leads, args.output_dir)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    n_params = sum(int(np.prod(x.shape)) for x in jax.tree.leaves(variables))
    print(json.dumps({"output_dir": str(out), "n_leads": args.n_leads,
                      "n_classes": module.n_classes, "params": n_params}))


if __name__ == "__main__":
    run_cli()
