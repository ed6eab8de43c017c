"""The tiny default quick study (``tiny_synthetic`` of conftest.py: teacher + cnn1d, 1 epoch), run
into a workdir: by ``test_sharded_study.py`` on one device, and as
``python tests/studies/sharded_study.py WORKDIR`` in a process with forced CPU devices."""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from study_helpers import load_experiment, shrink  # noqa: E402


def tiny_default_quick():
    config = shrink(load_experiment("default.py:quick"), students=("cnn1d",))
    config.eval.plots, config.eval.profile = False, False
    return config


def run(workdir: str):
    from ecgq import studies

    return studies.run(studies.prepare(None, tiny_default_quick()), workdir)


if __name__ == "__main__":
    run(sys.argv[1])
