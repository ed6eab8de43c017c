"""``vit`` / ``qvit`` (one attention head) and ``vit_2h`` / ``qvit_2h`` (two): the transformer students
of the QViT study (Boucher & Mazomenos, arXiv 2503.07294), on images and on ECG windows alike.

``qvit`` replaces the attention's Q, K, V and output maps (and, with ``quantum_mlp``, the MLP's
hidden map) by variational circuits of ``ecgq.quantum.VQC`` (:mod:`ecgq.models.transformer`): one
qubit per hidden dimension, RX angle encoding, ``circuit_layers`` of RX + CNOT ring, ``<Z>`` on
every qubit. The circuit's structure is the model's own config; how it is simulated (backend,
method, precision) comes from the study's ``quantum`` config, the fused JAX simulator by default.

``vit`` is its classical control of the same parameter count: with ``hidden=0`` (the default) it
takes the hidden width and MLP width whose parameter count is nearest that of the ``qvit`` with
``hidden_size`` qubits and ``circuit_layers`` layers (the fields the two share) on the same data
(computed for two outputs: the head's share differs by ``|d_qvit - d_vit|`` weights per extra
class). Equal width would give ViT ``4 d^2`` more weights per head and layer than the circuits'
``4 L d``, so the comparison would be of size, not of kind. The paper's two attention heads are the
registered ``*_2h`` variants (so a study trains both side by side); ``n_heads`` sets any number.

1-D inputs: an ECG window ``(T, L)`` is cut into ``T // patch_size`` patches of ``patch_size``
samples, so the same models are students of the ECG studies (``--config.student_names=qvit``).
"""

from __future__ import annotations

import functools
import math

import ml_collections

from ecgq.errors import ConfigError
from ecgq.models.registry import MODELS, InputView, ModelSpec
from ecgq.models.transformer import POOLINGS, CircuitMap, DenseMap, VisionTransformer

MAX_QUBITS = 12  # one qubit per hidden dimension: a 2**12 statevector per token is the most we simulate
SHARED = {"patch_size": 7, "n_heads": 1, "depth": 1, "mlp_dim": 16, "pooling": "cls", "dropout": 0.0}
QVIT = {"hidden_size": 8, "circuit_layers": 1, "rotation": "X", "block": "rx_ring", "quantum_mlp": False,
        "init_scale": math.pi}
VIT = {"hidden_size": 8, "circuit_layers": 1, "quantum_mlp": False, "hidden": 0}
STUDENT_TRAIN = {"learning_rate": 3e-3}

SHARED_DOCS = {
    "patch_size": "Patch side in pixels (images: patch_size x patch_size) or samples (ECG windows); edges that "
                  "do not fill a patch are dropped.",
    "n_heads": "Attention heads; each has its own Q, K, V and output maps of the full hidden width.",
    "depth": "Transformer blocks.",
    "mlp_dim": "Hidden width of each block's MLP (ignored where a circuit is the MLP's hidden map).",
    "pooling": f"Pooled representation for the head, one of {list(POOLINGS)}: class token or mean of tokens.",
    "dropout": "Dropout after attention and MLP (training only).",
}
QVIT_DOCS = {
    **SHARED_DOCS,
    "hidden_size": f"Hidden width d = qubits of every circuit (one per hidden dimension; at most {MAX_QUBITS}).",
    "circuit_layers": "Trainable layers of each circuit.",
    "rotation": "Axis of the angle encoding of a token's features: 'X', 'Y' or 'Z'.",
    "block": "Trainable block of each circuit (ecgq.quantum.circuits.BLOCKS; 'rx_ring': RX on every qubit + "
             "CNOT ring per layer).",
    "quantum_mlp": "Also replace each MLP's hidden map by a circuit (hidden width d).",
    "init_scale": "Circuit weights start uniform in [-init_scale, init_scale] radians.",
}
VIT_DOCS = {
    **SHARED_DOCS,
    "hidden_size": "Hidden width (= qubits) of the qvit whose parameter count this vit matches.",
    "circuit_layers": "Circuit layers of the matched qvit (its block: 'rx_ring').",
    "quantum_mlp": "Whether the matched qvit has a circuit as each MLP's hidden map.",
    "hidden": "This vit's own hidden width; 0 = the width (then mlp_dim) whose parameter count is nearest the "
              "matched qvit's.",
}


