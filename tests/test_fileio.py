"""How ``labkit.read`` opens its input: once, whole up to 64 MiB; the digest it records is
the file's SHA-256 on every path (whole file: on first access, of the bytes parsed; head
read: hashed from disk in a worker thread, also from many threads and in a forked worker);
what is not a regular file is refused at once; ``detect`` reads only the head."""

from __future__ import annotations

import concurrent.futures
import hashlib
import multiprocessing
import os
import sys
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import labkit
from labkit.fileio import start_sha256
from labkit.registry import HEAD_BYTES, read_head

LARGE = 256 * 1024  # a file of several reads of a hashing chunk (and of the head)


def _random_file(tmp_path, size: int):
    path = tmp_path / f"random_{size}.bin"
    path.write_bytes(np.random.default_rng(size).bytes(size))
    return path


@pytest.mark.parametrize("size", [1, HEAD_BYTES - 1, HEAD_BYTES + 1, LARGE, 3 * LARGE + 7])
@pytest.mark.parametrize("read", [HEAD_BYTES, None], ids=["head read", "whole file read"])
def test_start_sha256_is_the_files_sha256(tmp_path, size, read):
    path = _random_file(tmp_path, size)
    data = path.read_bytes()
    assert start_sha256(path, data[:read], size)() == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("rows", [10, 100_000])  # inside the head; larger than it
def test_read_records_the_sha256_of_the_file(tmp_path, rows):
    path = tmp_path / "cell.csv"
    pd.DataFrame({"test_time_second": np.arange(rows, dtype=float),
                  "voltage_volt": np.linspace(3.0, 4.2, rows)}).to_csv(path, index=False)
    assert (path.stat().st_size > LARGE) == (rows > 10)
    record = labkit.read(path)
    assert record.meta.source_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert record.meta.source_size_byte == path.stat().st_size


def _hash_in_child(path, results) -> None:
    results.put(start_sha256(path, b"", path.stat().st_size)())


@pytest.mark.skipif(sys.platform != "linux", reason="fork start method")
def test_a_forked_worker_hashes_large_files_after_the_parent_did(tmp_path):
    path = _random_file(tmp_path, 2 * LARGE)
    expected = hashlib.sha256(path.read_bytes()).hexdigest()
    assert start_sha256(path, b"", path.stat().st_size)() == expected  # parent's thread runs
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    child = context.Process(target=_hash_in_child, args=(path, results))
    child.start()
    child.join(60)
    if child.is_alive():
        child.kill()
        pytest.fail("a forked process waited forever for its parent's hashing thread")
    assert results.get(timeout=10) == expected


def test_read_refuses_what_is_not_a_regular_file_without_waiting(tmp_path):
    with pytest.raises(labkit.LabkitError, match="no such file"):
        labkit.read(tmp_path / "missing.mpr")
    with pytest.raises(labkit.LabkitError, match="not a regular file"):
        labkit.read(tmp_path)
    if hasattr(os, "mkfifo"):  # opening a FIFO for reading blocks until a writer comes
        fifo = tmp_path / "pipe.mpr"
        os.mkfifo(fifo)
        with pytest.raises(labkit.LabkitError, match="not a regular file"):
            labkit.read(fifo)


@pytest.mark.parametrize("rows", [2, 100_000])  # hashed at once; in a worker thread
def test_a_file_is_read_once_for_sniffing_hashing_and_parsing(tmp_path, monkeypatch, rows):
    path = tmp_path / "cell.csv"
    pd.DataFrame({"test_time_second": np.arange(rows, dtype=float),
                  "voltage_volt": np.linspace(3.0, 3.1, rows)}).to_csv(path, index=False)
    expected = hashlib.sha256(path.read_bytes()).hexdigest()

    def read_again(self):
        raise AssertionError(f"{self} read a second time")

    monkeypatch.setattr(Path, "read_bytes", read_again)
    record = labkit.read(path)
    assert record.meta.source_sha256 == expected
    assert record.data["voltage_volt"].iloc[[0, -1]].tolist() == [3.0, 3.1]


def test_reads_from_many_threads_share_one_hashing_thread(tmp_path, monkeypatch):
    from labkit import registry

    monkeypatch.setattr(registry, "WHOLE_FILE_BYTE", 1000)  # hashed from disk, in the thread
    paths = []
    for k in range(4):
        path = tmp_path / f"cell{k}.csv"
        pd.DataFrame({"test_time_second": np.arange(60_000, dtype=float),
                      "voltage_volt": np.full(60_000, 3.0 + k)}).to_csv(path, index=False)
        paths.append(path)
    expected = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        records = list(pool.map(labkit.read, paths * 4))
    assert [r.meta.source_sha256 for r in records] == [expected[p] for p in paths * 4]
    hashing = [t for t in threading.enumerate() if t.name.startswith("labkit-sha256")]
    assert len(hashing) == 1


def test_detect_reads_only_the_head(tmp_path):
    path = _random_file(tmp_path, 3 * HEAD_BYTES)
    assert read_head(path) == path.read_bytes()[:HEAD_BYTES]


def test_a_file_larger_than_the_whole_read_limit_is_parsed_and_hashed_from_disk(
        tmp_path, monkeypatch):
    from labkit import registry

    path = tmp_path / "cell.csv"
    pd.DataFrame({"test_time_second": np.arange(20_000, dtype=float),
                  "voltage_volt": np.linspace(3.0, 4.0, 20_000)}).to_csv(path, index=False)
    assert path.stat().st_size > HEAD_BYTES  # only the head is read up front
    monkeypatch.setattr(registry, "WHOLE_FILE_BYTE", 1000)
    record = labkit.read(path)
    assert record.meta.source_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert len(record.data) == 20_000 and record.data["voltage_volt"].iloc[-1] == 4.0


def test_the_deferred_sha256_is_that_of_the_bytes_parsed(tmp_path):
    path = tmp_path / "cell.csv"
    pd.DataFrame({"test_time_second": [0.0, 1.0], "voltage_volt": [3.0, 3.1]}).to_csv(
        path, index=False)
    parsed = path.read_bytes()
    record = labkit.read(path)
    path.write_bytes(parsed.replace(b"3.1", b"3.2"))  # the file changes after the read
    assert record.meta.source_sha256 == hashlib.sha256(parsed).hexdigest()
    assert record.data["voltage_volt"].iloc[-1] == 3.1


def test_a_record_whose_sha256_was_not_asked_for_pickles_and_copies_with_it(tmp_path):
    import copy
    import dataclasses
    import pickle

    path = tmp_path / "cell.csv"
    pd.DataFrame({"test_time_second": [0.0, 1.0], "voltage_volt": [3.0, 3.1]}).to_csv(
        path, index=False)
    expected = hashlib.sha256(path.read_bytes()).hexdigest()
    for copied in (pickle.loads(pickle.dumps(labkit.read(path).meta)),
                   copy.deepcopy(labkit.read(path).meta),
                   dataclasses.replace(labkit.read(path).meta, channel="1")):
        assert copied.source_sha256 == expected
    assert labkit.read(path).meta == labkit.read(path).meta
    assert labkit.Metadata().source_sha256 is None
    assert labkit.Metadata(source_sha256="ab").to_dict()["source_sha256"] == "ab"
