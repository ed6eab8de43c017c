"""Locating the raw data folder and, when asked, fetching it from PhysioNet with wfdb."""

from __future__ import annotations

import os

from ecgq.data.errors import DataError


def resolve_data_dir(cfg, spec) -> str:
    """The configured data_dir, or ``$ECGQ_DATA/<default sub-folder>``; fails naming the flag."""
    if cfg.data_dir:
        return os.path.expanduser(str(cfg.data_dir))
    root = os.environ.get("ECGQ_DATA")
    if root and spec.physionet is not None:
        return os.path.join(os.path.expanduser(root), spec.physionet.subdir)
    hint = " (or $ECGQ_DATA)" if spec.physionet is not None else ""
    raise DataError(f"No data folder for dataset {cfg.name!r}: set --config.data.data_dir=DIR{hint}.")


def check_data_dir(cfg, data_dir: str, spec) -> bool:
    """True when ``data_dir`` holds the dataset; False when it is missing but may be downloaded."""
    if spec.physionet is None:
        if not os.path.isdir(data_dir):
            raise DataError(f"Data folder {data_dir!r} does not exist (--config.data.data_dir); point it "
                            "at your WFDB folder.")
        return True
    source = spec.physionet
    if os.path.exists(os.path.join(data_dir, source.marker)):
        return True
    if not cfg.download:
        raise DataError(
            f"{cfg.name} data not found at {data_dir!r} (no {source.marker}). Download it from "
            f"https://physionet.org/content/{source.slug}/ (e.g. wget -r -np "
            f"https://physionet.org/files/{source.slug}/), or rerun with --config.data.download=True, "
            "or fix --config.data.data_dir / $ECGQ_DATA.")
    return False


def ensure_data(cfg, data_dir: str, spec) -> None:
    """Fail clearly (or download when ``data.download``) if ``data_dir`` lacks the dataset."""
    if check_data_dir(cfg, data_dir, spec):
        return
    import wfdb

    source = spec.physionet
    os.makedirs(data_dir, exist_ok=True)
    try:
        wfdb.dl_database(source.slug, data_dir)
        if source.extra_files:
            wfdb.dl_files(source.slug, data_dir, list(source.extra_files))
    except Exception as error:
        raise DataError(f"Downloading {source.slug} from PhysioNet into {data_dir!r} failed ({error}); "
                        "check the network or download it by hand.") from error
