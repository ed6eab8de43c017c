"""Small helpers on ``ml_collections`` configs shared by every layer: leaves, docs, overrides.

Help texts are plain dicts ``{dotted path: help}`` written by the layer that owns the fields,
relative to its own sub-config; :func:`mount` places them under the path a study nests that
sub-config at, so a study's help is keyed by each field's full path and never guessed by suffix.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import ml_collections

from ecgq.errors import ConfigError


def leaves(config: ml_collections.ConfigDict, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted path, value) of every leaf field, depth first in insertion order."""
    for key, value in config.items():
        path = f"{prefix}{key}"
        if isinstance(value, ml_collections.ConfigDict):
            yield from leaves(value, path + ".")
        else:
            yield path, value


def mount(prefix: str, docs: Mapping[str, str]) -> dict[str, str]:
    """``docs`` of a sub-config re-keyed under ``prefix`` (``'students.cnn1d'`` + ``'hidden'``)."""
    return {f"{prefix}.{path}" if prefix else path: text for path, text in docs.items()}


def get_path(config: ml_collections.ConfigDict, path: str) -> Any:
    value: Any = config
    for part in path.split("."):
        value = value[part]
    return value


def has_path(config: ml_collections.ConfigDict, path: str) -> bool:
    try:
        get_path(config, path)
    except (KeyError, AttributeError, TypeError):
        return False
    return True


def set_path(config: ml_collections.ConfigDict, path: str, value: Any) -> None:
    head, _, last = path.rpartition(".")
    parent = get_path(config, head) if head else config
    with parent.unlocked():
        parent[last] = value


def changed_leaves(base: ml_collections.ConfigDict, final: ml_collections.ConfigDict) -> dict[str, Any]:
    """Leaves of ``final`` whose value differs from (or is absent in) ``base``: the overrides."""
    base_values = dict(leaves(base))
    return {path: value for path, value in leaves(final)
            if path not in base_values or base_values[path] != value}


def apply_overrides(config: ml_collections.ConfigDict, overrides: Mapping[str, Any],
                    what: str = "config") -> None:
    """Set every ``path -> value`` of ``overrides`` on ``config``; unknown paths name the field."""
    for path, value in overrides.items():
        if not has_path(config, path):
            raise ConfigError(f"{what} has no field {path!r}; see --helpfull for the fields.")
        set_path(config, path, value)
