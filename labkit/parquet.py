"""Parquet storage of records: data and metadata in one file, round-tripping exactly.

The metadata is stored as JSON in the Arrow schema's key-value metadata under
``labkit.meta``, the record kind under ``labkit.kind``. pandas' own schema
metadata keeps the dtypes (categoricals, nullable integers, ...).
"""

from __future__ import annotations

import json
from os import PathLike

import pyarrow as pa
import pyarrow.parquet as pq

from labkit.data import RECORD_TYPES, Metadata, Record
from labkit.errors import FormatError, SchemaError
from labkit.fileio import atomic_temp_path, commit_temp_path

_META_KEY = b"labkit.meta"
_KIND_KEY = b"labkit.kind"


def write_record(record: Record, path: str | PathLike[str]) -> None:
    """Write ``record`` to ``path`` as Parquet (temp file + rename)."""
    table = pa.Table.from_pandas(record.data, preserve_index=False)
    schema_meta = dict(table.schema.metadata or {})
    schema_meta[_META_KEY] = json.dumps(record.meta.to_dict(), allow_nan=True).encode()
    schema_meta[_KIND_KEY] = record.kind.encode()
    table = table.replace_schema_metadata(schema_meta)
    temp = atomic_temp_path(path)
    try:
        pq.write_table(table, temp, compression="zstd")
        commit_temp_path(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def read_parquet(path: str | PathLike[str]) -> Record:
    """Read a record written by :func:`write_record` (``record.to_parquet``).

    Raises
    ------
    FormatError
        When the file is not Parquet or was not written by labkit.
    """
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise FormatError(f"not a readable Parquet file: {exc}", file=path) from exc
    schema_meta = table.schema.metadata or {}
    if _META_KEY not in schema_meta or _KIND_KEY not in schema_meta:
        raise FormatError(
            "Parquet file has no labkit metadata (expected keys 'labkit.meta' and 'labkit.kind'"
            " in the schema); read other Parquet files with pandas",
            file=path,
        )
    kind = schema_meta[_KIND_KEY].decode("utf-8", "replace")
    if kind not in RECORD_TYPES:
        raise FormatError(f"unknown labkit record kind {kind!r}", file=path,
                          position="schema key 'labkit.kind'")
    try:
        meta = Metadata.from_dict(json.loads(schema_meta[_META_KEY]))
    except (ValueError, TypeError, KeyError, AttributeError, SchemaError) as exc:
        raise FormatError(f"expected labkit metadata as JSON; it is damaged: {exc}", file=path,
                          position="schema key 'labkit.meta'") from exc
    try:
        data = table.to_pandas()
    except (pa.ArrowException, ValueError) as exc:
        raise FormatError(f"the Parquet columns cannot be converted: {exc}", file=path) from exc
    return RECORD_TYPES[kind](data=data, meta=meta)
