"""Locating the raw data folder and, when asked, fetching a PhysioNet database into it.

A download must never leave ``data_dir`` looking complete when it is not: the loaders trust a
folder that holds the dataset's proof-of-data file (``PhysioNetSource.marker``, e.g. ``RECORDS``),
and a half-written signal file would be read as a corrupt or, worse, a shorter record. So every
file is fetched (with wfdb's own HTTP client) into a temporary folder beside ``data_dir``, checked
against the database's ``SHA256SUMS.txt`` (PhysioNet publishes one per database; a transfer that
ends early also fails on its Content-Length), and only then moved in: the whole folder is renamed
into place when ``data_dir`` does not exist yet, otherwise the files are moved one by one with the
marker last. On any failure the temporary folder is removed and ``data_dir`` is untouched.

Where from: ``<index>/<slug>/<version>/`` in PhysioNet's layout, the index being
``data.download_url``, else ``$ECGQ_PHYSIONET_URL``, else wfdb's (``wfdb.set_db_index_url``;
https://physionet.org/files/ by default). The version comes from ``data.physionet_db``
(``incartdb/1.0.0``) or, on PhysioNet itself, from wfdb's lookup of the latest one.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import re
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor

from ecgq.atomic import TMP_PREFIX
from ecgq.data.errors import DataError
from ecgq.data.types import PhysioNetSource

URL_ENV = "ECGQ_PHYSIONET_URL"
CHECKSUMS = "SHA256SUMS.txt"
# wfdb's HTTP session keeps two connections per host ("to avoid overloading the server").
CONNECTIONS = 2
_DB_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?")


def parse_physionet_db(text: str, where: str = "data") -> tuple[str, str]:
    """``'incartdb/1.0.0'`` -> ``('incartdb', '1.0.0')``; ``'incartdb'`` -> ``('incartdb', '')``."""
    text = str(text).strip().strip("/")
    if not _DB_PATTERN.fullmatch(text):
        raise DataError(f"--config.{where}.physionet_db={text!r} is not a PhysioNet database: give its slug, "
                        "optionally with a version (incartdb or incartdb/1.0.0).")
    slug, _, version = text.partition("/")
    return slug, version


def physionet_source(cfg, spec) -> PhysioNetSource | None:
    """Where ``cfg``'s data can be downloaded from: the dataset's own source, or ``data.physionet_db``.

    A dataset with a fixed source (mitbih: mitdb) accepts ``physionet_db`` only to pin its version;
    a dataset without one (wfdb_beats) downloads the named database into ``$ECGQ_DATA/<slug>``.
    """
    own = spec.physionet
    if not cfg.physionet_db:
        return own
    slug, _ = parse_physionet_db(cfg.physionet_db)
    if own is not None:
        if slug != own.slug:
            raise DataError(f"--config.data.physionet_db={cfg.physionet_db!r}: dataset {cfg.name!r} is "
                            f"PhysioNet's {own.slug!r}; only its version may be given "
                            f"({own.slug}/VERSION), or '' for the latest.")
        return own
    return PhysioNetSource(slug=slug, subdir=slug)


def index_url(cfg) -> str:
    """Root of the file index: data.download_url, $ECGQ_PHYSIONET_URL, else wfdb's configured index."""
    from wfdb.io import download as wfdb_download

    url = cfg.download_url or os.environ.get(URL_ENV) or wfdb_download.config.db_index_url
    return url.rstrip("/") + "/"


def database_url(cfg, source: PhysioNetSource) -> str:
    """``<index>/<slug>/<version>/`` of ``source``; the latest version is asked of PhysioNet itself."""
    from wfdb.io import download as wfdb_download

    _, version = parse_physionet_db(cfg.physionet_db) if cfg.physionet_db else (source.slug, "")
    index = index_url(cfg)
    if not version:
        if index != wfdb_download.PN_INDEX_URL.rstrip("/") + "/":
            raise DataError(f"Downloading {source.slug} from {index} needs its version: set "
                            f"--config.data.physionet_db={source.slug}/VERSION (the mirror's layout is "
                            f"{index}{source.slug}/VERSION/RECORDS).")
        try:
            version = wfdb_download.get_version(source.slug)
        except Exception as error:  # network errors of every kind
            raise DataError(f"Cannot ask PhysioNet for the latest version of {source.slug} ({error}); check "
                            f"the network or name it: --config.data.physionet_db={source.slug}/VERSION.") from error
    return f"{index}{source.slug}/{version}/"


