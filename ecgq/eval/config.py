"""Evaluation and profiling settings of a study: ``eval_config()`` and the help of each field."""

from __future__ import annotations

import ml_collections


def eval_config() -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.record_level = False
    c.latency_batch_sizes = (1, 256)
    c.profile = True
    c.energy = True
    c.energy_min_seconds = 1.0
    c.plots = True
    c.nisq_shots = (100, 1000, 10000)
    c.nisq_depolarizing = (0.001, 0.01)
    c.nisq_max_windows = 512
    c.nisq_batch_size = 256
    return c


FIELD_DOCS: dict[str, str] = {
    "record_level": ("Headline metrics per record (each record's window logits averaged) instead of per window. Either way, "
                     "per-record metrics are reported beside the per-window ones whenever a split cuts records "
                     "into several windows that share the record's label."),
    "latency_batch_sizes": "Batch sizes at which per-sample inference latency is measured (CPU, and GPU when present).",
    "profile": "Measure parameters, FLOPs per sample and latency of each model (off: only metrics).",
    "energy": "Measure energy per sample (NVML on NVIDIA GPUs, RAPL where readable; otherwise reported unavailable).",
    "energy_min_seconds": "Run inference for at least this long per energy measurement (counters are coarse).",
    "plots": "Write the PNG plots (accuracy vs parameters, KD heatmaps, training curves).",
    "nisq_shots": "Also score every trained quantum student on test with <Z> estimated from this many shots "
                  "per circuit evaluation, one condition each (() = none).",
    "nisq_depolarizing": "Also score every trained quantum student on test with a depolarising channel of this "
                         "probability after every gate on each of its wires (exact expectations of the density "
                         "matrix), one condition each (() = none).",
    "nisq_max_windows": "Test windows (evenly spaced) scored under shots and noise (density matrices cost "
                        "4**n_qubits per window); 0 = all. The report states the number.",
    "nisq_batch_size": "Batch size of the shot / noise evaluation (no effect on results).",
}


def check_eval_config(cfg: ml_collections.ConfigDict, where: str = "eval") -> None:
    from ecgq.errors import ConfigError

    sizes = tuple(cfg.latency_batch_sizes)
    if not sizes or any(int(b) < 1 for b in sizes):
        raise ConfigError(f"--config.{where}.latency_batch_sizes must list batch sizes >= 1, got {sizes}.")
    if any(int(s) < 1 for s in cfg.nisq_shots):
        raise ConfigError(f"--config.{where}.nisq_shots must be >= 1 each (() = none), got {tuple(cfg.nisq_shots)}.")
    if any(not 0.0 < float(p) <= 1.0 for p in cfg.nisq_depolarizing):
        raise ConfigError(f"--config.{where}.nisq_depolarizing must be probabilities in (0, 1] (() = none), "
                          f"got {tuple(cfg.nisq_depolarizing)}.")
    if int(cfg.nisq_max_windows) < 0 or int(cfg.nisq_batch_size) < 1:
        raise ConfigError(f"--config.{where}.nisq_max_windows must be >= 0 and nisq_batch_size >= 1, got "
                          f"{cfg.nisq_max_windows} and {cfg.nisq_batch_size}.")
    if float(cfg.energy_min_seconds) <= 0:
        raise ConfigError(f"--config.{where}.energy_min_seconds must be > 0, got {cfg.energy_min_seconds}.")
