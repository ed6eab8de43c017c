"""ecgq's quantum layer: circuits written once in PennyLane, run on JAX, PennyLane or Qiskit.

Nothing here knows about ECG. Public entry points:

- :class:`VQC`, :func:`vqc_from_config`: the Flax module for models;
- :class:`CircuitSpec`, :func:`circuit_function`: a circuit and a backend-independent evaluator;
- :func:`ecgq.quantum.config.quantum_config`: the sub-config with documented fields.
"""

from ecgq.quantum.backends import BACKENDS, circuit_function
from ecgq.quantum.circuits import CircuitSpec, quantum_function, weight_shape
from ecgq.quantum.vqc import VQC, vqc_for_circuit, vqc_from_config

__all__ = ["BACKENDS", "CircuitSpec", "VQC", "circuit_function", "quantum_function",
           "vqc_for_circuit", "vqc_from_config", "weight_shape"]
