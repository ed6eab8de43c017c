"""Models by name: build from a config, count parameters, and say which parameters train."""

from __future__ import annotations

import jax
import ml_collections
import numpy as np

from ecgq.models import cnn1d, resnet1d

MODEL_NAMES = ("ecgfounder", "ecgfounder_small", "resnet1d", "cnn1d", "ae_vqc")
TEACHER_NAMES = ("ecgfounder", "ecgfounder_small")
# Shape (time, leads) each model is profiled on by default: 10 s of 12-lead ECG at 500 Hz for the
# released teacher, one 256-sample single-lead window for everything trained in this project.
DEFAULT_INPUT_SHAPES = {"ecgfounder": (5000, 12), "ecgfounder_small": (256, 1),
                        "resnet1d": (256, 1), "cnn1d": (256, 1), "ae_vqc": (256, 1)}
DEFAULT_N_OUTPUTS = {"ecgfounder": 150}
QUANTUM_PREFIX = "quantum_"


def build_net1d(model_cfg: ml_collections.ConfigDict, n_outputs: int):
    """A Net1D (ECGFounder family) from the architecture fields of a teacher config."""
    from ecgq.models.ecgfounder import Net1D  # not at import: ``-m ecgq.models.ecgfounder`` runs it

    return Net1D(
        n_classes=n_outputs,
        base_filters=model_cfg.base_filters,
        ratio=model_cfg.ratio,
        filter_list=tuple(model_cfg.filter_list),
        m_blocks_list=tuple(model_cfg.m_blocks_list),
        kernel_size=model_cfg.kernel_size,
        stride=model_cfg.stride,
        groups_width=model_cfg.groups_width,
        use_bn=model_cfg.use_bn,
        use_do=model_cfg.use_do,
    )


def build_model(name: str, model_cfg: ml_collections.ConfigDict, n_outputs: int,
                quantum_cfg: ml_collections.ConfigDict | None = None):
    """The Flax module ``name`` configured by ``model_cfg`` (see :func:`ecgq.models.config.model_config`).

    Every module is called as ``module(x, rr=None, *, train=False)`` with ``x`` of shape
    ``(batch, time, leads)`` and returns logits ``(batch, n_outputs)``. ``quantum_cfg`` configures
    the VQC of ``ae_vqc`` (default: :func:`ecgq.quantum.config.quantum_config`).
    """
    if n_outputs < 1:
        raise ValueError(f"n_outputs must be positive, got {n_outputs}")
    if name in TEACHER_NAMES:
        return build_net1d(model_cfg, n_outputs)
    if name == "resnet1d":
        return resnet1d.ResNet1D(
            n_outputs=n_outputs,
            stem_features=model_cfg.stem_features,
            stem_kernel=model_cfg.stem_kernel,
            stage_features=tuple(model_cfg.stage_features),
            blocks_per_stage=tuple(model_cfg.blocks_per_stage),
            stage_strides=tuple(model_cfg.stage_strides),
            kernel_sizes=tuple(model_cfg.kernel_sizes),
            dropout=model_cfg.dropout,
        )
    if name == "cnn1d":
        return cnn1d.CNN1D(
            n_outputs=n_outputs,
            features=tuple(model_cfg.features),
            kernel_sizes=tuple(model_cfg.kernel_sizes),
            pool_size=model_cfg.pool_size,
            hidden=model_cfg.hidden,
            dropout=model_cfg.dropout,
        )
    if name == "ae_vqc":
        from ecgq.models import ae_vqc  # imports the quantum layer only when asked for

        return ae_vqc.build(model_cfg, n_outputs, quantum_cfg)
    raise ValueError(f"unknown model {name!r}; choose one of {MODEL_NAMES}")


def _is_quantum(path) -> bool:
    last = path[-1]
    name = getattr(last, "key", getattr(last, "name", str(last)))
    return str(name).startswith(QUANTUM_PREFIX)


def count_params(variables) -> dict[str, int]:
    """Trainable parameter counts split by name: leaves named ``quantum_*`` are quantum.

    Only the ``params`` collection counts (BatchNorm statistics are not parameters).
    """
    params = variables.get("params", variables) if hasattr(variables, "get") else variables
    counts = {"classical": 0, "quantum": 0}
    for path, leaf in jax.tree_util.tree_flatten_with_path(params)[0]:
        counts["quantum" if _is_quantum(path) else "classical"] += int(np.prod(np.shape(leaf)))
    return counts


def trainable_mask(name: str, model_cfg: ml_collections.ConfigDict, params):
    """Pytree of bools over ``params``: True where the parameter trains (for ``optax.masked`` etc.).

    Teachers follow ``model_cfg.finetune``; ``ae_vqc`` freezes the autoencoder when
    ``model_cfg.freeze_encoder`` (stop_gradient alone would still let weight decay shrink it);
    every other student trains everything.
    """
    if name in TEACHER_NAMES:
        from ecgq.models import teacher

        return teacher.finetune_mask(params, model_cfg.finetune, model_cfg.last_k)
    if name == "ae_vqc":
        from ecgq.models import ae_vqc

        return ae_vqc.trainable_mask(params, model_cfg.freeze_encoder)
    if name not in MODEL_NAMES:
        raise ValueError(f"unknown model {name!r}; choose one of {MODEL_NAMES}")
    return jax.tree.map(lambda _: True, params)
