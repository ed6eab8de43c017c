"""Spiking students for 12-lead ECG: ``snn``, the spiking + quantum hybrid ``snn_vqc``, its control ``snn_mlp``.

The spiking path (all three models) is a three-stage temporal pyramid; each stage is a strided
1-D convolution, batch normalisation and one LIF neuron per channel
(:mod:`ecgq.models.spiking`) whose time steps are the stage's samples::

    window (batch, 1000, 12) at 100 Hz
      stage 0: conv 12->16, k 7, stride 2 (full precision) -> BN -> LIF  500 steps (50 Hz)
      stage 1: 1-bit conv 16->32, k 5, stride 2           -> BN -> LIF  250 steps (25 Hz)
      stage 2: 1-bit conv 32->64, k 5, stride 2           -> BN -> LIF  125 steps (12.5 Hz)
    per stage: spike rate and mean membrane of every channel over time  -> 2 * (16 + 32 + 64) = 224
    features --[dense]--> classical logits                                   (snn: the logits)

``snn_vqc`` adds a quantum path beside the classical readout and fuses the two::

    features --[dense, (pi/2) tanh]--> 8 angles --[8 qubits x 3 re-uploading layers of RY, RZ and
        a trainable CRX on every pair ('ryrz_crx_all')]--> <Z> x 8 --[dense]--> quantum logits
    logits = (1 - a) * classical logits + a * quantum logits,   a = sigmoid(fusion_gate)

``snn_mlp`` is the same network with the circuit replaced by a classical layer of the circuit's
parameter count and output range (:class:`ecgq.models.controls.MatchedDense`), the control that
tells what the circuit adds.

Which weights are 1-bit: the convolution kernels of stages 1 and 2 (``binary_kernel``, sign times
one full-precision scale per output channel; also stage 0 with ``binary_first``). Everything else
is full precision: stage 0's kernel, the batch-norm affines (folded into each neuron's bias and
threshold at inference), the LIF decays and thresholds, the readouts, the angle map, the fusion
gate and the circuit's angles. With the defaults, on 12 leads and 5 outputs: ``snn`` 15,717
parameters (12,800 of them 1-bit), ``snn_vqc`` 17,695 (132 quantum), ``snn_mlp`` 17,690;
:mod:`ecgq.models.snn_costs` gives bits and bytes, spike rates, synaptic operations and the
operation-count energy estimate per stage (the models' ``inspect`` hook).

Why this design:
- Full-precision first layer: the ECG is analog; a 1-bit kernel on raw leads loses the amplitude
  ratios between leads that distinguish e.g. hypertrophy, while on spikes (0/1 inputs) a binary
  kernel only chooses excitatory or inhibitory connections, which is where 1-bit weights cost
  least accuracy. The later stages hold most weights (12,800 of 14,144 in the convolutions).
- The signal's own time axis is the SNN's time axis (direct encoding, no Poisson rate coding), and
  strides make a pyramid of clocks: 20 ms steps see the QRS, 80 ms steps the ST-T segment and
  rhythm; each stage's pooled rates and membranes are kept, so the readout sees every scale.
- Mean membrane beside the spike rate: a channel that stays below threshold for a whole window
  still says how far below it stayed; neurons hold that state anyway, so it costs no extra
  operation and keeps gradients alive for silent channels.
- Batch norm over (batch, time) per channel before each LIF (threshold-dependent BN in spirit):
  with 0/1 inputs and 1-bit weights a channel's current has a mean set by its kernel's sign
  balance, which would leave some channels always firing and others silent. At inference it is
  a per-channel affine, folded into the neuron's bias and threshold.
- Learned entanglement: the circuit's entangler is a CRX with its own angle on each of the 28
  qubit pairs (:func:`ecgq.quantum.circuits.ryrz_crx_all_layers`), so which qubits interact and
  how strongly is learned by gradient descent, with no discrete choice (no argmax);
  `ecgq.models.snn_costs.entanglement_map` turns the angles into a pair-strength heat map.
- Bounded angles ``(pi/2) tanh``: see :mod:`ecgq.models.nisq_vqc` (the two tails of a feature
  must not wrap onto one state).
- ``init_scale = pi/4``: with all 28 pairs entangled, angles uniform in ``[-pi, pi]`` make the
  8-qubit circuit nearly random; its ``<Z>`` then barely depends on the input (standard deviation
  across inputs 0.13 against 0.50 at ``pi/4``, 5 random draws, 256 inputs), so the readout and the
  gradients see little signal at the start.
- A learned gate rather than a fixed sum: it states, after training, how much of the decision the
  quantum path carries (``a``; per class with ``gate='per_class'``), and lets training shut a
  useless path instead of fighting it. Unlike ``nisq_vqc``, the classical readout here bypasses
  the circuit by design: the comparison with ``snn_mlp`` (and ``snn``) is what measures the circuit.

RR features, when given, join the pooled features of both readouts; the parameter budget
(``max_params``, 50,000) counts none.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from ecgq.errors import ConfigError
from ecgq.models.controls import (
    MatchedDense,
    angle_circuit_spec,
    circuit_params,
    control_hidden,
    matched_dense_params,
)
from ecgq.models.heads import concat_rr
from ecgq.models.registry import (
    MODELS,
    QUANTUM_PREFIX,
    ModelSpec,
    config_of,
    follow_data_leads,
    module_from_config,
)
from ecgq.models.snn_costs import inspect_trained
from ecgq.models.spiking import LIF, SURROGATES, BinaryConv1D, conv1d_ops

MAX_PARAMS = 50_000
GATES = ("scalar", "per_class")
ENCODINGS = ("reupload", "angle")  # one angle per qubit, as the angle map produces
STAT_KEYS = ("spike_rate", "spikes", "neurons", "synops", "macs", "input_activity")


class SpikingConvBlock(nn.Module):
    """``(batch, time, in)`` -> ``(spikes, membranes)`` ``(batch, ceil(time / strides), features)``.

    Convolution (1-bit with ``binary``, no bias: batch norm has one), batch norm over batch and
    time, LIF. With the ``intermediates`` collection mutable it sows its spike rate, spikes and
    neurons per sample, and the synaptic operations / MACs of its convolution per sample
    (:func:`ecgq.models.spiking.conv1d_ops`).
    """

    features: int
    kernel_size: int
    strides: int
    binary: bool
    surrogate: str = "arctan"
    surrogate_scale: float = 0.0
    beta: float = 0.9
    learn_beta: bool = True
    threshold: float = 1.0
    learn_threshold: bool = True

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool = False) -> tuple[jax.Array, jax.Array]:
        if self.binary:
            conv = BinaryConv1D(self.features, self.kernel_size, self.strides, use_bias=False, name="conv")
        else:
            conv = nn.Conv(self.features, (self.kernel_size,), strides=(self.strides,), padding="SAME",
                           use_bias=False, name="conv")
        currents = nn.BatchNorm(use_running_average=not train, momentum=0.9, name="norm")(conv(x))
        spikes, membranes = LIF(self.surrogate, self.surrogate_scale, self.beta, self.learn_beta,
                                self.threshold, self.learn_threshold, name="lif")(currents)
        if self.is_mutable_collection("intermediates"):
            ops = conv1d_ops(x, self.kernel_size, self.strides, "SAME", self.features)
            batch = x.shape[0]
            stats = {"spike_rate": jnp.mean(spikes), "spikes": jnp.sum(spikes) / batch,
                     "neurons": jnp.asarray(spikes.shape[1] * spikes.shape[2], jnp.float32),
                     "synops": ops["synops"], "macs": ops["macs"],
                     "input_activity": jnp.mean(x != 0)}
            for key in STAT_KEYS:
                self.sow("intermediates", key, stats[key])
        return spikes, membranes


class SNNVQCNet(nn.Module):
    """``__call__(x, rr=None, *, train=False)`` -> logits for ``snn``, ``snn_vqc`` and ``snn_mlp``.

    ``core`` is ``None`` (``snn``: the classical readout alone), the circuit
    (:class:`ecgq.quantum.VQC`, parameters ``quantum_*``) or its classical control; it maps
    ``(batch, n_qubits)`` angles to ``(batch, n_qubits)`` values in ``[-1, 1]``, read out by
    ``core_readout`` and fused with the classical logits by the learned gate.
    """

    n_outputs: int
    core: nn.Module | None
    features: Sequence[int] = (16, 32, 64)
    kernel_sizes: Sequence[int] = (7, 5, 5)
    strides: Sequence[int] = (2, 2, 2)
    binary_first: bool = False
    surrogate: str = "arctan"
    surrogate_scale: float = 0.0
    beta: float = 0.9
    learn_beta: bool = True
    threshold: float = 1.0
    learn_threshold: bool = True
    n_leads: int = 0
    n_qubits: int = 8
    angle_scale: float = math.pi / 2
    gate: str = "scalar"
    gate_init: float = 0.0

    def setup(self) -> None:
        if not len(self.features) == len(self.kernel_sizes) == len(self.strides) >= 1:
            raise ValueError("features, kernel_sizes and strides need one entry per stage (at least one)")
        self.stages = [
            SpikingConvBlock(int(f), int(k), int(s), self.binary_first or i > 0, self.surrogate,
                             float(self.surrogate_scale), float(self.beta), self.learn_beta,
                             float(self.threshold), self.learn_threshold)
            for i, (f, k, s) in enumerate(zip(self.features, self.kernel_sizes, self.strides))]
        self.readout = nn.Dense(self.n_outputs)
        if self.core is not None:
            if self.gate not in GATES:
                raise ValueError(f"gate must be one of {GATES}, got {self.gate!r}")
            self.angle_map = nn.Dense(self.n_qubits)
            self.core_readout = nn.Dense(self.n_outputs)
            shape = () if self.gate == "scalar" else (self.n_outputs,)
            self.fusion_gate = self.param("fusion_gate", nn.initializers.constant(self.gate_init), shape)

    def spike_trains(self, x: jax.Array, *, train: bool = False) -> list[tuple[jax.Array, jax.Array]]:
        """``(spikes, membranes)`` of every stage, each ``(batch, steps, channels)``."""
        if x.ndim != 3:
            raise ValueError(f"snn models expect (batch, time, leads), got {x.shape}")
        if self.n_leads and x.shape[-1] != self.n_leads:
            raise ValueError(f"configured for n_leads={self.n_leads}, got windows of {x.shape[-1]} leads")
        out, h = [], x
        for stage in self.stages:
            h, membranes = stage(h, train=train)
            out.append((h, membranes))
        return out

    def pooled(self, x: jax.Array, rr: jax.Array | None = None, *, train: bool = False) -> jax.Array:
        """``(batch, 2 * sum(features) [+ n_rr])``: each stage's spike rates and mean membranes."""
        parts = []
        for spikes, membranes in self.spike_trains(x, train=train):
            parts += [jnp.mean(spikes, axis=1), jnp.mean(membranes, axis=1)]
        return concat_rr(jnp.concatenate(parts, axis=-1), rr)

    def angles(self, features: jax.Array) -> jax.Array:
        """The circuit's input ``(batch, n_qubits)``: ``angle_scale * tanh(dense(features))``."""
        return self.angle_scale * jnp.tanh(self.angle_map(features))

    def gate_weight(self) -> jax.Array:
        """``a = sigmoid(fusion_gate)``: the quantum path's share of the logits (scalar or per class)."""
        return jax.nn.sigmoid(self.fusion_gate)

    def fuse(self, classical_logits: jax.Array, core_outputs: jax.Array) -> jax.Array:
        """``(1 - a) * classical_logits + a * core_readout(core_outputs)``."""
        a = self.gate_weight()
        return (1 - a) * classical_logits + a * self.core_readout(core_outputs)

    def __call__(self, x: jax.Array, rr: jax.Array | None = None, *, train: bool = False) -> jax.Array:
        features = self.pooled(x, rr, train=train)
        logits = self.readout(features)
        if self.core is None:
            return logits
        return self.fuse(logits, self.core(self.angles(features)))


