"""Flax Linen models of ecgq: the ECGFounder teacher (with PyTorch weight import) and the students.

Inputs are channels-last ``(batch, time, leads)``; every module is called as
``module(x, rr=None, *, train=False)``. See ``docs/CONTRACTS.md``.
"""

from ecgq.models.config import FIELD_DOCS, model_config
from ecgq.models.registry import (
    DEFAULT_INPUT_SHAPES,
    MODEL_NAMES,
    build_model,
    count_params,
    trainable_mask,
)

__all__ = [
    "DEFAULT_INPUT_SHAPES",
    "FIELD_DOCS",
    "MODEL_NAMES",
    "build_model",
    "count_params",
    "model_config",
    "trainable_mask",
]
