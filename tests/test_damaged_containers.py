"""A damaged container (zip, HDF5, YAML) ends in a labkit error naming the file, the
position and what was expected, whatever the library underneath raises.

The zip cases are built here: a small archive holding a member under the name each reader
looks for (``data.ndc`` for ``.ndax``, ``x.nda`` for ``.nda.zip``, ``Step.xml`` for a
schedule archive), then one field damaged as the fuzz run found them damaged
(``bench/fuzz.py``): the version needed to extract (``zipfile`` raises
``NotImplementedError: zip file version 9.9``), the compression method
(``NotImplementedError: That compression method is not supported``), the deflate stream
(``zlib.error``), the CRC (``BadZipFile``) and the encryption flag (``RuntimeError``).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

import labkit
from labkit.errors import FormatError, ProtocolError
from labkit.protocols import formats as schedule_formats
from tests.conftest import corpus_path

MEMBER_CONTENT = bytes(range(256)) * 64  # compressible, 16 KiB


def _archive(member: str) -> tuple[bytes, int, int]:
    """A one-member deflated zip; the offsets of its local header and directory entry."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(member, MEMBER_CONTENT)
    raw = buffer.getvalue()
    return raw, raw.index(b"PK\x03\x04"), raw.index(b"PK\x01\x02")


def _damaged(member: str, damage: str) -> bytes:
    raw, local, central = _archive(member)
    data = bytearray(raw)
    if damage == "version needed 9.9":
        data[central + 6:central + 8] = (99).to_bytes(2, "little")
    elif damage == "unknown compression method":
        data[central + 10:central + 12] = (0xFFFF).to_bytes(2, "little")
    elif damage == "damaged deflate stream":
        start = local + 30 + len(member)
        data[start:start + 8] = b"\xff" * 8
    elif damage == "wrong CRC":
        data[central + 16] ^= 0xFF
    elif damage == "encrypted flag":
        data[central + 8] |= 0x01
    return bytes(data)


DAMAGES = ["version needed 9.9", "unknown compression method", "damaged deflate stream",
           "wrong CRC", "encrypted flag"]


@pytest.mark.parametrize("damage", DAMAGES)
@pytest.mark.parametrize(("name", "member"), [("run.ndax", "data.ndc"),
                                              ("run.nda.zip", "x.nda")])
def test_damaged_zip_cycler_file_is_a_format_error(tmp_path: Path, name: str, member: str,
                                                   damage: str):
    path = tmp_path / name
    path.write_bytes(_damaged(member, damage))
    with pytest.raises(FormatError) as caught:
        labkit.read(path)
    error = caught.value
    assert error.file == str(path)
    assert "expected an intact zip archive" in error.message
    if damage == "version needed 9.9":  # the directory itself is refused
        assert error.position.endswith("(end-of-directory record)")
        assert "zip file version 9.9" in error.message
    else:
        assert error.position == f"byte 0 (zip member {member!r})"


@pytest.mark.parametrize("damage", DAMAGES)
def test_damaged_ndax_schedule_archive_is_a_protocol_error(tmp_path: Path, damage: str):
    path = tmp_path / "test.ndax"
    path.write_bytes(_damaged("Step.xml", damage))
    with pytest.raises(ProtocolError) as caught:
        schedule_formats.read(path, format="neware")
    assert caught.value.file == str(path)
    assert "expected an intact zip archive" in caught.value.message


def test_intact_archive_member_is_read_whole(tmp_path: Path):
    """The same helpers on an undamaged archive give the member's bytes."""
    from labkit.ziparchive import open_zip, read_member

    raw, _, _ = _archive("data.ndc")
    with open_zip(raw, tmp_path / "x.ndax") as archive:
        assert read_member(archive, "data.ndc", tmp_path / "x.ndax") == MEMBER_CONTENT


# Bit flips (byte, bit) of the corpus Indigo file after which h5py raises
# "RuntimeError: Unable to synchronously check link existence (bad heap free list)"
# (fuzz seed 100, mutant 5).
INDIGO_FLIPS = [(176916, 1), (145726, 4), (2471, 3), (4039, 3), (446052, 4), (1021, 0),
                (182413, 2), (1997, 2), (508495, 6), (4007, 1), (1635, 2), (2628, 2),
                (661, 0), (747, 4), (1360, 3), (3091, 4)]


def test_damaged_hdf5_is_a_format_error(tmp_path: Path):
    data = bytearray(corpus_path("cycler", "indigo", "beep_indigo_test_sample.h5").read_bytes())
    for at, bit in INDIGO_FLIPS:
        data[at] ^= 1 << bit
    path = tmp_path / "damaged.h5"
    path.write_bytes(bytes(data))
    with pytest.raises(FormatError) as caught:
        labkit.read(path)
    error = caught.value
    assert error.file == str(path)
    assert error.position == "HDF5 group 'time_series_data'"
    assert "bad heap free list" in error.message and "expected an intact HDF5 file" in error.message


@pytest.mark.parametrize(("text", "position"), [
    ("Charge:\n  Steps:\n    - \"Charge at 1C until 4.2 V\n", "line 4, column 1"),
    ("Charge:\n  Steps: {1: Rest for 1 hour}\n\x00\n", "character 38"),
])
def test_damaged_pyprobe_yaml_is_a_protocol_error_with_the_line(tmp_path: Path, text: str,
                                                                 position: str):
    path = tmp_path / "README.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ProtocolError) as caught:
        schedule_formats.read(path, format="pyprobe")
    assert caught.value.file == str(path)
    assert caught.value.position == position
    assert caught.value.message.startswith("expected a PyProBE README.yaml")


@pytest.mark.parametrize("encoding", ["UVF-8", "utf-32"])
def test_maccor_procedure_declaring_an_unusable_encoding_is_a_protocol_error(tmp_path: Path,
                                                                            encoding: str):
    """A flipped bit in the declaration ('UVF-8', fuzz seed 2026) raised LookupError."""
    path = tmp_path / "procedure.000"
    path.write_bytes(f'<?xml version="1.0" encoding="{encoding}"?>\n'
                     "<MaccorTestProcedure><ProcSteps/></MaccorTestProcedure>\n".encode())
    with pytest.raises(ProtocolError) as caught:
        schedule_formats.read(path, format="maccor")
    assert caught.value.position == "line 1"
    assert encoding in caught.value.message


def labkit_record(tmp_path: Path) -> Path:
    """A labkit Parquet record of the example cycling file, written in ``tmp_path``."""
    from labkit.examples import write_examples

    write_examples(tmp_path / "examples")
    path = tmp_path / "record.parquet"
    labkit.read(tmp_path / "examples" / "cycling_cell.bdf.csv").to_parquet(path)
    return path


@pytest.mark.parametrize("damaged_meta", [b'{"source_path" "x.csv"}',  # not JSON
                                          b'{"no_such_field": 1}'])  # not labkit's fields
def test_damaged_labkit_metadata_in_a_parquet_record_is_a_format_error(tmp_path: Path,
                                                                      damaged_meta: bytes):
    """Damaged JSON metadata raised JSONDecodeError (150 mutations of a labkit record with
    bench/fuzz.py's mutator found it); unknown fields a SchemaError that named no file."""
    import pyarrow.parquet as pq

    path = labkit_record(tmp_path)
    table = pq.read_table(path)
    pq.write_table(table.replace_schema_metadata(
        {**table.schema.metadata, b"labkit.meta": damaged_meta}), path)
    with pytest.raises(FormatError) as caught:
        labkit.read_parquet(path)
    assert caught.value.file == str(path)
    assert caught.value.position == "schema key 'labkit.meta'"