# --- parameter budget ----------------------------------------------------------------------------

KINDS = ("snn", "snn_vqc", "snn_mlp")


def param_counts(cfg: ml_collections.ConfigDict, kind: str, n_leads: int, n_outputs: int) -> dict[str, int]:
    """Trainable parameters of each top-level part, exactly as the builder of ``kind`` creates them."""
    counts, channels = {}, int(n_leads)
    per_neuron = 2 + int(cfg.learn_beta) + int(cfg.learn_threshold)  # BN scale, bias; beta; threshold
    for i, (f, k) in enumerate(zip(cfg.features, cfg.kernel_sizes)):
        counts[f"stages_{i}"] = int(k) * channels * int(f) + per_neuron * int(f)
        channels = int(f)
    pooled = 2 * sum(int(f) for f in cfg.features)
    counts["readout"] = pooled * n_outputs + n_outputs
    if kind != "snn":
        q = int(cfg.n_qubits)
        counts["angle_map"] = pooled * q + q
        counts["core"] = circuit_params(cfg) if kind == "snn_vqc" else matched_dense_params(q, q, control_hidden(cfg))
        counts["core_readout"] = q * n_outputs + n_outputs
        counts["fusion_gate"] = 1 if cfg.gate == "scalar" else n_outputs
    return counts


