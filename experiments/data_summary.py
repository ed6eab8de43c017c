"""Study ``data_summary``: print per-split counts of a dataset and save them as JSON.

Presets: ``:synthetic`` (default, offline), ``:mitbih``, ``:ptbxl``, ``:wfdb_folder``.
Example: python launch.py --config=experiments/data_summary.py:mitbih --workdir=runs/ds
"""

import ml_collections

from ecgq.data import data_config


def get_config(arg=None) -> ml_collections.ConfigDict:
    config = ml_collections.ConfigDict()
    config.study = "data_summary"
    config.seed = 0
    config.data = data_config(arg or "synthetic")
    return config
