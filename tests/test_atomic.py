"""Atomic writes: a failing writer leaves the old file intact and no temporary file behind."""

from __future__ import annotations

import json

import pytest

from ecgq.atomic import write_atomic, write_json_atomic


def test_failed_write_keeps_old_content_and_leaves_no_temp(tmp_path):
    path = tmp_path / "sub" / "results.json"
    write_json_atomic(str(path), {"a": 1})
    assert json.loads(path.read_text()) == {"a": 1}

    def crash(handle):
        handle.write(b'{"a": ')
        raise RuntimeError("interrupted mid-write")

    with pytest.raises(RuntimeError, match="mid-write"):
        write_atomic(str(path), crash)
    assert json.loads(path.read_text()) == {"a": 1}
    assert sorted(p.name for p in path.parent.iterdir()) == ["results.json"]