def _check_budget(cfg, kind: str, n_leads: int, n_outputs: int, where: str) -> None:
    counts = param_counts(cfg, kind, n_leads, n_outputs)
    total = sum(counts.values())
    if total > int(cfg.max_params):
        parts = ", ".join(f"{k} {v}" for k, v in counts.items())
        raise ConfigError(
            f"--config.{where}.max_params={cfg.max_params} exceeded: {total} trainable parameters "
            f"({parts}) for {n_leads} lead(s) and {n_outputs} outputs; reduce --config.{where}.features "
            f"or --config.{where}.kernel_sizes" + ("" if kind == "snn" else f", or --config.{where}.n_qubits")
            + ".")


def _checker(kind: str):
    def check(cfg: ml_collections.ConfigDict, quantum_cfg, where: str) -> None:
        """Structure and budget before any data (12 leads unless ``n_leads`` says, 5 outputs);
        :func:`fit_to_data` and the builder repeat the budget with the data's leads and classes."""
        del quantum_cfg  # the circuit's structure is the model's own; simulation settings check elsewhere
        stages = [tuple(cfg[f]) for f in ("features", "kernel_sizes", "strides")]
        if not stages[0] or len({len(s) for s in stages}) != 1:
            raise ConfigError(f"--config.{where}.features, kernel_sizes and strides need one entry per "
                              f"stage (at least one), got {stages[0]}, {stages[1]}, {stages[2]}.")
        for field, values in zip(("features", "kernel_sizes", "strides"), stages):
            if any(int(v) < 1 for v in values):
                raise ConfigError(f"--config.{where}.{field} entries must be >= 1, got {values}.")
        if cfg.surrogate not in SURROGATES:
            raise ConfigError(f"--config.{where}.surrogate must be one of {list(SURROGATES)}, got {cfg.surrogate!r}.")
        if float(cfg.surrogate_scale) < 0:
            raise ConfigError(f"--config.{where}.surrogate_scale must be >= 0 (0 = default), got {cfg.surrogate_scale}.")
        low_open = bool(cfg.learn_beta)
        if not (0.0 < float(cfg.beta) < 1.0 if low_open else 0.0 <= float(cfg.beta) <= 1.0):
            raise ConfigError(f"--config.{where}.beta={cfg.beta} must be in " +
                              ("(0, 1) when learned (sigmoid of a logit)." if low_open else "[0, 1]."))
        if float(cfg.threshold) <= 0:
            raise ConfigError(f"--config.{where}.threshold must be > 0, got {cfg.threshold}.")
        if int(cfg.n_leads) < 0:
            raise ConfigError(f"--config.{where}.n_leads must be >= 0 (0 = the data's), got {cfg.n_leads}.")
        if kind != "snn":
            if int(cfg.n_qubits) < 1 or int(cfg.n_layers) < 1:
                raise ConfigError(f"--config.{where}.n_qubits and n_layers must be >= 1, "
                                  f"got {cfg.n_qubits} and {cfg.n_layers}.")
            if float(cfg.angle_scale) <= 0:
                raise ConfigError(f"--config.{where}.angle_scale must be > 0, got {cfg.angle_scale}.")
            if cfg.gate not in GATES:
                raise ConfigError(f"--config.{where}.gate must be one of {list(GATES)}, got {cfg.gate!r}.")
            if kind == "snn_vqc" and cfg.encoding not in ENCODINGS:
                raise ConfigError(f"--config.{where}.encoding={cfg.encoding!r}: the angle map gives one angle "
                                  f"per qubit, which only {list(ENCODINGS)} encode.")
            if kind == "snn_mlp" and int(cfg.hidden) < 0:
                raise ConfigError(f"--config.{where}.hidden must be >= 0 (0 = matched), got {cfg.hidden}.")
            try:
                angle_circuit_spec(cfg)
            except ValueError as error:
                raise ConfigError(f"--config.{where}: {error}") from None
        _check_budget(cfg, kind, int(cfg.n_leads) or 12, 5, where)

    return check


