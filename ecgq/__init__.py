"""ecgq: distil large ECG models into compact classical and quantum students.

One direction only: ``data`` knows nothing of models, ``models`` nothing of training,
``quantum`` nothing of ECG.
"""

__version__ = "0.1.0"
