"""Atomic file writes: after a crash (even ``kill -9``) a path holds its old content or its new
content, never half of the new one, and no temporary file is left behind under the real name.

Every cache, stage record and report of ecgq is written through here, because a resumed study
trusts whatever it finds on disk.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from typing import IO, Any

# Name prefix of the temporary file beside the target while a write is in flight (a leftover one
# can only come from a crash between ``mkstemp`` and the cleanup, e.g. ``kill -9``).
TMP_PREFIX = ".tmp-"


def write_atomic(path: str, write: Callable[[IO[bytes]], None]) -> None:
    """Call ``write(handle)`` on a temporary file beside ``path``, fsync it, then rename it over
    ``path`` (atomic on POSIX). On any error the temporary file is removed and the error raised."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=TMP_PREFIX, suffix=os.path.splitext(path)[1])
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.remove(tmp)
        except OSError:
            pass  # already gone, or removal failed too: raise the error that matters
        raise


def write_json_atomic(path: str, obj: Any, **dump_kwargs) -> None:
    """``json.dump(obj)`` into ``path`` atomically (indent 1 unless given)."""
    dump_kwargs.setdefault("indent", 1)
    text = json.dumps(obj, **dump_kwargs)
    write_atomic(path, lambda handle: handle.write(text.encode()))
