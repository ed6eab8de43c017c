"""PennyLane QNodes (JAX interface) for ``default.qubit``, ``lightning.qubit`` and ``lightning.gpu``.

Why these choices:
- ``default.qubit`` is written in the array library itself, so with ``diff_method="backprop"`` the
  QNode is an ordinary JAX function: it is vmapped over the batch and jitted with the caller (the
  configuration the issue measured as PennyLane's best on CPU).
- The lightning devices are C++; PennyLane reaches them from jitted code through
  ``jax.pure_callback`` (the ``"jax-jit"`` interface) and differentiates them with the adjoint
  method, returning vector-Jacobian products straight from the device (``device_vjp=True``), the
  cheapest gradient they offer. The batch is vmapped, one tape per sample: handing lightning a
  parameter-broadcast tape instead is much slower for the gradient and runs out of memory at
  large batches, since adjoint expands broadcasts and differentiates the broadcast inputs too. Adjoint supports only expectation values of gate
  circuits; probabilities and amplitude encoding fall back to parameter shift.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import pennylane as qml

from ecgq.quantum.circuits import CircuitSpec, check_inputs, quantum_function

PENNYLANE_DEVICES = ("default.qubit", "lightning.qubit", "lightning.gpu")


def make_device(name: str, n_qubits: int):
    """A PennyLane device, failing with instructions when a plugin or GPU is missing."""
    if name not in PENNYLANE_DEVICES:
        raise ValueError(f"unknown PennyLane device {name!r}; choose one of {PENNYLANE_DEVICES}")
    try:
        return qml.device(name, wires=n_qubits)
    except Exception as error:  # plugin missing, or present but no CUDA device / runtime
        if name == "lightning.gpu":
            raise RuntimeError(
                "backend 'lightning.gpu' needs an NVIDIA GPU with CUDA and the "
                "pennylane-lightning-gpu plugin (pip install 'ecgq[gpu]'); "
                f"PennyLane said: {error} Use backend='jax' or 'lightning.qubit' on CPU."
            ) from error
        raise


def resolve_diff_method(device_name: str, diff_method: str, spec: CircuitSpec) -> str:
    """``auto``: backprop where the device is differentiable JAX; on the lightning devices adjoint,
    except for probabilities (adjoint supports only expectation values) and amplitude encoding
    (adjoint cannot differentiate a state preparation: it returns NaN), which use parameter shift
    on PennyLane's decomposition of the embedding."""
    if diff_method != "auto":
        return diff_method
    if device_name == "default.qubit":
        return "backprop"
    if spec.measurement != "expval" or spec.encoding == "amplitude":
        return "parameter-shift"
    return "adjoint"


def _as_array(result, spec: CircuitSpec) -> jnp.ndarray:
    """QNode results (a tuple of expectations, or one probability array) as ``(..., n_outputs)``."""
    if spec.measurement == "expval":
        return jnp.stack([jnp.asarray(r) for r in result], axis=-1)
    return jnp.asarray(result)


def make_qnode(spec: CircuitSpec, device_name: str, diff_method: str = "auto") -> qml.QNode:
    """The QNode of ``spec`` on ``device_name`` with the JAX interface."""
    device = make_device(device_name, spec.n_qubits)
    method = resolve_diff_method(device_name, diff_method, spec)
    interface = "jax" if method == "backprop" else "jax-jit"
    return qml.QNode(quantum_function(spec), device, interface=interface, diff_method=method,
                     device_vjp=method == "adjoint")


def circuit_function(spec: CircuitSpec, device_name: str, diff_method: str = "auto") -> Callable:
    """``f(inputs, weights)`` on a PennyLane device; usable under ``jax.jit`` and ``jax.grad``."""
    qnode = make_qnode(spec, device_name, diff_method)

    def single(x, weights):
        return _as_array(qnode(x, weights), spec)

    def f(inputs, weights):
        inputs = jnp.asarray(inputs)
        check_inputs(spec, inputs.shape)
        dtype = jnp.result_type(inputs.dtype, weights.dtype, jnp.float32)
        if inputs.ndim == 1:
            out = single(inputs, weights)
        else:
            out = jax.vmap(single, in_axes=(0, None))(inputs, weights)
        return out.astype(dtype)

    return f
