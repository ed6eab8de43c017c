"""What a trained spiking student holds and does: bits of its weights, spikes and operations per
sample, its learned entanglement and fusion gate (:func:`inspect_trained`, the models' ``inspect`` hook).

Why a model-side count: XLA's FLOPs count what a CPU or GPU does running the network densely, where
every time step of every neuron costs a multiply-accumulate. What an event-driven chip would do
depends on the spikes: a spike meeting a synapse is one accumulate, a silent input nothing. Only the
model knows which of its layers see spikes, which see analog values and which weights are one bit.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from ecgq.eval.op_energy import energy_estimate
from ecgq.models.registry import QUANTUM_PREFIX
from ecgq.models.spiking import BINARY_PREFIX

DENSE_LAYERS = ("readout", "angle_map", "core_readout")


def _leaf_name(path) -> str:
    last = path[-1]
    return str(getattr(last, "key", getattr(last, "name", last)))


def precision_counts(variables) -> dict:
    """Parameters split into 1-bit and full precision, in bits and bytes beside their FP32 size.

    ``binary_kernel`` leaves are 1 bit per weight plus one FP32 scale per output channel (the
    mean ``|w|`` a deployed layer stores); every other parameter (quantum angles included) is 32
    bits. ``layers`` gives the split per top-level module. Batch statistics are not parameters
    (at inference they fold into the batch-norm affines, which are counted).
    """
    params = variables.get("params", variables) if hasattr(variables, "get") else variables
    totals = {"binary_params": 0, "binary_scales": 0, "full_precision_params": 0, "quantum_params": 0}
    layers: dict[str, dict[str, int]] = {}
    for path, leaf in jax.tree_util.tree_flatten_with_path(params)[0]:
        name, top, size = _leaf_name(path), _leaf_name(path[:1]), int(np.prod(np.shape(leaf)))
        row = layers.setdefault(top, {"binary": 0, "full_precision": 0})
        if name.startswith(BINARY_PREFIX):
            totals["binary_params"] += size
            totals["binary_scales"] += int(np.shape(leaf)[-1])
            row["binary"] += size
        else:
            totals["full_precision_params"] += size
            totals["quantum_params"] += size if name.startswith(QUANTUM_PREFIX) else 0
            row["full_precision"] += size
    bits = totals["binary_params"] + 32 * (totals["full_precision_params"] + totals["binary_scales"])
    fp32 = 4 * (totals["binary_params"] + totals["full_precision_params"])
    return {**totals, "total_params": totals["binary_params"] + totals["full_precision_params"],
            "bits": bits, "bytes": math.ceil(bits / 8), "fp32_bytes": fp32,
            "compression": fp32 / max(1, math.ceil(bits / 8)), "layers": layers}


def spike_statistics(module, variables, x, rr=None) -> dict[str, dict[str, float]]:
    """Per stage, for the batch ``x`` in inference mode: ``spike_rate`` (spikes per neuron and
    step), ``spikes`` and ``neurons`` (x steps) per sample, ``synops`` (event-driven accumulates)
    and ``macs`` (dense multiply-accumulates) of its convolution per sample, ``input_activity``
    (fraction of non-zero inputs). The dense layers after pooling add ``macs`` only
    (``dense:<name>``), from their kernels. Read from the ``intermediates`` the stages sow.
    """
    def run(v, x, rr):
        return module.apply(v, x, rr, train=False, mutable=["intermediates"])[1]["intermediates"]

    sown = jax.jit(run)(variables, jnp.asarray(x), None if rr is None else jnp.asarray(rr))
    out = {name: {key: float(values[key][0]) for key in values}
           for name, values in sorted(sown.items()) if name.startswith("stages_")}
    params = variables["params"]
    for name in DENSE_LAYERS:
        if name in params:
            out[f"dense:{name}"] = {"macs": float(np.prod(np.shape(params[name]["kernel"])))}
    return out


def operations(stats: dict[str, dict[str, float]], binary_first: bool = False) -> dict:
    """Accumulates (ACs) and multiply-accumulates (MACs) per sample on event-driven hardware, and
    their energy estimate (:func:`ecgq.eval.op_energy.energy_estimate`), from :func:`spike_statistics`.

    - a stage fed spikes (every stage after the first): one AC per synaptic event (``synops``); its
      1-bit kernel's per-channel scale and the batch norm fold into the neuron's bias and threshold;
    - the first stage sees the analog ECG: its dense MACs (ACs with ``binary_first``: a 1-bit weight
      on an analog input is a signed add);
    - every neuron and step: one MAC for the leak (``beta * mem + current``) and one AC for the
      folded bias; one AC per spike for the reset by subtraction;
    - pooling: one AC per neuron-step (membrane sum) and per spike (rate count);
    - the dense layers after pooling (readouts, angle map): their MACs.
    The circuit of ``snn_vqc`` is not counted: on a quantum processor its cost is not in pJ per AC,
    and its classical simulation is what :func:`ecgq.eval.op_energy.dense_operations` would count.
    """
    macs = acs = 0.0
    for name, s in stats.items():
        if name.startswith("dense:"):
            macs += s["macs"]
            continue
        first = name == "stages_0"
        if not first:
            acs += s["synops"]
        elif binary_first:
            acs += s["macs"]
        else:
            macs += s["macs"]
        macs += s["neurons"]  # the leak
        acs += 2 * (s["neurons"] + s["spikes"])  # folded bias + reset; pooling's membrane sum + spike count
    return energy_estimate(macs, acs, "event-driven: ACs per synaptic event, MACs for analog inputs")


def entanglement_map(variables, per_layer: bool = False) -> np.ndarray:
    """Learned pair strengths of an ``snn_vqc`` circuit with block ``ryrz_crx_all``, for a heat map.

    ``|sin(theta_ij / 2)|`` of each pair's CRX angle (0: the pair never interacts; 1: its gate
    can create a maximally entangled pair), symmetric with a zero diagonal: ``(n_qubits,
    n_qubits)`` averaged over layers, or ``(n_layers, n_qubits, n_qubits)`` with ``per_layer``.
    ``variables`` are the model's (``params`` with ``core/quantum_weights``), or those weights.
    """
    from ecgq.quantum.circuits import all_pairs

    weights = variables
    if hasattr(variables, "get"):
        params = variables.get("params", variables)
        weights = params["core"]["quantum_weights"] if "core" in params else params["quantum_weights"]
    weights = np.asarray(weights)
    if weights.ndim != 2:
        raise ValueError(f"expected ryrz_crx_all weights (n_layers, n(n+3)/2), got shape {weights.shape}")
    n = round((math.sqrt(9 + 8 * weights.shape[1]) - 3) / 2)
    if n * (n + 3) // 2 != weights.shape[1]:
        raise ValueError(f"{weights.shape[1]} angles per layer are not those of a ryrz_crx_all block")
    strengths = np.zeros((weights.shape[0], n, n))
    for k, (i, j) in enumerate(all_pairs(n)):
        strengths[:, i, j] = strengths[:, j, i] = np.abs(np.sin(weights[:, 2 * n + k] / 2))
    return strengths if per_layer else strengths.mean(axis=0)


def inspect_trained(module, variables, x, rr=None) -> dict:
    """The ``inspect`` record of a trained ``snn`` / ``snn_vqc`` / ``snn_mlp`` on windows ``x``.

    ``operations`` (ACs, MACs, energy estimate per sample), ``spike_rate`` (all neurons and steps),
    ``spike_rates`` per stage, ``precision`` (:func:`precision_counts`), and for the hybrids the
    fusion gate ``a`` (the quantum or control path's share of the logits) and, for a learned
    entangler, ``entanglement`` (:func:`entanglement_map`, averaged over layers).
    """
    stats = spike_statistics(module, variables, x, rr)
    stages = {k: v for k, v in stats.items() if k.startswith("stages_")}
    spikes = sum(s["spikes"] for s in stages.values())
    neurons = sum(s["neurons"] for s in stages.values())
    out = {"operations": operations(stats, bool(module.binary_first)),
           "spike_rate": spikes / max(neurons, 1.0),
           "spike_rates": {k: v["spike_rate"] for k, v in stages.items()},
           "precision": {k: v for k, v in precision_counts(variables).items() if k != "layers"}}
    params = variables["params"]
    if "fusion_gate" in params:
        out["fusion_gate"] = np.atleast_1d(np.asarray(jax.nn.sigmoid(params["fusion_gate"]))).tolist()
    core = params.get("core", {})
    if "quantum_weights" in core:
        try:
            out["entanglement"] = entanglement_map(variables).tolist()
        except ValueError:
            pass  # a fixed entangler (another block): nothing learned to draw
    return out
