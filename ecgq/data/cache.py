"""On-disk cache of processed Splits, keyed by the source files' identity and the data config.

Key = sha256 of (cache format version, the data layer's own source code, the data config minus
where-to fields, and each source file's (name, size, mtime)). Touching or replacing a raw file,
changing any data field, or editing the loaders gives a new key, so a stale entry is never served.
Writes go to a temporary file in the cache folder and are moved into place with ``os.replace``
(atomic on POSIX), so a crash never leaves a half-written entry under the real name.

The cache is only a speed-up: a folder that cannot be written (full disk, no permission) gives a
warning and the data is used uncached; an entry that cannot be read is a miss (warning) and is
rebuilt. Neither ever stops a run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os

import numpy as np

from ecgq.atomic import write_atomic
from ecgq.data.errors import warn_skipped
from ecgq.data.types import DatasetInfo, Split, Splits

log = logging.getLogger(__name__)

# 2: DatasetInfo.skipped is stored (entries of version 1 lack it and still load, with it empty).
FORMAT_VERSION = 2
_NOT_KEYED = ("cache", "cache_dir", "download", "data_dir", "download_url")


def cache_dir(cfg) -> str:
    """data.cache_dir, else $ECGQ_CACHE, else ~/.cache/ecgq."""
    return os.path.expanduser(cfg.cache_dir or os.environ.get("ECGQ_CACHE") or "~/.cache/ecgq")


def _code_digest() -> str:
    """Hash of this package's .py files: processing changes must invalidate cached arrays."""
    h = hashlib.sha256()
    here = os.path.dirname(os.path.abspath(__file__))
    for name in sorted(os.listdir(here)):
        if name.endswith(".py"):
            with open(os.path.join(here, name), "rb") as f:
                h.update(name.encode() + f.read())
    return h.hexdigest()


def cache_key(cfg, files: list[str]) -> str:
    """Hash of the config (minus where-to fields) and the identity of every source file."""
    config = {k: v for k, v in cfg.to_dict().items() if k not in _NOT_KEYED}
    ident = []
    for path in files:
        try:
            st = os.stat(path)
            ident.append((os.path.basename(path), st.st_size, st.st_mtime_ns))
        except FileNotFoundError:
            ident.append((os.path.basename(path), None, None))
    blob = json.dumps([FORMAT_VERSION, _code_digest(), config, ident], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def cache_path(cfg, files: list[str]) -> str:
    return os.path.join(cache_dir(cfg), f"{cfg.name}-{cfg.task}-{cache_key(cfg, files)}.npz")


def save(path: str, splits: Splits) -> bool:
    """Write ``splits`` to ``path`` atomically (temp file + os.replace); nothing partial on failure.

    Returns False, after a warning naming the folder and the fix, when the cache folder cannot be
    created or written (OSError: full disk, read-only, no permission); the caller goes on uncached.
    """
    folder = os.path.dirname(os.path.abspath(path))
    arrays = {}
    for name, split in splits.items():
        arrays.update({f"{name}.x": split.x, f"{name}.y": split.y, f"{name}.record": split.record,
                       f"{name}.patient": split.patient})
        for optional in ("rr", "beat"):
            if getattr(split, optional) is not None:
                arrays[f"{name}.{optional}"] = getattr(split, optional)
    info = splits.info
    arrays["info"] = np.array(json.dumps({
        "name": info.name, "task": info.task, "class_names": list(info.class_names),
        "multilabel": info.multilabel, "sampling_rate": info.sampling_rate,
        "lead_names": list(info.lead_names), "dropped": info.dropped,
        "skipped": {s: {r: list(ids) for r, ids in by.items()} for s, by in info.skipped.items()}}))
    try:
        os.makedirs(folder, exist_ok=True)
        write_atomic(path, lambda handle: np.savez(handle, **arrays))
    except OSError as error:
        log.warning("Cannot write the data cache in %r (%s); continuing without it. Free space or "
                    "fix permissions there, point data.cache_dir (or $ECGQ_CACHE) at a writable "
                    "folder, or set data.cache=False.", folder, error)
        return False
    return True


def load(path: str) -> Splits | None:
    """The cached Splits at ``path``, or None when absent or unreadable (then it is rebuilt)."""
    if not os.path.exists(path):
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["info"]))
            splits = {}
            for name in ("train", "val", "test"):
                optional = {k: z[f"{name}.{k}"] for k in ("rr", "beat") if f"{name}.{k}" in z.files}
                splits[name] = Split(x=z[f"{name}.x"], y=z[f"{name}.y"], record=z[f"{name}.record"],
                                     patient=z[f"{name}.patient"], **optional)
        info = DatasetInfo(name=meta["name"], task=meta["task"], class_names=tuple(meta["class_names"]),
                           multilabel=meta["multilabel"], sampling_rate=meta["sampling_rate"],
                           lead_names=tuple(meta["lead_names"]), dropped=meta["dropped"],
                           skipped=meta.get("skipped", {}))
    except Exception as error:  # noqa: BLE001 - a bad entry is a miss whatever numpy/json raise
        log.warning("Data cache entry %r is unreadable (%s: %s); rebuilding it. If this repeats, "
                    "delete the entry or set data.cache=False.", path, type(error).__name__, error)
        return None
    warn_skipped(info.name, info.skipped, context=" when this cache entry was built")
    return Splits(info=info, **splits)
