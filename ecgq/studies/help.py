"""``launch.py --helpfull``: every field of a study config with its default and its owner's help."""

from __future__ import annotations

import ml_collections

from ecgq.configs import leaves
from ecgq.studies import study_of


def describe(config: ml_collections.ConfigDict) -> list[tuple[str, object, str | None]]:
    """(full path, default, help or None) for every leaf of ``config``."""
    docs = study_of(config).docs(config)
    return [(path, value, docs.get(path)) for path, value in leaves(config)]


def help_text(config: ml_collections.ConfigDict) -> str:
    """Human-readable listing of every field, its default and its help."""
    lines = ["Fields of this config (override any with --config.<field>=<value>):"]
    for path, value, doc in describe(config):
        lines.append(f"  --config.{path} (default: {value!r})")
        lines.append(f"      {doc or 'UNDOCUMENTED'}")
    return "\n".join(lines)
