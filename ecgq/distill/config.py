"""Distillation settings: ``distill_config()``, the help of each field and ``check_distill_config``."""

from __future__ import annotations

import ml_collections

from ecgq.errors import ConfigError


def distill_config() -> ml_collections.ConfigDict:
    """One KD setting (T=4, alpha=0.5) plus the no-KD baseline, for every student."""
    c = ml_collections.ConfigDict()
    c.temperatures = (4.0,)
    c.alphas = (0.5,)
    c.include_no_kd = True
    c.cache_dir = ""
    return c


FIELD_DOCS: dict[str, str] = {
    "temperatures": "KD temperatures T; every (T, alpha) pair is one KD setting, all vmapped with the seeds.",
    "alphas": "KD mixing weights alpha (weight of the soft-target term; 0 = cross-entropy only).",
    "include_no_kd": "Also train each student without KD (plain cross-entropy) as the baseline.",
    "cache_dir": "Teacher-logit cache folder ('' = <workdir>/teacher_cache); shareable between workdirs.",
}


def check_distill_config(cfg: ml_collections.ConfigDict, where: str = "distill") -> None:
    """KD settings that can train: T > 0, alpha in [0, 1], and at least one member per student."""
    temperatures, alphas = tuple(cfg.temperatures), tuple(cfg.alphas)
    if any(float(t) <= 0 for t in temperatures):
        raise ConfigError(f"--config.{where}.temperatures must all be > 0, got {temperatures}.")
    if any(not 0.0 <= float(a) <= 1.0 for a in alphas):
        raise ConfigError(f"--config.{where}.alphas must all be in [0, 1], got {alphas}.")
    if not (temperatures and alphas) and not cfg.include_no_kd:
        raise ConfigError(f"--config.{where}: no KD setting (temperatures x alphas is empty) and "
                          "include_no_kd=False: nothing would be trained.")
