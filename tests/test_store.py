"""The lab store: exactly-once ingestion, quarantine, crash safety, watch, Dask."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from labkit.cli import main
from labkit.examples import write_examples
from labkit.fileio import sha256_of
from labkit.ingest import ingest, watch
from labkit.parquet import read_parquet
from labkit.store import Store


@pytest.fixture(scope="module")
def examples(tmp_path_factory) -> Path:
    return Path(tmp_path_factory.mktemp("examples"))


@pytest.fixture(scope="module")
def example_files(examples) -> list[Path]:
    return [p for p in write_examples(examples) if p.name.endswith(".bdf.csv")]


def _source_folder(tmp_path: Path, example_files: list[Path], copies: int = 1) -> Path:
    source = tmp_path / "exports"
    for copy in range(copies):
        folder = source / f"channel_{copy:02d}"
        folder.mkdir(parents=True)
        for path in example_files:
            shutil.copy(path, folder / path.name)
    return source


def _assert_consistent(store: Store, sources: list[Path]) -> None:
    rows = store.query(status="ok")
    assert sorted(rows["path"]) == sorted(str(p.resolve()) for p in sources)
    assert rows["path"].is_unique, "a file was ingested twice"
    assert store.check() == {"missing_outputs": [], "orphans": [], "temporaries": []}
    for output, n in zip(rows["output"], rows["rows"], strict=True):
        assert len(read_parquet(store.path / output).data) == n


def test_ingest_once_then_skip_and_sources_untouched(tmp_path, example_files):
    source = _source_folder(tmp_path, example_files)
    files = sorted(source.rglob("*.csv"))
    hashes = {p: sha256_of(p) for p in files}
    store = Store(tmp_path / "store")
    first = ingest([source], store)
    assert (first.ingested, first.skipped, first.quarantined) == (len(files), 0, 0)
    again = ingest([source], store)
    assert (again.ingested, again.skipped) == (0, len(files))
    _assert_consistent(store, files)
    assert {p: sha256_of(p) for p in files} == hashes
    record = store.load(files[0])
    assert record.meta.source_sha256 == hashes[files[0]]


def test_a_touched_but_unchanged_file_is_known_by_its_sha256(tmp_path, example_files):
    """The catalog's identity of a source is the SHA-256 hex of its bytes, as every labkit
    version wrote it: with the mtime changed, the skip check hashes the file and finds the
    row the deferred digest of labkit.read committed."""
    source = _source_folder(tmp_path, example_files)
    files = sorted(source.rglob("*.csv"))
    store = Store(tmp_path / "store")
    ingest([source], store)
    assert sorted(store.query(status="ok")["sha256"]) == sorted(sha256_of(p) for p in files)
    for path in files:
        os.utime(path, (time.time() + 60, time.time() + 60))
    again = ingest([source], store)
    assert (again.ingested, again.skipped) == (0, len(files))


def test_changed_file_is_reingested_and_old_version_kept(tmp_path, example_files):
    source = _source_folder(tmp_path, example_files)
    store = Store(tmp_path / "store")
    ingest([source], store)
    target = next(source.rglob("ccd_*.bdf.csv"))
    old = store.query(path=str(target.resolve()))
    text = target.read_text().splitlines()
    target.write_text("\n".join(text[:-10]) + "\n")  # the cycler appended less this time
    report = ingest([source], store)
    assert report.ingested == 1
    versions = store.query(path=str(target.resolve()))
    assert versions["status"].tolist() == ["superseded", "ok"]
    assert (store.path / old["output"].iloc[0]).exists(), "old version's record was deleted"
    assert versions["rows"].iloc[1] == versions["rows"].iloc[0] - 10


def test_corrupt_file_is_quarantined_and_batch_goes_on(tmp_path, example_files, capsys):
    source = _source_folder(tmp_path, example_files)
    (source / "broken.mpr").write_bytes(b"BIO-LOGIC MODULAR FILE\x1a" + b"\x00" * 10)
    (source / "notes.txt").write_text("not instrument data\n")
    code = main(["ingest", str(source), "--store", str(tmp_path / "store"), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert report["ingested"] == len(example_files)
    assert report["quarantined"] == 2
    quarantined = {Path(f["path"]).name: f for f in report["files"] if f["status"] == "quarantined"}
    assert set(quarantined) == {"broken.mpr", "notes.txt"}
    assert quarantined["broken.mpr"]["error"]["file"].endswith("broken.mpr")
    main(["catalog", str(tmp_path / "store"), "--status", "quarantined", "--json"])
    listed = json.loads(capsys.readouterr().out)["files"]
    assert {Path(f["path"]).name for f in listed} == {"broken.mpr", "notes.txt"}
    assert all(f["error"]["message"] for f in listed)


def _ingest_process(source: Path, store: Path, workers: int = 2) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "labkit", "ingest", str(source), "--store", str(store),
         "--workers", str(workers), "--json"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


@pytest.mark.slow
def test_kill_9_mid_batch_then_rerun_ingests_each_file_exactly_once(tmp_path, example_files):
    source = _source_folder(tmp_path, example_files, copies=25)  # ~3 s of work on 2 cores
    files = sorted(source.rglob("*.csv"))
    store_path = tmp_path / "store"
    done_after_kill = []
    for delay in (0.8, 1.1, 1.4, 1.7):
        process = _ingest_process(source, store_path)
        time.sleep(delay)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        done_after_kill.append(len(Store(store_path).query(status="ok")))
    assert min(done_after_kill) < len(files), "no kill landed before the batch finished"
    finished = _ingest_process(source, store_path)
    assert finished.wait(timeout=300) == 0
    store = Store(store_path)
    _assert_consistent(store, files)


@pytest.mark.slow
def test_two_ingesters_on_one_store_do_not_double_ingest(tmp_path, example_files):
    source = _source_folder(tmp_path, example_files, copies=3)
    files = sorted(source.rglob("*.csv"))
    store_path = tmp_path / "store"
    Store(store_path)
    first, second = _ingest_process(source, store_path, 1), _ingest_process(source, store_path, 1)
    assert first.wait(timeout=300) == 0 and second.wait(timeout=300) == 0
    _assert_consistent(Store(store_path), files)


def test_watch_ingests_a_file_only_once_it_is_complete(tmp_path, example_files):
    source = tmp_path / "share"
    source.mkdir()
    store = Store(tmp_path / "store")
    content = example_files[0].read_bytes()
    target = source / example_files[0].name

    def slow_writer():
        with open(target, "wb") as handle:
            for start in range(0, len(content), len(content) // 8 + 1):
                handle.write(content[start:start + len(content) // 8 + 1])
                handle.flush()
                time.sleep(0.15)

    writer = threading.Thread(target=slow_writer)
    writer.start()
    watch([source], store, interval_second=0.1, settle_second=0.5, max_polls=40,
          log=lambda message: None)
    writer.join()
    rows = store.query()
    assert rows["status"].tolist() == ["ok"]
    assert rows["sha256"].iloc[0] == sha256_of(target), "a half-written file was ingested"


@pytest.mark.slow
def test_ingest_on_a_dask_local_cluster(tmp_path, example_files):
    distributed = pytest.importorskip("dask.distributed")
    source = _source_folder(tmp_path, example_files, copies=2)
    files = sorted(source.rglob("*.csv"))
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        report = ingest([source], tmp_path / "store", dask=client)
    assert report.ingested == len(files)
    _assert_consistent(Store(tmp_path / "store"), files)


def test_analysis_hooks_store_results_in_the_catalog(tmp_path):
    from labkit.examples import pellet_impedance

    source = tmp_path / "exports"
    source.mkdir()
    write_examples(source)
    report = ingest([source], tmp_path / "store", hooks=["cycles", "eis_fit:pellet"])
    assert report.quarantined == 0
    results = Store(tmp_path / "store").analyses()
    cycles = results[(results["name"] == "cycles")
                     & results["path"].str.endswith("cycling_cell.bdf.csv")]
    table = json.loads(cycles["result"].iloc[0])["cycles"]
    assert len(table) == 30  # labkit.examples.cycling_cell: 30 cycles
    fits = results[(results["name"] == "eis_fit:pellet")
                   & results["path"].str.endswith("pellet_eis_25C.csv")]
    fit = json.loads(fits["result"].iloc[0])["fits"][0]
    truth = pellet_impedance(25).meta.extra
    assert fit["parameters"]["R1"]["value"] == pytest.approx(truth["r_bulk_ohm"], rel=0.05)
    assert fit["parameters"]["R2"]["value"] == pytest.approx(truth["r_gb_ohm"], rel=0.05)
    skipped = results[(results["name"] == "eis_fit:pellet")
                      & results["path"].str.endswith("cycling_cell.bdf.csv")]
    assert json.loads(skipped["result"].iloc[0]) == {"skipped": "not an impedance record"}