def resolve_data_dir(cfg, spec) -> str:
    """The configured data_dir, or ``$ECGQ_DATA/<default sub-folder>``; fails naming the flag."""
    if cfg.data_dir:
        return os.path.expanduser(str(cfg.data_dir))
    root = os.environ.get("ECGQ_DATA")
    source = physionet_source(cfg, spec)
    if root and source is not None:
        return os.path.join(os.path.expanduser(root), source.subdir)
    hint = " (or $ECGQ_DATA)" if source is not None else ""
    raise DataError(f"No data folder for dataset {cfg.name!r}: set --config.data.data_dir=DIR{hint}.")


def check_data_dir(cfg, data_dir: str, spec) -> bool:
    """True when ``data_dir`` holds the dataset; False when it is missing but may be downloaded."""
    if spec.download is not None and cfg.download:  # the dataset fetches its own files, if missing
        return False
    source = physionet_source(cfg, spec)
    if spec.physionet is None:  # the user's own data, or a database named by data.physionet_db
        present = os.path.exists(data_dir)
        if present and (source is None or not cfg.download or os.path.exists(os.path.join(data_dir, source.marker))):
            return True
        if source is not None and cfg.download:
            return False
        raise DataError(f"Data folder {data_dir!r} does not exist (--config.data.data_dir); point it at your "
                        "data (a WFDB folder; arrays: a .npz file or a UCR folder), or name a PhysioNet "
                        "database with --config.data.physionet_db=SLUG and --config.data.download=True.")
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
    if spec.download is not None:
        spec.download(cfg, data_dir)
        return
    source = physionet_source(cfg, spec)
    download_database(database_url(cfg, source), data_dir, source.marker, source.extra_files)


def download_database(url: str, data_dir: str, marker: str = "RECORDS", extra_files=()) -> list[str]:
    """Fetch the WFDB database at ``url`` (PhysioNet layout) into ``data_dir``; its files, relative.

    What is fetched is what ``wfdb.dl_database`` fetches: ``RECORDS``, each record's header and
    the signal files it names, each record's annotation files of the annotators in
    ``ANNOTATORS`` (a record without one is fine), plus ``extra_files`` and ``SHA256SUMS.txt``.
    Atomic as the module says; a DataError names the file that failed.
    """
    data_dir = os.path.abspath(data_dir)
    parent = os.path.dirname(data_dir)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(dir=parent, prefix=f"{TMP_PREFIX}{os.path.basename(data_dir)}-")
    try:
        files = _fetch_database(url, tmp, marker, tuple(extra_files))
        _verify_checksums(url, tmp, files)
        _move_into_place(tmp, data_dir, files, marker)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return files


def _fetch(url: str, name: str, folder: str, required: bool = True) -> bool:
    """Download ``url + name`` to ``folder/name``; False when absent (404) and not ``required``."""
    from wfdb.io import download as wfdb_download

    local = os.path.join(folder, *name.split("/"))
    os.makedirs(os.path.dirname(local), exist_ok=True)
    try:
        wfdb_download.dl_full_file(url + name, local)
    except FileNotFoundError as error:  # wfdb's NetFileNotFoundError: HTTP 404
        if os.path.exists(local):
            os.remove(local)
        if not required:
            return False
        raise DataError(f"Download of {url}{name} failed: not found ({error}); check --config.data.physionet_db "
                        "and --config.data.download_url, or download the database by hand.") from error
    except Exception as error:  # connection errors, truncated transfers, HTTP errors
        raise DataError(f"Download of {url}{name} failed ({type(error).__name__}: {error}); nothing was "
                        "written to the data folder. Check the network and retry, or download the "
                        "database by hand.") from error
    return True


def _lines(path: str) -> list[str]:
    with open(path, encoding="utf-8", errors="replace") as handle:
        return [line.strip() for line in handle if line.strip() and not line.startswith("#")]


