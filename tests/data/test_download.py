"""data.download=True against a local PhysioNet-layout mirror of a few MIT-BIH records (no network).

The server (http.server in a thread on 127.0.0.1) serves ``/mitdb/1.0.0/`` with RECORDS, ANNOTATORS,
SHA256SUMS.txt and records 100 and 101; a test can make one file answer 404, end its transfer
early (a Content-Length longer than the body) or arrive corrupted (same length, other bytes).
"""

from __future__ import annotations

import filecmp
import functools
import hashlib
import http.server
import os
import threading

import numpy as np
import pytest

from ecgq.atomic import TMP_PREFIX
from ecgq.data import DataError, check_data_config, data_config, download, load_splits

SERVED = ("100", "101")


class _Mirror(http.server.SimpleHTTPRequestHandler):
    broken: dict[str, str] = {}  # URL path -> "404" | "truncate" | "corrupt"

    def do_GET(self):
        mode = self.broken.get(self.path)
        if mode is None:
            return super().do_GET()
        if mode == "404":
            return self.send_error(404)
        with open(self.translate_path(self.path), "rb") as handle:
            body = handle.read()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if mode == "truncate":
            self.wfile.write(body[: len(body) // 3])
            self.close_connection = True
        else:
            self.wfile.write(bytes([body[0] ^ 0xFF]) + body[1:])

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def mirror(tmp_path_factory, mitdb_dir):
    """URL of the index root of a local mirror holding mitdb/1.0.0 (records 100 and 101)."""
    root = tmp_path_factory.mktemp("physionet")
    db = root / "mitdb" / "1.0.0"
    db.mkdir(parents=True)
    for r in SERVED:
        for ext in ("hea", "dat", "atr"):
            os.symlink(mitdb_dir / f"{r}.{ext}", db / f"{r}.{ext}")
    (db / "RECORDS").write_text("\n".join(SERVED) + "\n")
    (db / "ANNOTATORS").write_text("atr\treference beat, rhythm, and signal quality annotations\n")
    sums = [f"{hashlib.sha256((db / name).read_bytes()).hexdigest()} {name}"
            for name in sorted(os.listdir(db))]
    (db / "SHA256SUMS.txt").write_text("\n".join(sums) + "\n")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Mirror, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    thread.join()


@pytest.fixture
def broken():
    yield _Mirror.broken
    _Mirror.broken.clear()


def _cfg(name, data_dir, url, **fields):
    cfg = data_config(name)
    cfg.data_dir, cfg.cache, cfg.download = str(data_dir), False, True
    cfg.physionet_db, cfg.download_url = "mitdb/1.0.0", url
    if name == "wfdb_beats":
        cfg.wfdb_beats.split = "all_test"
    cfg.update(fields)
    return cfg


def _leftovers(folder):
    return [p for p in os.listdir(folder) if p.startswith(TMP_PREFIX)]


def test_wfdb_beats_downloads_a_physionet_database(mirror, tmp_path, mitdb_dir):
    target = tmp_path / "data" / "mitdb_copy"
    s = load_splits(_cfg("wfdb_beats", target, mirror))
    assert set(s.test.record) == set(SERVED)
    expected = {f"{r}.{e}" for r in SERVED for e in ("hea", "dat", "atr")} | {"RECORDS", "ANNOTATORS", "SHA256SUMS.txt"}
    assert set(os.listdir(target)) == expected
    for r in SERVED:
        for ext in ("hea", "dat", "atr"):
            assert filecmp.cmp(target / f"{r}.{ext}", mitdb_dir / f"{r}.{ext}", shallow=False)
    assert not _leftovers(tmp_path / "data")
    assert oct(os.stat(target).st_mode & 0o777) != oct(0o700)  # not mkdtemp's private mode
    # present now: a second load reads the folder and downloads nothing (the server is not asked)
    again = load_splits(_cfg("wfdb_beats", target, "http://127.0.0.1:9/"))
    np.testing.assert_array_equal(again.test.y, s.test.y)


def test_mitbih_downloads_through_the_mirror_named_by_the_environment(mirror, tmp_path, monkeypatch):
    monkeypatch.setenv(download.URL_ENV, mirror)
    target = tmp_path / "mitdb"
    cfg = _cfg("mitbih", target, "", skip_bad_records=True)
    s = load_splits(cfg)  # only 100 (DS2) and 101 (DS1) exist on the mirror
    assert set(s.train.record) | set(s.val.record) == {"101"} and set(s.test.record) == {"100"}
    assert (target / "RECORDS").exists()


@pytest.mark.parametrize("mode, message", [
    ("404", r"101\.dat failed: not found"),
    ("truncate", r"101\.dat failed \(ChunkedEncodingError"),
    ("corrupt", r"101\.dat does not match its SHA256"),
])
def test_a_broken_download_leaves_nothing_in_data_dir(mirror, tmp_path, broken, mode, message):
    broken["/mitdb/1.0.0/101.dat"] = mode
    target = tmp_path / "new"
    with pytest.raises(DataError, match=message):
        load_splits(_cfg("wfdb_beats", target, mirror))
    assert not target.exists() and not _leftovers(tmp_path)
    existing = tmp_path / "existing"  # a folder the user made, with a file of their own
    existing.mkdir()
    (existing / "notes.txt").write_text("mine")
    with pytest.raises(DataError, match=message):
        load_splits(_cfg("wfdb_beats", existing, mirror))
    assert os.listdir(existing) == ["notes.txt"] and not _leftovers(tmp_path)


def test_a_partial_folder_is_completed_with_the_marker_last(mirror, tmp_path, mitdb_dir):
    target = tmp_path / "partial"
    target.mkdir()
    (target / "100.dat").write_bytes((mitdb_dir / "100.dat").read_bytes()[:1000])  # an old broken attempt
    download.ensure_data(_cfg("wfdb_beats", target, mirror), str(target), _spec("wfdb_beats"))
    assert filecmp.cmp(target / "100.dat", mitdb_dir / "100.dat", shallow=False)
    assert (target / "RECORDS").read_text().split() == list(SERVED) and not _leftovers(tmp_path)


def _spec(name):
    from ecgq.data.registry import dataset

    return dataset(name)


def test_download_settings_are_checked(mirror, tmp_path, broken):
    with pytest.raises(DataError, match=r"needs its version.*physionet_db=mitdb/VERSION"):
        load_splits(_cfg("wfdb_beats", tmp_path / "a", mirror, physionet_db="mitdb"))
    with pytest.raises(DataError, match=r"dataset 'mitbih' is PhysioNet's 'mitdb'"):
        check_data_config(_cfg("mitbih", tmp_path / "b", mirror, physionet_db="incartdb/1.0.0"))
    with pytest.raises(DataError, match=r"physionet_db='\.\./etc' is not a PhysioNet database"):
        check_data_config(_cfg("wfdb_beats", tmp_path / "c", mirror, physionet_db="../etc"))
    with pytest.raises(DataError, match=r"incartdb/1\.0\.0/ has no RECORDS file"):
        load_splits(_cfg("wfdb_beats", tmp_path / "d", mirror, physionet_db="incartdb/1.0.0"))
    assert not (tmp_path / "d").exists() and not _leftovers(tmp_path)
    broken["/mitdb/1.0.0/100.hea"] = "404"
    with pytest.raises(DataError, match=r"100\.hea failed: not found"):
        load_splits(_cfg("wfdb_beats", tmp_path / "e", mirror))
    no_download = _cfg("wfdb_beats", tmp_path / "f", mirror, download=False)
    with pytest.raises(DataError, match=r"does not exist.*physionet_db=SLUG.*download=True"):
        load_splits(no_download)


def test_a_named_database_lives_under_its_slug_in_ecgq_data(tmp_path, monkeypatch):
    monkeypatch.setenv("ECGQ_DATA", str(tmp_path))
    cfg = data_config("wfdb_beats")
    cfg.physionet_db = "incartdb/1.0.0"
    assert download.resolve_data_dir(cfg, _spec("wfdb_beats")) == str(tmp_path / "incartdb")
    cfg.physionet_db = ""
    with pytest.raises(DataError, match="set --config.data.data_dir=DIR"):
        download.resolve_data_dir(cfg, _spec("wfdb_beats"))
    mit = data_config("mitbih")
    mit.physionet_db = "mitdb/1.0.0"  # a fixed source keeps its folder; the version only pins the download
    assert download.resolve_data_dir(mit, _spec("mitbih")) == str(tmp_path / "mitdb")
