"""One call, every backend: ``circuit_function(spec, backend)(inputs, weights) -> outputs``.

Why a registry: models pick a backend by name in their config and must not import PennyLane
devices or Qiskit unless asked to; each backend module is imported lazily here.
"""

from __future__ import annotations

from collections.abc import Callable

from ecgq.quantum.circuits import CircuitSpec

BACKENDS = ("jax", "default.qubit", "lightning.qubit", "lightning.gpu", "qiskit")


def circuit_function(spec: CircuitSpec, backend: str = "jax", *, method: str = "auto",
                     diff_method: str = "auto") -> Callable:
    """``f(inputs, weights)`` evaluating ``spec`` on ``backend``; differentiable with JAX.

    ``inputs`` are ``(n_features,)`` or ``(batch, n_features)``; the result has the inputs' leading
    shape and ``spec.n_outputs`` trailing values. ``method`` tunes the jax simulator,
    ``diff_method`` the PennyLane QNodes.
    """
    if backend == "jax":
        from ecgq.quantum import jax_sim

        return lambda inputs, weights: jax_sim.simulate(spec, inputs, weights, method)
    if backend in ("default.qubit", "lightning.qubit", "lightning.gpu"):
        from ecgq.quantum import pennylane_backend

        return pennylane_backend.circuit_function(spec, backend, diff_method=diff_method)
    if backend == "qiskit":
        from ecgq.quantum import qiskit_backend

        return qiskit_backend.circuit_function(spec)
    raise ValueError(f"unknown quantum backend {backend!r}; choose one of {BACKENDS}")