def _fetch_database(url: str, tmp: str, marker: str, extra_files: tuple[str, ...]) -> list[str]:
    import wfdb

    if not _fetch(url, "RECORDS", tmp, required=False):
        raise DataError(f"{url} has no RECORDS file: it is not a WFDB database in PhysioNet's layout; check "
                        "--config.data.physionet_db and --config.data.download_url.")
    records = _lines(os.path.join(tmp, "RECORDS"))
    nested = [r for r in records if r.endswith("/")]
    if nested:
        raise DataError(f"{url}RECORDS lists sub-databases ({nested[:3]}); download them one by one "
                        "(physionet_db=slug/version/...) or by hand with wfdb.dl_database.")
    annotators = []
    if _fetch(url, "ANNOTATORS", tmp, required=False):
        annotators = [line.split()[0] for line in _lines(os.path.join(tmp, "ANNOTATORS"))]
    files = ["RECORDS"] + (["ANNOTATORS"] if annotators else [])
    with ThreadPoolExecutor(CONNECTIONS) as pool:
        list(pool.map(lambda r: _fetch(url, f"{r}.hea", tmp), records))
        signals, optional = [], []
        for r in records:
            files.append(f"{r}.hea")
            try:
                header = wfdb.rdheader(os.path.join(tmp, r))
            except Exception as error:
                raise DataError(f"Downloaded header {url}{r}.hea is unreadable ({error}); the server sent a "
                                "broken file: retry, or download the database by hand.") from error
            if not isinstance(header, wfdb.Record):
                raise DataError(f"{url}{r} is a multi-segment record, which this downloader does not "
                                "fetch; download the database by hand with wfdb.dl_database.")
            folder = posixpath.dirname(r)
            signals += [posixpath.join(folder, f) for f in dict.fromkeys(header.file_name or ())]
            optional += [f"{r}.{a}" for a in annotators]
        signals += [f for f in extra_files if f not in files and f not in signals]
        signals = list(dict.fromkeys(signals))
        list(pool.map(lambda name: _fetch(url, name, tmp), signals))
        found = list(pool.map(lambda name: _fetch(url, name, tmp, required=False), optional))
    files += signals + [name for name, ok in zip(optional, found) if ok]
    if _fetch(url, CHECKSUMS, tmp, required=False):
        files.append(CHECKSUMS)
    if marker not in files:
        raise DataError(f"{url} lacks {marker}, the file that proves this dataset is present; check "
                        "--config.data.physionet_db.")
    return files


def _verify_checksums(url: str, tmp: str, files: list[str]) -> None:
    """Compare every fetched file listed in SHA256SUMS.txt with its digest (no list: nothing to do)."""
    path = os.path.join(tmp, CHECKSUMS)
    if not os.path.exists(path):
        return
    expected = {}
    for line in _lines(path):
        digest, _, name = line.partition(" ")
        expected[name.strip().lstrip("*").removeprefix("./")] = digest.lower()
    for name in files:
        if name not in expected:
            continue
        h = hashlib.sha256()
        with open(os.path.join(tmp, *name.split("/")), "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                h.update(block)
        if h.hexdigest() != expected[name]:
            raise DataError(f"Downloaded {url}{name} does not match its SHA256 in {url}{CHECKSUMS} (a truncated "
                            "or corrupted transfer); nothing was written to the data folder. Retry, or "
                            "download the database by hand.")


def _move_into_place(tmp: str, data_dir: str, files: list[str], marker: str) -> None:
    """Rename ``tmp`` to ``data_dir`` (absent or empty), else move its files in with ``marker`` last."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp's folder is private; the data folder is not
    if os.path.isdir(data_dir) and not os.listdir(data_dir):
        os.rmdir(data_dir)
    if not os.path.exists(data_dir):
        os.rename(tmp, data_dir)
        return
    for name in sorted(files, key=lambda f: f == marker):
        target = os.path.join(data_dir, *name.split("/"))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        os.replace(os.path.join(tmp, *name.split("/")), target)
    shutil.rmtree(tmp, ignore_errors=True)
