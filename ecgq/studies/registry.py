"""Studies by name: each runner module registers a :class:`StudySpec`; ``config.study`` picks one.

A study is one runner module under ``ecgq/studies/`` plus ``experiments/<study>.py``. Its spec says
how to run it, the help of every field of its configs (keyed by full path, each text written by
the layer that owns the field), how to bring the defaults of a dataset or model that a flag
switched to, and what to check before anything trains.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import ml_collections

from ecgq.registry import Registry

Config = ml_collections.ConfigDict

TOP_LEVEL_DOCS: dict[str, str] = {
    "study": "Which runner executes this config (a registered study; see the README's table).",
    "seed": "Master seed: every PRNG key of the study is derived from it.",
}


@dataclasses.dataclass(frozen=True)
class StudySpec:
    """``run(config, workdir)``; ``docs(config) -> {full path: help}``; ``complete(base, config)``
    returns ``config`` with the defaults of any dataset/model whose name a flag changed (``base``
    is the experiment file's config before flags); ``check(config)`` raises ``UserError`` on what
    cannot run, within seconds and before anything is written."""

    name: str
    description: str
    run: Callable[[Config, str], object]
    docs: Callable[[Config], dict[str, str]]
    check: Callable[[Config], None] | None = None
    complete: Callable[[Config, Config], Config] | None = None


STUDIES: Registry[StudySpec] = Registry("study", "ecgq.studies")
