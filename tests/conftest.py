"""Shared fixtures. Real-data tests read ``$ECGQ_DATA`` and fail (never skip) when it is missing."""

from __future__ import annotations

import os
import pathlib

import pytest


@pytest.fixture(scope="session")
def ecgq_data() -> pathlib.Path:
    """Root of the real ECG data (``mitdb/`` and ``ptbxl_subset500/``), from ``$ECGQ_DATA``."""
    root = os.environ.get("ECGQ_DATA")
    if not root:
        pytest.fail("ECGQ_DATA is not set: point it at the data folder (CI uses ../shared/data).")
    path = pathlib.Path(root).expanduser().resolve()
    if not (path / "mitdb").is_dir() or not (path / "ptbxl_subset500").is_dir():
        pytest.fail(f"ECGQ_DATA={root} lacks mitdb/ or ptbxl_subset500/: see ../shared/data/README.md.")
    return path


@pytest.fixture(scope="session")
def mitdb_dir(ecgq_data) -> pathlib.Path:
    return ecgq_data / "mitdb"


@pytest.fixture(scope="session")
def ptbxl_dir(ecgq_data) -> pathlib.Path:
    return ecgq_data / "ptbxl_subset500"