def _fitter(kind: str):
    def fit_to_data(cfg: ml_collections.ConfigDict, view, where: str) -> None:
        """Take the number of leads from the data (0 = follow the data), then recheck the budget."""
        leads = follow_data_leads(cfg, view, where)
        _check_budget(cfg, kind, leads, 5, where)

    return fit_to_data


def _pyramid(cfg: ml_collections.ConfigDict, kind: str, n_outputs: int) -> None:
    _checker(kind)(cfg, None, kind)
    _check_budget(cfg, kind, int(cfg.n_leads) or 12, n_outputs, kind)


def build_snn(cfg: ml_collections.ConfigDict, n_outputs: int, quantum_cfg=None) -> SNNVQCNet:
    """``snn``: the spiking pyramid and its classical readout, no second path."""
    del quantum_cfg
    _pyramid(cfg, "snn", n_outputs)
    return module_from_config(SNNVQCNet, cfg, n_outputs=n_outputs, core=None)


def build_vqc(cfg: ml_collections.ConfigDict, n_outputs: int, quantum_cfg=None) -> SNNVQCNet:
    """``snn_vqc``: the circuit from the model's own fields, simulated as ``quantum_cfg`` says
    (backend, method, precision, shots, noise; default: the quantum layer's defaults, i.e. ecgq's
    fused JAX simulator)."""
    from ecgq.quantum import vqc_for_circuit

    _pyramid(cfg, "snn_vqc", n_outputs)
    vqc = vqc_for_circuit(angle_circuit_spec(cfg), quantum_cfg, init_scale=float(cfg.init_scale))
    return module_from_config(SNNVQCNet, cfg, n_outputs=n_outputs, core=vqc)


