"""A name -> entry table filled by the modules that define the entries.

Why: a model, dataset or study is added by writing one module that registers itself; nothing else
lists names. A registry knows the package its entries live in and imports every public module of
that package the first time it is asked for a name (discovery by module path), so registration
happens where things are defined and lookups never depend on import order.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator
from typing import Generic, TypeVar

from ecgq.errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    """Entries (any object with a ``name`` attribute) of one kind, found in ``package``."""

    def __init__(self, kind: str, package: str):
        self.kind = kind
        self.package = package
        self._entries: dict[str, T] = {}
        self._discovered = False

    def register(self, entry: T) -> T:
        """Add ``entry`` (returned, so this also works as a decorator on a named object)."""
        name = entry.name
        if name in self._entries and self._entries[name] != entry:
            raise RuntimeError(f"{self.kind} {name!r} is registered twice "
                               f"({self._entries[name]!r} and {entry!r})")
        self._entries[name] = entry
        return entry

    def _discover(self) -> None:
        if self._discovered:
            return
        self._discovered = True
        package = importlib.import_module(self.package)
        for module in pkgutil.iter_modules(package.__path__):
            if not module.name.startswith("_"):
                importlib.import_module(f"{self.package}.{module.name}")

    def names(self) -> tuple[str, ...]:
        self._discover()
        return tuple(sorted(self._entries))

    def entries(self) -> Iterator[T]:
        return (self._entries[name] for name in self.names())

    def __contains__(self, name: object) -> bool:
        return name in self.names()

    def get(self, name: str, field: str | None = None) -> T:
        """The entry ``name``; a ``ConfigError`` naming ``field`` and the valid names otherwise."""
        if name not in self.names():
            where = f" in --config.{field}" if field else ""
            raise ConfigError(f"Unknown {self.kind} {name!r}{where}; choose one of {list(self.names())}.")
        return self._entries[name]


def print_listing(rows: list[dict], as_json: bool, columns: dict[str, int]) -> None:
    """Print registry rows as one JSON list, or as aligned text (``columns``: field -> width,
    0 = the rest of the line; list values are joined with commas)."""
    import json

    if as_json:
        print(json.dumps(rows))
        return
    for row in rows:
        cells = []
        for field, width in columns.items():
            value = row[field]
            text = ", ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
            cells.append(f"{text:<{width}}" if width else text)
        print(" ".join(cells))
