"""The lab store: a folder of Parquet records plus a SQLite catalog of every source file.

Layout of a store folder::

    catalog.sqlite                       the catalog (WAL mode), created on first use
    records/<vendor>/<stem>__<sha12>.parquet   one parsed record per source file version

Record files are named by the source's content hash, so writing the same source
twice (a re-run after a crash, two ingesters racing) produces the same file, and
a catalog row is committed only after its Parquet file is durable. A process
killed at any point therefore leaves either no row (the next run redoes the
work, overwriting the same file) or a complete row pointing at a complete file.

Catalog statuses: ``ok`` (parsed, output written), ``quarantined`` (unreadable; the
error is kept), ``superseded`` (an older version of a source that has since
changed; its record is kept).
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

import pandas as pd

from labkit.errors import StoreError
from labkit.fileio import remove_dead_temporaries

STATUSES = ("ok", "quarantined", "superseded")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime REAL NOT NULL,
    sha256 TEXT NOT NULL,
    format TEXT,
    parser_version TEXT,
    status TEXT NOT NULL CHECK (status IN ('ok', 'quarantined', 'superseded')),
    error TEXT,
    rows INTEGER,
    kind TEXT,
    output TEXT,
    ingested_at TEXT NOT NULL,
    vendor TEXT,
    technique TEXT,
    start_time TEXT,
    sample TEXT,
    UNIQUE (path, sha256)
);
CREATE INDEX IF NOT EXISTS files_by_path ON files (path);
CREATE INDEX IF NOT EXISTS files_by_status ON files (status);
CREATE TABLE IF NOT EXISTS analyses (
    id INTEGER PRIMARY KEY,
    file_id INTEGER NOT NULL REFERENCES files (id),
    name TEXT NOT NULL,
    result TEXT,
    error TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (file_id, name)
);
"""


@dataclass(frozen=True)
class Entry:
    """One catalog row to commit (see :meth:`Store.commit`)."""

    path: str
    size: int
    mtime: float
    sha256: str
    status: str
    format: str | None = None
    parser_version: str | None = None
    error: dict[str, Any] | None = None
    rows: int | None = None
    kind: str | None = None
    output: str | None = None
    vendor: str | None = None
    technique: tuple[str, ...] = ()
    start_time: str | None = None
    sample: dict[str, Any] | None = None


