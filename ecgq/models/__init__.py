"""Flax Linen models of ecgq: the ECGFounder teacher (with PyTorch weight import) and the students.

Inputs are channels-last ``(batch, time, leads)``; every module is called as
``module(x, rr=None, *, train=False)``. Each model registers itself in its own module
(``MODELS``); ``create(name, input_shape=..., n_outputs=...)`` builds any of them for scripts.
See ``docs/CONTRACTS.md``.
"""

from ecgq.models.registry import (
    MODELS,
    InputView,
    ModelSpec,
    build_model,
    count_params,
    create,
    model_config,
    model_spec,
    sized_input_shape,
    trainable_mask,
)

__all__ = ["MODELS", "InputView", "ModelSpec", "build_model", "count_params", "create", "model_config",
           "model_spec", "sized_input_shape", "trainable_mask"]
