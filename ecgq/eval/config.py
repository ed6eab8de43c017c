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
}


def check_eval_config(cfg: ml_collections.ConfigDict, where: str = "eval") -> None:
    from ecgq.errors import ConfigError

    sizes = tuple(cfg.latency_batch_sizes)
    if not sizes or any(int(b) < 1 for b in sizes):
        raise ConfigError(f"--config.{where}.latency_batch_sizes must list batch sizes >= 1, got {sizes}.")
    if float(cfg.energy_min_seconds) <= 0:
        raise ConfigError(f"--config.{where}.energy_min_seconds must be > 0, got {cfg.energy_min_seconds}.")
