"""One process of a 2-process CPU run (``jax.distributed`` over localhost, one device each):
``python tests/train/two_process_fit.py PORT PROCESS_ID OUT_DIR`` trains the fit of
``sharded_fit.fit_kwargs`` with its members split over both processes (mesh members=2), with
checkpoints, and process 0 saves the result for ``test_sharding.py`` to compare."""

from __future__ import annotations

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sharded_fit import fit_kwargs, flat, mesh_of  # noqa: E402


def main(port: str, process_id: str, out_dir: str) -> None:
    import jax

    from ecgq.train import distributed, loop

    settings = distributed.settings_from({"process_id": process_id},
                                         {"ECGQ_COORDINATOR_ADDRESS": f"localhost:{port}", "ECGQ_NUM_PROCESSES": "2"})
    distributed.initialize(settings)
    assert jax.process_count() == 2 and len(jax.devices()) == 2 and len(jax.local_devices()) == 1
    result = loop.fit(ckpt_dir=os.path.join(out_dir, "ckpt"), mesh=mesh_of(2, 1), **fit_kwargs())
    if distributed.is_primary():
        np.savez(os.path.join(out_dir, "two_processes.npz"), **flat(result))


if __name__ == "__main__":
    main(*sys.argv[1:])