def build_mlp(cfg: ml_collections.ConfigDict, n_outputs: int, quantum_cfg=None) -> SNNVQCNet:
    """``snn_mlp``: the same network with a :class:`MatchedDense` in place of the circuit."""
    del quantum_cfg
    _pyramid(cfg, "snn_mlp", n_outputs)
    core = MatchedDense(n_out=int(cfg.n_qubits), hidden=control_hidden(cfg))
    return module_from_config(SNNVQCNet, cfg, n_outputs=n_outputs, core=core)


# --- registration --------------------------------------------------------------------------------

_PYRAMID_DOCS = {
    "features": "Channels (= LIF neurons per time step) of each stage of the spiking pyramid.",
    "kernel_sizes": "Kernel length of each stage's convolution, in that stage's input samples.",
    "strides": "Stride of each stage's convolution: each stage's neurons step at its input's rate / stride.",
    "binary_first": "Make stage 0's convolution 1-bit too (it sees the analog ECG; later stages always are).",
    "surrogate": f"Surrogate gradient of the spike, one of {list(SURROGATES)} (snnTorch's atan / fast_sigmoid).",
    "surrogate_scale": "Scale of the surrogate (arctan's alpha, fast_sigmoid's slope); 0 = snnTorch's "
                       "default (2 / 25).",
    "beta": "Membrane decay per step of every LIF neuron (initial value when learned).",
    "learn_beta": "Learn beta per channel as sigmoid(logit), so it stays in (0, 1).",
    "threshold": "Firing threshold of every LIF neuron (initial value when learned); reset subtracts it.",
    "learn_threshold": "Learn the threshold per channel as softplus(raw), so it stays > 0.",
    "n_leads": "Leads of the input windows (stage 0's input channels); 0 = the data's.",
    "max_params": "Budget of trainable parameters of the whole model (checked before training).",
}
_HYBRID_DOCS = {
    "n_qubits": "Qubits of the circuit = angles the angle map produces from the pooled spiking features.",
    "angle_scale": "Angles are angle_scale * tanh(dense(features)) radians; pi/2 keeps the two tails "
                   "of a feature from wrapping onto one state.",
    "gate": f"Fusion gate a = sigmoid(g) in logits = (1 - a) * classical + a * quantum path: one of "
            f"{list(GATES)} (one g, or one per class).",
    "gate_init": "Initial g of the fusion gate (0: both paths weigh 1/2).",
}
_CIRCUIT_DOCS = {
    "n_layers": "Re-uploading layers: (angle encoding, trainable block) repeated this many times.",
    "encoding": f"Encoding of the angles, one of {list(ENCODINGS)}: 'reupload' before every block "
                "layer (data re-uploading) or 'angle' once.",
    "rotation": "Axis of the angle encoding: 'X', 'Y' or 'Z'.",
    "block": "Trainable block: 'ryrz_crx_all' (RY, RZ per qubit + a CRX with a learned angle on every "
             "pair: learned entanglement) or a fixed entangler ('ryrz_ring', 'basic', 'strong', 'su4').",
    "init_scale": "Block angles start uniform in [-init_scale, init_scale] radians (pi/4: near-local "
                  "at the start, so <Z> still depends on the input).",
}


