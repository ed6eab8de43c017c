"""Locating the raw data folder and, when asked, fetching it from PhysioNet with wfdb."""

from __future__ import annotations

import os

from ecgq.data.errors import DataError

# dataset -> (PhysioNet database slug, $ECGQ_DATA sub-folder, file that proves the folder is usable)
SOURCES = {
    "mitbih": ("mitdb", "mitdb", "RECORDS"),
    "ptbxl": ("ptb-xl", "ptbxl_subset500", "ptbxl_database.csv"),
}


def resolve_data_dir(cfg) -> str:
    """The configured data_dir, or ``$ECGQ_DATA/<default sub-folder>``; fails naming the flag."""
    if cfg.data_dir:
        return os.path.expanduser(str(cfg.data_dir))
    root = os.environ.get("ECGQ_DATA")
    if root and cfg.name in SOURCES:
        return os.path.join(os.path.expanduser(root), SOURCES[cfg.name][1])
    raise DataError(f"No data folder for dataset {cfg.name!r}: set --config.data.data_dir=DIR "
                    "(or $ECGQ_DATA for mitbih/ptbxl).")


def ensure_data(cfg, data_dir: str) -> None:
    """Fail clearly (or download when ``data.download``) if ``data_dir`` lacks the dataset."""
    if cfg.name not in SOURCES:
        if not os.path.isdir(data_dir):
            raise DataError(f"Data folder {data_dir!r} does not exist; point data.data_dir at your "
                            "WFDB folder.")
        return
    slug, _, marker = SOURCES[cfg.name]
    if os.path.exists(os.path.join(data_dir, marker)):
        return
    if not cfg.download:
        raise DataError(
            f"{cfg.name} data not found at {data_dir!r} (no {marker}). Download it from "
            f"https://physionet.org/content/{slug}/ (e.g. wget -r -np https://physionet.org/files/{slug}/), "
            "or rerun with --config.data.download=True, or fix data.data_dir / $ECGQ_DATA.")
    import wfdb

    os.makedirs(data_dir, exist_ok=True)
    try:
        wfdb.dl_database(slug, data_dir)
        if cfg.name == "ptbxl":
            wfdb.dl_files(slug, data_dir, ["ptbxl_database.csv", "scp_statements.csv"])
        if cfg.name == "mitbih":
            wfdb.dl_files(slug, data_dir, ["RECORDS"])
    except Exception as error:
        raise DataError(f"Downloading {slug} from PhysioNet into {data_dir!r} failed ({error}); "
                        "check the network or download it by hand.") from error