def circuit_weights(n_qubits: int, layers: int, block: str) -> int:
    from ecgq.quantum.circuits import CircuitSpec, weight_shape

    return math.prod(weight_shape(CircuitSpec(n_qubits, layers, "angle", "X", block)))


def count_params(shape, *, hidden: int, mlp_dim: int, n_heads: int, depth: int, patch: int, pooling: str,
                 n_outputs: int, circuit: int = 0, quantum_mlp: bool = False) -> int:
    """Trainable parameters of a :class:`VisionTransformer` on inputs ``shape`` (no batch axis), without
    building it; ``circuit`` > 0 is the weights of one circuit map (QViT), 0 means dense maps."""
    d, spatial, channels = hidden, shape[:-1], shape[-1]
    tokens = math.prod(s // patch for s in spatial) + (pooling == "cls")
    total = patch ** len(spatial) * channels * d + d + d * (pooling == "cls") + tokens * d
    attention = 4 * n_heads * (circuit if circuit else d * d + d)
    mlp = (circuit + d * d + d) if quantum_mlp else (d * mlp_dim + mlp_dim + mlp_dim * d + d)
    total += depth * (4 * d + attention + mlp)
    return total + 2 * d + d * n_outputs + n_outputs


def _shared(cfg) -> dict:
    return {"n_heads": int(cfg.n_heads), "depth": int(cfg.depth), "patch": int(cfg.patch_size),
            "pooling": cfg.pooling}


def qvit_params(cfg, shape, n_outputs: int = 2) -> int:
    return count_params(shape, hidden=int(cfg.hidden_size), mlp_dim=int(cfg.mlp_dim), n_outputs=n_outputs,
                        circuit=circuit_weights(int(cfg.hidden_size), int(cfg.circuit_layers), cfg.block),
                        quantum_mlp=bool(cfg.quantum_mlp), **_shared(cfg))


def match_vit(cfg, shape) -> tuple[int, int, int]:
    """(hidden, mlp_dim, target): the vit widths whose count is nearest the matched qvit's (2 outputs)."""
    target = count_params(shape, hidden=int(cfg.hidden_size), mlp_dim=int(cfg.mlp_dim), n_outputs=2,
                          circuit=circuit_weights(int(cfg.hidden_size), int(cfg.circuit_layers), "rx_ring"),
                          quantum_mlp=bool(cfg.quantum_mlp), **_shared(cfg))
    mlp = int(cfg.mlp_dim)
    count = lambda h, m: count_params(shape, hidden=h, mlp_dim=m, n_outputs=2, **_shared(cfg))  # noqa: E731
    # The width first, with the qvit's MLP; then the MLP width within a factor of two fine-tunes the count
    # (a free search would crush the MLP to one unit to keep the width).
    hidden = min(range(1, 2 * int(cfg.hidden_size) + 1), key=lambda h: (abs(count(h, mlp) - target), -h))
    mlp = min(range(max(1, mlp // 2), 2 * mlp + 1), key=lambda m: (abs(count(hidden, m) - target), abs(m - mlp)))
    return hidden, mlp, target


def _check(quantum: bool):
    def check(cfg: ml_collections.ConfigDict, quantum_cfg, where: str) -> None:
        del quantum_cfg  # the circuit's structure is the model's own; simulation settings check elsewhere
        fields = ["patch_size", "n_heads", "depth", "mlp_dim", "hidden_size", "circuit_layers"]
        for field in fields:
            if int(cfg[field]) < 1:
                raise ConfigError(f"--config.{where}.{field} must be >= 1, got {cfg[field]}.")
        if cfg.pooling not in POOLINGS:
            raise ConfigError(f"--config.{where}.pooling={cfg.pooling!r}; choose one of {list(POOLINGS)}.")
        if not 0.0 <= float(cfg.dropout) < 1.0:
            raise ConfigError(f"--config.{where}.dropout must be in [0, 1), got {cfg.dropout}.")
        if int(cfg.hidden_size) > MAX_QUBITS:
            raise ConfigError(f"--config.{where}.hidden_size={cfg.hidden_size}: one qubit per hidden dimension, at "
                              f"most {MAX_QUBITS}; choose a smaller width.")
        if quantum:
            from ecgq.quantum.circuits import BLOCKS, ROTATIONS

            if cfg.block not in BLOCKS or cfg.rotation not in ROTATIONS:
                raise ConfigError(f"--config.{where}.block={cfg.block!r} / rotation={cfg.rotation!r}; choose a block "
                                  f"of {list(BLOCKS)} and a rotation of {list(ROTATIONS)}.")
        elif int(cfg.hidden) < 0:
            raise ConfigError(f"--config.{where}.hidden must be >= 0 (0 = matched), got {cfg.hidden}.")
    return check


def _fit(quantum: bool):
    def fit_to_data(cfg: ml_collections.ConfigDict, view: InputView, where: str) -> None:
        shape = view.shape
        small = [s for s in shape[:-1] if s < int(cfg.patch_size)]
        if small:
            raise ConfigError(f"--config.{where}.patch_size={cfg.patch_size} is larger than the input {shape[:-1]}; "
                              "choose a patch that fits.")
        if not quantum and int(cfg.hidden) == 0:
            cfg.hidden, cfg.mlp_dim, _ = match_vit(cfg, shape)
    return fit_to_data


def make_vqc(width: int, *, cfg, sim):
    """The VQC of one QViT map on ``width`` qubits: the model's structure, the study's simulation
    (backend, precision, shots and noise, so that a NISQ evaluation reaches every map)."""
    from ecgq.quantum import vqc_for_circuit
    from ecgq.quantum.circuits import CircuitSpec

    spec = CircuitSpec(width, int(cfg.circuit_layers), "angle", cfg.rotation, cfg.block, "expval")
    return vqc_for_circuit(spec, sim, init_scale=float(cfg.init_scale))


def _circuit_map(width: int, vqc):
    return CircuitMap, {"width": width, "make_vqc": vqc}


def _dense_map(width: int):
    return DenseMap, {"width": width}


def transformer_from_config(cfg, n_outputs: int, width: int | None = None, **maps) -> VisionTransformer:
    """The transformer of ``cfg`` with hidden width ``width`` (default: ``cfg.hidden_size``)."""
    width = int(cfg.hidden_size) if width is None else width
    return VisionTransformer(n_outputs=n_outputs, patch_size=int(cfg.patch_size), hidden_size=width,
                             n_heads=int(cfg.n_heads), depth=int(cfg.depth), mlp_dim=int(cfg.mlp_dim),
                             pooling=cfg.pooling, dropout=float(cfg.dropout), **maps)


def build_qvit(cfg, n_outputs: int, quantum_cfg=None) -> VisionTransformer:
    _check(True)(cfg, quantum_cfg, "qvit")
    vqc = functools.partial(make_vqc, cfg=cfg, sim=quantum_cfg)
    mlp_map = (lambda width: CircuitMap(width, vqc, name="circuit")) if cfg.quantum_mlp else None
    return transformer_from_config(cfg, n_outputs, map_factory=functools.partial(_circuit_map, vqc=vqc), mlp_map=mlp_map)


def build_vit(cfg, n_outputs: int, quantum_cfg=None) -> VisionTransformer:
    del quantum_cfg
    _check(False)(cfg, None, "vit")
    if int(cfg.hidden) < 1:
        raise ConfigError("vit: hidden=0 (matched to a qvit) is resolved from the data; build it through a "
                          "study or ecgq.models.create, or set hidden.")
    return transformer_from_config(cfg, n_outputs, int(cfg.hidden), map_factory=_dense_map)


def _config(values: dict, n_heads: int):
    return lambda: ml_collections.ConfigDict({**SHARED, **values, "n_heads": n_heads})



for _heads, _suffix in ((1, ""), (2, "_2h")):
    _words = "one attention head" if _heads == 1 else "two attention heads"
    MODELS.register(ModelSpec(
        name=f"qvit{_suffix}", role="student", family="quantum",
        description=f"Quantum vision transformer, {_words}: VQC Q/K/V/output maps (one qubit per hidden dim, "
                    "RX encoding, RX + CNOT ring, <Z>); images or ECG patches",
        config=_config(QVIT, _heads), docs=QVIT_DOCS, build=build_qvit, default_input_shape=(28, 28, 1),
        fit_to_data=_fit(True), check=_check(True), student_train=dict(STUDENT_TRAIN),
        uses_quantum=True, control=f"vit{_suffix}",
    ))
    MODELS.register(ModelSpec(
        name=f"vit{_suffix}", role="student", family="classical",
        description=f"Vision transformer, {_words}, widths matched to the qvit's parameter count; images or ECG patches",
        config=_config(VIT, _heads), docs=VIT_DOCS, build=build_vit, default_input_shape=(28, 28, 1),
        fit_to_data=_fit(False), check=_check(False), student_train=dict(STUDENT_TRAIN),
    ))