def snn_config() -> ml_collections.ConfigDict:
    fields = set(_PYRAMID_DOCS) - {"max_params"}
    cfg = ml_collections.ConfigDict({k: v for k, v in config_of(SNNVQCNet).items() if k in fields})
    cfg.max_params = MAX_PARAMS
    return cfg


def vqc_config() -> ml_collections.ConfigDict:
    cfg = config_of(SNNVQCNet)
    cfg.update({"max_params": MAX_PARAMS, "n_layers": 3, "encoding": "reupload", "rotation": "Y",
                "block": "ryrz_crx_all", "init_scale": math.pi / 4})
    return cfg


def mlp_config() -> ml_collections.ConfigDict:
    cfg = config_of(SNNVQCNet)
    cfg.update({"max_params": MAX_PARAMS, "n_layers": 3, "block": "ryrz_crx_all", "hidden": 0})
    return cfg


_SPEC = {"role": "student", "default_input_shape": (1000, 12), "default_n_outputs": 5}

MODELS.register(ModelSpec(
    name="snn",
    family="classical",
    description="Spiking 3-stage temporal pyramid (LIF, 1-bit convs after the first), rates + membranes -> dense",
    config=snn_config,
    docs=dict(_PYRAMID_DOCS),
    build=build_snn,
    fit_to_data=_fitter("snn"),
    check=_checker("snn"),
    inspect=inspect_trained,
    **_SPEC,
))

MODELS.register(ModelSpec(
    name="snn_vqc",
    family="quantum",
    description="Spiking pyramid + 8-qubit VQC with learned all-pair CRX entanglement, gated logit fusion",
    config=vqc_config,
    docs={**_PYRAMID_DOCS, **_HYBRID_DOCS, **_CIRCUIT_DOCS},
    build=build_vqc,
    fit_to_data=_fitter("snn_vqc"),
    check=_checker("snn_vqc"),
    inspect=inspect_trained,
    uses_quantum=True,
    control="snn_mlp",
    **_SPEC,
))

MODELS.register(ModelSpec(
    name="snn_mlp",
    family="classical",
    description="Classical control of snn_vqc: the same hybrid, the circuit replaced by a matched tanh MLP",
    config=mlp_config,
    docs={**_PYRAMID_DOCS, **_HYBRID_DOCS,
          "n_layers": "Layers of the snn_vqc circuit whose trainable-parameter count the classical layer matches.",
          "block": "Block of the snn_vqc circuit whose count the classical layer matches.",
          "hidden": "Hidden width of the classical layer replacing the circuit; 0 = the width whose "
                    "parameter count is nearest the matched circuit's."},
    build=build_mlp,
    fit_to_data=_fitter("snn_mlp"),
    check=_checker("snn_mlp"),
    inspect=inspect_trained,
    **_SPEC,
))
