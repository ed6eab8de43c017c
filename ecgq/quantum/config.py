"""The quantum layer's sub-config: every field the VQC and its backends read, with one-line docs.

A study nests it under any name (usually ``config.quantum``) and passes it to
:func:`ecgq.quantum.vqc_from_config`.
"""

from __future__ import annotations

import math

import ml_collections
from ml_collections import config_dict

FIELD_DOCS: dict[str, str] = {
    "n_qubits": "Number of qubits (angle encodings take one input feature per qubit).",
    "n_layers": "Layers of the trainable block (data re-uploading also repeats the encoding per layer).",
    "encoding": "Input encoding: 'angle' (AngleEmbedding), 'amplitude' (AmplitudeEmbedding, up to "
                "2**n features) or 'reupload' (AngleEmbedding before every layer).",
    "rotation": "Axis of the angle encoding: 'X', 'Y' or 'Z'.",
    "block": "Trainable block: 'ryrz_ring' (RY, RZ per qubit + CNOT ring), 'basic' "
             "(BasicEntanglerLayers, RY), 'rx_ring' (BasicEntanglerLayers, RX), 'strong' "
             "(StronglyEntanglingLayers), 'su4' (a general two-qubit unitary, 15 angles, on each neighbouring "
             "pair) or 'ryrz_crx_all' (RY, RZ + a trainable CRX on every pair).",
    "measurement": "Output: 'expval' (<Z> per measured wire) or 'probs' (joint probabilities).",
    "wires": "Measured wires as a tuple (selective measurement); None measures every qubit.",
    "backend": "Simulator: 'jax' (ecgq's fused simulator), 'default.qubit', 'lightning.qubit', "
               "'lightning.gpu' or 'qiskit' (parity / benchmark only).",
    "method": "jax backend only: 'auto', 'unitary' (block unitary once per step) or 'gates'.",
    "diff_method": "PennyLane backends: QNode diff_method; 'auto' = backprop on default.qubit, "
                   "adjoint on lightning.",
    "dtype": "Simulation precision: 'float32' or 'float64' (float64 needs jax_enable_x64).",
    "input_scaling": "Learn a per-feature scale multiplying the inputs before encoding "
                     "(parameter quantum_input_scaling, initialised to 1).",
    "init_scale": "Block weights are initialised uniformly in [-init_scale, init_scale] (radians).",
    "shots": "0 = exact expectations; >0 = finite-shot estimates (needs the 'shots' PRNG stream).",
    "depolarizing": "Depolarising probability after every gate (0 = none; density-matrix path).",
    "amplitude_damping": "Amplitude damping probability after every gate (0 = none; density-matrix "
                         "path).",
}

# The benchmark study's sub-config (``config.bench`` of experiments/bench_jit_vs_qiskit.py).
BENCH_DOCS: dict[str, str] = {
    "qubits": "Qubit counts of the benchmark grid.",
    "layers": "Layer counts of the benchmark grid (RY-RZ + CNOT-ring block, RY encoding).",
    "batches": "Batch sizes of the benchmark grid.",
    "modes": "'forward' and/or 'grad' (forward + gradient of the weights).",
    "backends": "Backends to compare; unavailable ones (no GPU, no plugin) are skipped "
                      "with a note.",
    "reference": "Backend whose float64 results define max_abs_dev.",
    "dtype": "Precision of the timed JAX/PennyLane runs ('float32' or 'float64').",
    "method": "Method of the jax backend: 'auto', 'unitary' or 'gates'.",
    "repeats": "Timed repeats after the warm-up call (the median is reported).",
    "qiskit_repeats": "Timed repeats for Qiskit and the lightning devices (slow, so fewer).",
    "qiskit_max_parameter_sets": "Largest number of parameter sets (rows x shifts) sent to "
                                       "Aer per call; larger cells are measured on a sub-batch "
                                       "and extrapolated linearly (flagged).",
    "lightning_max_batch": "Largest batch run on the lightning devices (one tape per sample "
                                 "through a host callback); larger cells are extrapolated "
                                 "linearly (flagged).",
}


def bench_config() -> ml_collections.ConfigDict:
    """The full JIT-vs-Qiskit grid of issue 3, with 12 qubits from issue 14 (every available backend)."""
    c = ml_collections.ConfigDict()
    c.qubits = (4, 6, 8, 10, 12)
    c.layers = (1, 3)
    c.batches = (1, 256, 4096)
    c.modes = ("forward", "grad")
    c.backends = ("jax", "default.qubit", "lightning.qubit", "lightning.gpu", "qiskit")
    c.reference = "default.qubit"
    c.dtype = "float32"
    c.method = "auto"
    c.repeats = 5
    c.qiskit_repeats = 2
    c.qiskit_max_parameter_sets = 4096
    c.lightning_max_batch = 32
    return c


def quantum_config() -> ml_collections.ConfigDict:
    """Defaults: the seed study's 6-qubit, 3-layer RY-encoded RY-RZ ring measured in <Z>."""
    c = ml_collections.ConfigDict()
    c.n_qubits = 6
    c.n_layers = 3
    c.encoding = "angle"
    c.rotation = "Y"
    c.block = "ryrz_ring"
    c.measurement = "expval"
    c.wires = config_dict.placeholder(tuple)
    c.backend = "jax"
    c.method = "auto"
    c.diff_method = "auto"
    c.dtype = "float32"
    c.input_scaling = False
    c.init_scale = math.pi
    c.shots = 0
    c.depolarizing = 0.0
    c.amplitude_damping = 0.0
    return c


def check_quantum_config(cfg: ml_collections.ConfigDict, where: str = "quantum") -> None:
    """Validate a quantum sub-config before any circuit is built; errors name ``where.<field>``."""
    from ecgq.errors import ConfigError
    from ecgq.quantum.backends import BACKENDS
    from ecgq.quantum.circuits import CircuitSpec

    wires = cfg.get("wires")
    try:
        CircuitSpec(n_qubits=int(cfg.n_qubits), n_layers=int(cfg.n_layers), encoding=cfg.encoding,
                    rotation=cfg.rotation, block=cfg.block, measurement=cfg.measurement,
                    wires=None if wires is None else tuple(wires))
    except ValueError as error:
        raise ConfigError(f"--config.{where}: {error}") from None
    if cfg.backend not in BACKENDS:
        raise ConfigError(f"--config.{where}.backend must be one of {list(BACKENDS)}, got {cfg.backend!r}.")
    if cfg.dtype not in ("float32", "float64"):
        raise ConfigError(f"--config.{where}.dtype must be 'float32' or 'float64', got {cfg.dtype!r}.")
    if int(cfg.shots) < 0:
        raise ConfigError(f"--config.{where}.shots must be >= 0 (0 = exact), got {cfg.shots}.")
    for field in ("depolarizing", "amplitude_damping"):
        if not 0.0 <= float(cfg[field]) <= 1.0:
            raise ConfigError(f"--config.{where}.{field} is a probability in [0, 1], got {cfg[field]}.")
