"""Documentation of every config field, for ``launch.py --helpfull``.

Each layer documents its own sub-config in a ``FIELD_DOCS`` dict keyed by dotted paths relative to
that sub-config. A study config nests those sub-configs under names of its choosing
(``config.data``, ``config.students.resnet1d``, ...), so a field is documented by the longest
suffix of its path found in any layer's dict; top-level fields are documented by ``ecgq.run``.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping

import ml_collections

# Modules exposing FIELD_DOCS, in order of precedence when two document the same suffix.
DOC_MODULES = (
    "ecgq.run:TOP_LEVEL_DOCS",
    "ecgq.data.config:FIELD_DOCS",
    "ecgq.quantum.config:FIELD_DOCS",
    "ecgq.models.config:FIELD_DOCS",
    "ecgq.train.config:FIELD_DOCS",
    "ecgq.distill.config:FIELD_DOCS",
    "ecgq.eval.config:FIELD_DOCS",
)


def known_docs() -> list[tuple[str, Mapping[str, str]]]:
    """(source, docs) for every documenting module, in precedence order."""
    found = []
    for spec in DOC_MODULES:
        module_name, attribute = spec.split(":")
        found.append((module_name, getattr(importlib.import_module(module_name), attribute)))
    return found


def leaves(config: ml_collections.ConfigDict, prefix: str = "") -> Iterator[tuple[str, object]]:
    """(dotted path, value) of every leaf field, depth first in insertion order."""
    for key, value in config.items():
        path = f"{prefix}{key}"
        if isinstance(value, ml_collections.ConfigDict):
            yield from leaves(value, path + ".")
        else:
            yield path, value


def lookup(path: str, docs: list[tuple[str, Mapping[str, str]]]) -> str | None:
    """The help of ``path``: the longest suffix of it that some layer documents."""
    parts = path.split(".")
    for start in range(len(parts)):
        suffix = ".".join(parts[start:])
        for _, mapping in docs:
            if suffix in mapping:
                return mapping[suffix]
    return None


def describe(config: ml_collections.ConfigDict) -> list[tuple[str, object, str | None]]:
    """(path, default, help or None) for every leaf of ``config``."""
    docs = known_docs()
    return [(path, value, lookup(path, docs)) for path, value in leaves(config)]


def help_text(config: ml_collections.ConfigDict) -> str:
    """Human-readable listing of every field, its default and its help."""
    lines = ["Fields of this config (override any with --config.<field>=<value>):"]
    for path, value, doc in describe(config):
        lines.append(f"  --config.{path} (default: {value!r})")
        lines.append(f"      {doc or 'UNDOCUMENTED'}")
    return "\n".join(lines)
