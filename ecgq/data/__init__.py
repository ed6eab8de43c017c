"""ECG data layer: real (MIT-BIH, PTB-XL, any WFDB folder) and synthetic ECG as leak-free Splits.

``load_splits(config.data)`` is the only entry point other layers need (docs/CONTRACTS.md);
``DATASETS`` lists the registered datasets (one module each under ``ecgq/data/``).
"""

from ecgq.data.config import check_data_config, data_config, data_docs, with_dataset_defaults
from ecgq.data.errors import DataError
from ecgq.data.registry import DATASETS, DatasetSpec, load_splits
from ecgq.data.types import DatasetInfo, Split, Splits

__all__ = ["DATASETS", "DataError", "DatasetInfo", "DatasetSpec", "Split", "Splits", "check_data_config",
           "data_config", "data_docs", "load_splits", "with_dataset_defaults"]
