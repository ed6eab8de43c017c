"""Flax ``VQC`` module: a variational circuit as a layer of any Flax model.

``VQC(...)(inputs)`` maps ``(batch, n_features)`` (or ``(n_features,)``) to
``(batch, n_outputs)``. Every parameter it creates is named ``quantum_*`` so that parameter counts
split into quantum and classical by name (``ecgq.models.count_params``).

Initialisation (why): block weights are rotation angles, drawn uniformly in
``[-init_scale, init_scale]``; with the default ``pi`` every rotation of the circle is equally
likely, the usual choice for small hardware-efficient circuits (6 qubits, 3 layers are far from
the barren-plateau regime). Smaller ``init_scale`` starts near the identity block instead. The
optional input scaling starts at 1, i.e. at the plain encoding.

NISQ evaluation: ``shots > 0`` replaces exact outputs by finite-shot estimates drawn with the
``"shots"`` PRNG stream (``apply(..., rngs={"shots": key})``); ``depolarizing`` /
``amplitude_damping`` > 0 simulate noise on density matrices. Both run on the ``jax`` backend.
"""

from __future__ import annotations

import math

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections

from ecgq.quantum.backends import circuit_function
from ecgq.quantum.circuits import CircuitSpec, weight_shape

DTYPES = {"float32": jnp.float32, "float64": jnp.float64}


def uniform_angles(scale: float):
    """Initializer drawing angles uniformly in ``[-scale, scale]``."""

    def init(key, shape, dtype=jnp.float32):
        return jax.random.uniform(key, shape, dtype, minval=-scale, maxval=scale)

    return init


class VQC(nn.Module):
    """A variational quantum circuit (see :class:`ecgq.quantum.circuits.CircuitSpec` for fields)."""

    n_qubits: int = 6
    n_layers: int = 3
    encoding: str = "angle"
    rotation: str = "Y"
    block: str = "ryrz_ring"
    measurement: str = "expval"
    wires: tuple[int, ...] | None = None
    backend: str = "jax"
    method: str = "auto"
    diff_method: str = "auto"
    dtype: str = "float32"
    input_scaling: bool = False
    init_scale: float = math.pi
    shots: int = 0
    depolarizing: float = 0.0
    amplitude_damping: float = 0.0

    @property
    def spec(self) -> CircuitSpec:
        return CircuitSpec(self.n_qubits, self.n_layers, self.encoding, self.rotation, self.block,
                           self.measurement, None if self.wires is None else tuple(self.wires))

    @property
    def n_outputs(self) -> int:
        return self.spec.n_outputs

    @nn.compact
    def __call__(self, inputs: jax.Array) -> jax.Array:
        spec = self.spec
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {tuple(DTYPES)}, got {self.dtype!r}")
        dtype = DTYPES[self.dtype]
        weights = self.param("quantum_weights", uniform_angles(self.init_scale), weight_shape(spec))
        inputs = jnp.asarray(inputs)
        if self.input_scaling:
            scale = self.param("quantum_input_scaling", nn.initializers.ones, (inputs.shape[-1],))
            inputs = inputs * scale
        x, w = inputs.astype(dtype), weights.astype(dtype)
        if self.shots or self.depolarizing or self.amplitude_damping:
            from ecgq.quantum import noise

            if self.backend != "jax":
                raise ValueError("shots and noise are simulated by the 'jax' backend only, "
                                 f"got backend={self.backend!r}")
            key = self.make_rng("shots") if self.shots else None
            return noise.nisq_outputs(spec, x, w, shots=self.shots, key=key,
                                      depolarizing=self.depolarizing,
                                      amplitude_damping=self.amplitude_damping)
        fn = circuit_function(spec, self.backend, method=self.method, diff_method=self.diff_method)
        return fn(x, w).astype(dtype)


def vqc_from_config(cfg: ml_collections.ConfigDict) -> VQC:
    """A :class:`VQC` from :func:`ecgq.quantum.config.quantum_config`-shaped config."""
    wires = cfg.get("wires")
    return VQC(
        n_qubits=cfg.n_qubits, n_layers=cfg.n_layers, encoding=cfg.encoding, rotation=cfg.rotation,
        block=cfg.block, measurement=cfg.measurement,
        wires=None if wires is None else tuple(int(w) for w in wires),
        backend=cfg.backend, method=cfg.method, diff_method=cfg.diff_method, dtype=cfg.dtype,
        input_scaling=cfg.input_scaling, init_scale=cfg.init_scale, shots=cfg.shots,
        depolarizing=cfg.depolarizing, amplitude_damping=cfg.amplitude_damping,
    )


def vqc_for_circuit(spec: CircuitSpec, simulation: ml_collections.ConfigDict | None = None, *,
                    init_scale: float) -> VQC:
    """A :class:`VQC` whose circuit is a model's own (``spec``: qubits, layers, block, ...), simulated
    as the study's ``quantum`` config says (backend, method, precision, shots, noise; ``None``: the
    defaults of :func:`ecgq.quantum.config.quantum_config`, i.e. the fused JAX simulator).

    Why split: a model fixes its circuit's structure (its parameter budget depends on it), while how
    the circuit is simulated is a study-wide choice that must not change what the model is.
    """
    from ecgq.quantum.config import quantum_config

    sim = simulation if simulation is not None else quantum_config()
    return VQC(n_qubits=spec.n_qubits, n_layers=spec.n_layers, encoding=spec.encoding, rotation=spec.rotation,
               block=spec.block, measurement=spec.measurement,
               wires=None if spec.wires is None else tuple(spec.wires), backend=sim.backend, method=sim.method,
               diff_method=sim.diff_method, dtype=sim.dtype, input_scaling=False, init_scale=float(init_scale),
               shots=int(sim.shots), depolarizing=float(sim.depolarizing),
               amplitude_damping=float(sim.amplitude_damping))
