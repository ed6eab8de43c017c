"""Reading one WFDB record with leads chosen by name, turning wfdb's varied failures into RecordError."""

from __future__ import annotations

import os

import numpy as np
import wfdb

from ecgq.data.errors import SKIP_HINT, RecordError


def parse_leads(leads: str) -> tuple[str, ...]:
    """'MLII, V1' -> ('MLII', 'V1'); '' -> () meaning all leads."""
    return tuple(name.strip() for name in str(leads).split(",") if name.strip())


def read_record(path: str, leads: tuple[str, ...]) -> tuple[np.ndarray, float, tuple[str, ...]]:
    """(signal (time, leads) float64 in physical units, fs, lead names) of WFDB record ``path``.

    Leads are selected by ``sig_name``, never by position (channel order differs between records).
    """
    record = os.path.basename(path)
    if not os.path.exists(path + ".hea"):
        raise RecordError(record, "missing_record", f"WFDB record {path!r} not found (no {path}.hea); "
                          f"check data_dir / the labels CSV, or {SKIP_HINT}.")
    try:
        header = wfdb.rdheader(path)
    except Exception as error:  # wfdb raises many types for malformed headers
        raise RecordError(record, "corrupt_record", f"Cannot read header {path}.hea ({error}); "
                          f"re-download the record or {SKIP_HINT}.") from error
    names = tuple(header.sig_name or ())
    if leads:
        missing = [lead for lead in leads if lead not in names]
        if missing:
            raise RecordError(record, "missing_lead", f"Record {path} has no lead {missing} "
                              f"(it has {list(names)}); pick another data.leads or "
                              f"{SKIP_HINT}.")
        channels = [names.index(lead) for lead in leads]
    else:
        channels = list(range(len(names)))
    try:
        rec = wfdb.rdrecord(path, channels=channels, physical=True)
    except Exception as error:
        raise RecordError(record, "corrupt_record", f"Cannot read signal of {path} ({error}); "
                          f"re-download the record or {SKIP_HINT}.") from error
    signal = rec.p_signal
    if signal is None or signal.ndim != 2 or len(signal) == 0:
        raise RecordError(record, "corrupt_record", f"Record {path} has no samples; "
                          f"re-download it or {SKIP_HINT}.")
    return signal, float(rec.fs), tuple(names[c] for c in channels)
