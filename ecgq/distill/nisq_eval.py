"""NISQ evaluation of trained quantum students: test metrics under finite shots and gate noise.

Why: every quantum number a study trains and selects with is an exact, noiseless expectation. A
circuit on a device reports ``<Z>`` estimated from a finite number of shots, after gates that
decohere. Each trained member is therefore also scored on the test split with its circuit simulated
(by :mod:`ecgq.quantum.noise`, the ``jax`` backend):

- ``shots=N``: every ``<Z>`` estimated from N shots of the exact state (one PRNG key per study);
- ``depolarizing=p``: a depolarising channel of probability p on every wire of every gate, exact
  expectations of the resulting density matrix (no shot noise, so the two effects stay apart);
- ``exact``: the same windows without either, the reference the others are read against.

The weights are the member's own, trained noiselessly and selected on validation; nothing here
trains or selects. Density matrices cost ``4**n_qubits`` per window, so the windows are an evenly
spaced subset of the test split (``eval.nisq_max_windows``), stated in the report.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from ecgq.eval import metrics
from ecgq.models import build_model, model_spec
from ecgq.train import steps


def conditions(eval_cfg) -> list[tuple[str, dict]]:
    """``(label, quantum-config overrides)`` of every NISQ condition the study asks for."""
    out = [(f"shots={int(s)}", {"shots": int(s)}) for s in eval_cfg.get("nisq_shots", ())]
    out += [(f"depolarizing={float(p):g}", {"depolarizing": float(p)}) for p in eval_cfg.get("nisq_depolarizing", ())]
    return out


def evenly_spaced(n: int, limit: int) -> np.ndarray:
    """At most ``limit`` indices of ``range(n)``, evenly spaced (all when ``limit`` is 0 or >= n)."""
    if not limit or limit >= n:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, limit).astype(int))


def _simulation(quantum_cfg, **overrides) -> ml_collections.ConfigDict:
    cfg = ml_collections.ConfigDict(quantum_cfg.to_dict())
    cfg.update({"backend": "jax", "shots": 0, "depolarizing": 0.0, "amplitude_damping": 0.0, **overrides})
    return cfg


def nisq_probe(name: str, model_cfg, quantum_cfg, *, n_outputs: int, head: str, multilabel: bool,
               split: dict[str, np.ndarray], eval_cfg, seed: int) -> Callable[[dict], dict] | None:
    """``variables -> {"nisq": {...}}`` for a quantum student (``None`` for classical ones or when no
    condition is asked for): metrics of the member on the chosen test windows under each condition."""
    asked = conditions(eval_cfg)
    if not asked or model_spec(name).family != "quantum":  # controls may read config.quantum, yet run no circuit
        return None
    take = evenly_spaced(len(split["x"]), int(eval_cfg.get("nisq_max_windows", 0)))
    x = split["x"][take]
    rr = split["rr"][take] if "rr" in split else None
    y = split["y"][take]
    batch = max(1, min(int(eval_cfg.get("nisq_batch_size", 256)), len(x)))
    key = jax.random.key(seed)
    applies = {}
    for label, overrides in [("exact", {})] + asked:
        model = build_model(name, model_cfg, n_outputs, _simulation(quantum_cfg, **overrides))
        applies[label] = jax.jit(lambda v, xb, rb, k, m=model: m.apply(v, xb, rb, rngs={"shots": k}))

    def logits_of(apply, variables) -> np.ndarray:
        out = []
        for i, start in enumerate(range(0, len(x), batch)):
            xb, stop = x[start:start + batch], min(start + batch, len(x))
            pad = batch - (stop - start)
            xb = np.pad(xb, [(0, pad)] + [(0, 0)] * (xb.ndim - 1))
            rb = None if rr is None else jnp.asarray(np.pad(rr[start:stop], [(0, pad), (0, 0)]))
            out.append(np.asarray(apply(variables, jnp.asarray(xb), rb, jax.random.fold_in(key, i)))[:stop - start])
        return np.concatenate(out)

    def probe(variables: dict) -> dict:
        scores = {label: metrics.classification_metrics(y, steps.probabilities(logits_of(apply, variables), head),
                                                        multilabel)
                  for label, apply in applies.items()}
        return {"nisq": {"n_windows": int(len(x)), "of_windows": int(len(split["x"])), "conditions": scores}}

    return probe