class Store:
    """A lab store folder (created on first use).

    Parameters
    ----------
    path
        The store folder.

    Examples
    --------
    >>> store = Store("lab-store")                       # doctest: +SKIP
    >>> store.query(status="ok", vendor="BioLogic")      # doctest: +SKIP
    """

    def __init__(self, path: str | PathLike[str]) -> None:
        self.path = Path(path)
        try:
            self.records_folder.mkdir(parents=True, exist_ok=True)
            with self._connect() as connection:
                connection.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open or create the store: {exc}", file=self.path) from exc

    @property
    def catalog_path(self) -> Path:
        """The SQLite catalog file."""
        return self.path / "catalog.sqlite"

    @property
    def records_folder(self) -> Path:
        """Folder of the Parquet records."""
        return self.path / "records"

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        connection = sqlite3.connect(self.catalog_path, timeout=60, isolation_level=None)
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=FULL")
            connection.execute("PRAGMA foreign_keys=ON")
            yield connection
        finally:
            connection.close()

    # -- decisions -------------------------------------------------------------

    def known(self, path: str, sha256: str) -> str | None:
        """Status of this exact version of a source, or ``None`` if never ingested."""
        with self._connect() as connection:
            row = connection.execute(
                "SELECT status FROM files WHERE path = ? AND sha256 = ?", (path, sha256)
            ).fetchone()
        return row[0] if row else None

    def unchanged(self, path: str, size: int, mtime: float) -> bool:
        """Whether the newest catalogued version of ``path`` has this size and mtime.

        Lets an ingester skip hashing files it has already seen.
        """
        with self._connect() as connection:
            row = connection.execute(
                "SELECT size, mtime FROM files WHERE path = ? AND status != 'superseded' "
                "ORDER BY id DESC LIMIT 1",
                (path,),
            ).fetchone()
        return row is not None and row[0] == size and row[1] == mtime

    def output_path(self, source: str | PathLike[str], vendor: str | None, sha256: str) -> Path:
        """Where the record of one source version is stored (deterministic)."""
        stem = _slug(Path(source).name)[:80] or "record"
        return self.records_folder / (_slug(vendor or "unknown") or "unknown") / (
            f"{stem}__{sha256[:12]}.parquet")

    # -- writes ----------------------------------------------------------------

    def commit(self, entry: Entry) -> bool:
        """Record one source version in the catalog.

        Older versions of the same path become ``superseded``. Returns ``False``
        when another ingester committed the same version first (nothing changes).
        """
        if entry.status not in STATUSES:
            raise StoreError(f"unknown status {entry.status!r}; expected one of {STATUSES}")
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        with self._connect() as connection:
            connection.execute("BEGIN IMMEDIATE")
            try:
                cursor = connection.execute(
                    "INSERT OR IGNORE INTO files (path, size, mtime, sha256, format, "
                    "parser_version, status, error, rows, kind, output, ingested_at, vendor, "
                    "technique, start_time, sample) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (entry.path, entry.size, entry.mtime, entry.sha256, entry.format,
                     entry.parser_version, entry.status,
                     json.dumps(entry.error) if entry.error else None, entry.rows, entry.kind,
                     entry.output, stamp, entry.vendor, ",".join(entry.technique),
                     entry.start_time, json.dumps(entry.sample) if entry.sample else None),
                )
                inserted = cursor.rowcount == 1
                if inserted:
                    connection.execute(
                        "UPDATE files SET status = 'superseded' WHERE path = ? AND sha256 != ? "
                        "AND status = 'ok'",
                        (entry.path, entry.sha256),
                    )
                    connection.execute(
                        "DELETE FROM files WHERE path = ? AND sha256 != ? "
                        "AND status = 'quarantined'",
                        (entry.path, entry.sha256),
                    )
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
        return inserted

    def touch(self, path: str, sha256: str, mtime: float) -> None:
        """Update the recorded mtime of a source whose content did not change."""
        with self._connect() as connection:
            connection.execute("UPDATE files SET mtime = ? WHERE path = ? AND sha256 = ?",
                               (mtime, path, sha256))

    def add_analysis(self, path: str, sha256: str, name: str, result: dict | None,
                     error: dict | None = None) -> None:
        """Store the result (or error) of an analysis hook for one source version."""
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        with self._connect() as connection:
            row = connection.execute("SELECT id FROM files WHERE path = ? AND sha256 = ?",
                                     (path, sha256)).fetchone()
            if row is None:
                raise StoreError(f"no catalog entry for {path} ({sha256[:12]})", file=self.path)
            connection.execute(
                "INSERT OR REPLACE INTO analyses (file_id, name, result, error, created_at) "
                "VALUES (?,?,?,?,?)",
                (row[0], name, json.dumps(result, default=str) if result is not None else None,
                 json.dumps(error) if error else None, stamp),
            )

    # -- reads -----------------------------------------------------------------

    def query(self, where: str | None = None, **equals: Any) -> pd.DataFrame:
        """Catalog rows as a DataFrame.

        Parameters
        ----------
        where
            Optional SQL condition on the ``files`` columns (``"rows > 1000"``).
        **equals
            Column = value filters (``status="ok"``, ``vendor="Neware"``).
        """
        clauses, values = [], []
        for column, value in equals.items():
            if not re.fullmatch(r"[a-z_]+", column):
                raise StoreError(f"not a catalog column: {column!r}")
            clauses.append(f"{column} = ?")
            values.append(value)
        if where:
            clauses.append(f"({where})")
        sql = "SELECT * FROM files" + (" WHERE " + " AND ".join(clauses) if clauses else "")
        try:
            with self._connect() as connection:
                return pd.read_sql_query(sql + " ORDER BY id", connection, params=values)
        except (sqlite3.Error, pd.errors.DatabaseError) as exc:
            raise StoreError(f"catalog query failed: {exc}", file=self.catalog_path) from exc

    def analyses(self, name: str | None = None) -> pd.DataFrame:
        """Stored analysis results joined with their source path."""
        sql = ("SELECT f.path, f.sha256, a.name, a.result, a.error, a.created_at FROM analyses a "
               "JOIN files f ON f.id = a.file_id")
        params: list[Any] = []
        if name:
            sql += " WHERE a.name = ?"
            params.append(name)
        with self._connect() as connection:
            return pd.read_sql_query(sql + " ORDER BY a.id", connection, params=params)

    def load(self, path: str | PathLike[str]):
        """The current record of a source file (its newest ``ok`` version)."""
        from labkit.parquet import read_parquet

        rows = self.query(path=str(Path(path).resolve()), status="ok")
        if rows.empty:
            raise StoreError(f"no ingested record for {path}", file=self.path)
        return read_parquet(self.path / rows["output"].iloc[-1])

    def check(self) -> dict[str, list[str]]:
        """Consistency of catalog and files.

        Returns
        -------
        dict
            ``missing_outputs`` (catalog rows whose Parquet is gone), ``orphans``
            (Parquet files no row points to), ``temporaries`` (left-over temp files).
        """
        referenced = set(self.query(where="output IS NOT NULL")["output"])
        on_disk = {str(p.relative_to(self.path)) for p in self.records_folder.rglob("*.parquet")}
        temporaries = [str(p.relative_to(self.path)) for p in self.records_folder.rglob(".*.tmp")]
        return {
            "missing_outputs": sorted(referenced - on_disk),
            "orphans": sorted(on_disk - referenced),
            "temporaries": sorted(temporaries),
        }

    def remove_dead_temporaries(self) -> int:
        """Delete temp files left by writers that were killed; returns how many."""
        return remove_dead_temporaries(self.records_folder)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._")


def stat_signature(path: Path) -> tuple[int, float]:
    """``(size, mtime)`` of a file, the cheap change detector."""
    info = os.stat(path)
    return info.st_size, info.st_mtime
