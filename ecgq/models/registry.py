"""Models by name: each model module registers a :class:`ModelSpec`; build, create and count here.

A model is one module under ``ecgq/models/`` ending in ``MODELS.register(ModelSpec(...))``: its
role (teacher or student), whether it is quantum, its config builder with the help of every field,
how to build the Flax module, and (optionally) which parameters train, how it sizes itself from the
data and what it checks before a study trains anything.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from ecgq.configs import apply_overrides
from ecgq.errors import ConfigError
from ecgq.registry import Registry

QUANTUM_PREFIX = "quantum_"
ROLES = ("teacher", "student")
FAMILIES = ("classical", "quantum")


@dataclasses.dataclass(frozen=True)
class InputView:
    """What a model may know of the data it will see: window length, lead names, sampling rate.

    Images (``ecgq.data.medmnist``) keep the same view: ``length`` is the height, ``leads`` name the
    colour channels and ``dims`` is the whole example shape ``(height, width, channels)``; windows
    leave ``dims`` empty and their shape is ``(length, leads)``.
    """

    length: int
    leads: tuple[str, ...]
    sampling_rate: float = 0.0
    dims: tuple[int, ...] = ()

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.dims) if self.dims else (self.length, len(self.leads))


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """One registered model.

    ``build(cfg, n_outputs, quantum_cfg) -> nn.Module`` called as ``module(x, rr=None, *,
    train=False)``. ``fit_to_data(cfg, view, where)`` fills the size fields left at 0 / '' from
    the data and raises ``ConfigError`` (naming ``where.<field>``) when the data cannot feed the
    model; ``input_shape(cfg, view)`` is the shape the model then sees (teachers resample and
    crop). ``check(cfg, quantum_cfg, where)`` validates what needs no data. ``trainable(cfg,
    params)`` is a bool pytree of the parameters that train (default: all). ``pretraining`` names
    a stage the study runs first ('autoencoder'); ``student_train`` are train-config values the
    model needs when it is a student. ``example_view(cfg, input_shape)`` is the data
    :func:`create` assumes when a script gives only a shape (default: leads ``lead0..``, rate
    unknown); a teacher assumes its own leads and rate. ``adapt_inputs(x, lead_names,
    sampling_rate, cfg)`` brings a split's windows to a teacher's own input (leads, rate, length,
    normalisation) before its logits are computed; None: the teacher takes the data as they are.
    ``inspect(module, variables, x, rr) -> dict`` describes a *trained* member on real windows
    beyond its logits: ``operations`` (``ecgq.eval.op_energy.energy_estimate`` of the ACs / MACs it
    would perform; default: its dense XLA FLOPs), ``spike_rate``, learned structure to plot
    (``entanglement``) and anything else JSON-able the report keeps per run.
    """

    name: str
    role: str
    family: str
    description: str
    config: Callable[[], ml_collections.ConfigDict]
    docs: Mapping[str, str]
    build: Callable[..., Any]
    default_input_shape: tuple[int, ...] = (256, 1)
    default_n_outputs: int = 2
    trainable: Callable[[ml_collections.ConfigDict, Any], Any] | None = None
    fit_to_data: Callable[[ml_collections.ConfigDict, InputView, str], None] | None = None
    input_shape: Callable[[ml_collections.ConfigDict, InputView], tuple[int, ...]] | None = None
    check: Callable[[ml_collections.ConfigDict, Any, str], None] | None = None
    example_view: Callable[[ml_collections.ConfigDict, tuple[int, ...]], InputView] | None = None
    pretraining: str = ""
    student_train: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    uses_quantum: bool = False
    control: str = ""
    adapt_inputs: Callable[[np.ndarray, tuple[str, ...], float, ml_collections.ConfigDict], np.ndarray] | None = None
    inspect: Callable[..., dict] | None = None

    def __post_init__(self):
        if self.role not in ROLES or self.family not in FAMILIES:
            raise ValueError(f"model {self.name!r}: role must be in {ROLES}, family in {FAMILIES}")


MODELS: Registry[ModelSpec] = Registry("model", "ecgq.models")
_NOT_CONFIG = ("parent", "name", "n_outputs", "n_classes")


def module_fields(module_cls) -> dict[str, Any]:
    """Hyperparameters of a Flax module class with their defaults (sequences as tuples)."""
    out = {}
    for field in dataclasses.fields(module_cls):
        if field.name in _NOT_CONFIG or field.default is dataclasses.MISSING:
            continue
        out[field.name] = tuple(field.default) if isinstance(field.default, list) else field.default
    return out


def config_of(module_cls, **values) -> ml_collections.ConfigDict:
    """A model config holding every hyperparameter of ``module_cls`` (``values`` change defaults)."""
    fields = module_fields(module_cls)
    unknown = set(values) - set(fields)
    if unknown:
        raise ValueError(f"{module_cls.__name__} has no field(s) {sorted(unknown)}")
    return ml_collections.ConfigDict({**fields, **values})


def module_from_config(module_cls, cfg: ml_collections.ConfigDict, **fixed):
    """``module_cls(**fixed, **hyperparameters read from cfg)``; ``fixed`` wins, sequences become tuples."""
    kwargs = {key: tuple(cfg[key]) if isinstance(cfg[key], (list, tuple)) else cfg[key]
              for key in module_fields(module_cls) if key in cfg and key not in fixed}
    return module_cls(**fixed, **kwargs)


def follow_data_leads(cfg: ml_collections.ConfigDict, view: InputView, where: str) -> int:
    """``cfg.n_leads`` from the data when left at 0, or a ``ConfigError`` naming ``where.n_leads``
    when it was set and the data disagree; returns the number of leads."""
    leads = len(view.leads)
    if not cfg.n_leads:
        cfg.n_leads = leads
    elif int(cfg.n_leads) != leads:
        raise ConfigError(f"--config.{where}.n_leads={cfg.n_leads} but the data's windows have "
                          f"{leads} lead(s); set it to 0 to follow the data.")
    return leads


def model_spec(name: str, field: str | None = None) -> ModelSpec:
    return MODELS.get(name, field)


def model_config(name: str) -> ml_collections.ConfigDict:
    """Every field the builder of model ``name`` reads, with its default."""
    return model_spec(name).config()


def build_model(name: str, model_cfg: ml_collections.ConfigDict, n_outputs: int,
                quantum_cfg: ml_collections.ConfigDict | None = None):
    """The Flax module ``name`` configured by ``model_cfg`` (see :func:`model_config`).

    Every module is called as ``module(x, rr=None, *, train=False)`` with ``x`` of shape
    ``(batch, time, leads)`` and returns logits ``(batch, n_outputs)``. ``quantum_cfg``
    configures the circuit of quantum models (default: the quantum layer's defaults).
    """
    if n_outputs < 1:
        raise ConfigError(f"n_outputs must be positive, got {n_outputs}")
    return model_spec(name).build(model_cfg, n_outputs, quantum_cfg)


def sized_input_shape(name: str, model_cfg: ml_collections.ConfigDict, view: InputView) -> tuple[int, ...]:
    spec = model_spec(name)
    return tuple(spec.input_shape(model_cfg, view)) if spec.input_shape else view.shape


def create(name: str, *, input_shape: Sequence[int], n_outputs: int, seed: int = 0,
           quantum: ml_collections.ConfigDict | None = None, rr_dim: int | None = None,
           leads: Sequence[str] | None = None, input_rate: float | None = None, **overrides):
    """``(module, variables)`` of model ``name`` for scripts and notebooks.

    ``input_shape`` is ``(time, leads)``; ``overrides`` are fields of the model's config
    (``create("cnn1d", input_shape=(256, 1), n_outputs=2, hidden=16)``). Size fields left at their
    automatic value are taken from ``input_shape`` as a study would. ``module.apply(variables, x,
    rr=None, train=False)`` returns logits. ``leads`` / ``input_rate`` (Hz) describe the input where
    the model cares (teachers select leads by name and resample); by default the input is taken to
    be what the model expects.
    """
    spec = model_spec(name)
    cfg = spec.config()
    apply_overrides(cfg, overrides, what=f"model {name!r}")
    shape = tuple(int(s) for s in input_shape)
    view = (spec.example_view(cfg, shape) if spec.example_view is not None
            else InputView(shape[0], tuple(f"lead{i}" for i in range(shape[-1])), 0.0,
                           shape if len(shape) == 3 else ()))
    if leads is not None:
        view = dataclasses.replace(view, leads=tuple(leads))
    if input_rate is not None:
        view = dataclasses.replace(view, sampling_rate=float(input_rate))
    if spec.fit_to_data is not None:
        spec.fit_to_data(cfg, view, name)
    if spec.check is not None:
        spec.check(cfg, quantum, name)
    module = build_model(name, cfg, n_outputs, quantum)
    x = jnp.zeros((1, *shape), jnp.float32)
    rr = None if rr_dim is None else jnp.zeros((1, int(rr_dim)), jnp.float32)
    variables = jax.jit(module.init)(jax.random.key(seed), x, rr)
    return module, variables


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
    """Pytree of bools over ``params``: True where the parameter trains (for ``optax.masked`` etc.)."""
    spec = model_spec(name)
    if spec.trainable is None:
        return jax.tree.map(lambda _: True, params)
    return spec.trainable(model_cfg, params)
