"""ECG data layer: real (MIT-BIH, PTB-XL, any WFDB folder) and synthetic ECG as leak-free Splits.

``load_splits(config.data)`` is the only entry point other layers need (docs/CONTRACTS.md).
"""

from ecgq.data.errors import DataError
from ecgq.data.registry import load_splits
from ecgq.data.types import DatasetInfo, Split, Splits

__all__ = ["DataError", "DatasetInfo", "Split", "Splits", "load_splits"]
