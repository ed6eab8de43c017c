"""Shared fixtures. Real-data tests read ``$ECGQ_DATA`` and fail (never skip) when it is missing."""

from __future__ import annotations

import os
import pathlib
import tempfile

import pytest

# The suite's small models spend most of their time in XLA's compiler, not in running: compile
# cheaply (LLVM's expensive passes off) and let the xdist workers and later runs share compiled
# programs. (The default threefry PRNG stays: XLA's rbg generator would compile faster but draws
# different bits under vmap, which would break the guarantee that vmapped members equal looped
# ones.) Set before JAX starts; a caller's own settings win.
os.environ.setdefault("XLA_FLAGS", "--xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true")
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", os.path.join(tempfile.gettempdir(), f"ecgq-tests-xla-{os.getuid()}"))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.2")


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


@pytest.fixture(scope="session")
def medmnist_dir(ecgq_data) -> pathlib.Path:
    """``$ECGQ_DATA/medmnist``: the official breastmnist.npz and pneumoniamnist.npz (28 px, grey, binary)."""
    path = ecgq_data / "medmnist"
    if not (path / "breastmnist.npz").is_file() or not (path / "pneumoniamnist.npz").is_file():
        pytest.fail(f"{path} lacks breastmnist.npz or pneumoniamnist.npz: see ../shared/data/README.md.")
    return path


@pytest.fixture
def x64():
    """Run the test with 64-bit JAX (restored afterwards, so other tests keep float32).

    The global flag rather than the ``jax.enable_x64`` context: the context is thread-local, and
    PennyLane's lightning callbacks run on another thread, where they would produce float32.
    Compiled programs are dropped afterwards: jitted helpers that PennyLane called with float64
    arrays (``jnp.dot`` in its expectation values) otherwise stay cached for float64 buffers, and
    a later float32 test in the same worker fails with a runtime input mismatch.
    """
    import jax  # not at the top: JAX must start after the XLA settings above

    previous = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    try:
        yield
    finally:
        jax.config.update("jax_enable_x64", previous)
        jax.clear_caches()


@pytest.fixture(scope="session")
def forced_devices():
    """``start(args, n_devices) -> subprocess.Popen``: ``python args...`` from the repository root
    with ``n_devices`` forced CPU devices (``--xla_force_host_platform_device_count``: read once, when
    JAX starts, hence a new process). Its stdout and stderr are captured (text)."""
    import subprocess
    import sys

    root = str(pathlib.Path(__file__).resolve().parent.parent)

    def start(args: list[str], n_devices: int) -> subprocess.Popen:
        env = dict(os.environ, JAX_PLATFORMS="cpu", PYTHONPATH=os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]))
        env["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count={n_devices}"
        return subprocess.Popen([sys.executable, *args], cwd=root, env=env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    return start
