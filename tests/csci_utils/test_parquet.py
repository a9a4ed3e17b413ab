import datetime as dt
import errno
import io
import logging
import os

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import csci_utils.parquet as parquet_module
from csci_utils.parquet import (
    ParquetWriteError,
    convert_excel_to_parquet,
    parquet_path_for,
    read_excel_table,
    read_parquet_columns,
)
from pset_1.synthetic import make_survey, write_workbook


def listing(folder):
    return sorted(p.name for p in folder.iterdir())


def excel_from(frame: pd.DataFrame, path):
    frame.to_excel(path, index=False, engine="xlsxwriter")
    return path


@pytest.fixture
def survey_xlsx(tmp_path):
    return write_workbook(tmp_path / "hashed.xlsx", 300, seed=7)


class CountingFile(io.RawIOBase):
    """A read-only file that counts the bytes pyarrow pulls through it."""

    def __init__(self, path):
        self._file = open(path, "rb")  # noqa: SIM115 - closed by close(), like any file object
        self.bytes_read = 0

    def readable(self):
        return True

    def seekable(self):
        return True

    def seek(self, offset, whence=io.SEEK_SET):
        return self._file.seek(offset, whence)

    def tell(self):
        return self._file.tell()

    def readinto(self, buffer):
        count = self._file.readinto(buffer)
        self.bytes_read += count
        return count

    def close(self):
        self._file.close()
        super().close()


# --- convert_excel_to_parquet ------------------------------------------------------------------------


def test_parquet_goes_beside_the_workbook_with_the_same_name(survey_xlsx):
    written = convert_excel_to_parquet(survey_xlsx)
    assert written == survey_xlsx.with_name("hashed.parquet")
    assert listing(survey_xlsx.parent) == ["hashed.parquet", "hashed.xlsx"]


def test_parquet_path_for_swaps_only_the_extension(tmp_path):
    assert parquet_path_for(tmp_path / "survey.2020.xlsx") == tmp_path / "survey.2020.parquet"


def test_conversion_keeps_every_value(survey_xlsx):
    expected = make_survey(300, seed=7)
    back = pd.read_parquet(convert_excel_to_parquet(survey_xlsx))
    assert list(back.columns) == list(expected.columns)
    for name in ["hashed_id", "age", "years_coding", "gender", "program", "gpa", "hours_per_week"]:
        assert back[name].tolist() == expected[name].tolist(), name
    assert back["enrolled_on"].tolist() == expected["enrolled_on"].tolist()
    assert [t.to_pydatetime() for t in back["responded_at"]] == expected["responded_at"].tolist()
    assert back["favorite_language"].fillna("").tolist() == expected["favorite_language"].tolist()


def test_ints_stay_ints_dates_stay_dates_text_stays_text(survey_xlsx):
    schema = pq.read_schema(convert_excel_to_parquet(survey_xlsx))
    assert schema.field("age").type == pa.int64()
    assert schema.field("years_coding").type == pa.int64()
    assert schema.field("enrolled_on").type == pa.date32()
    assert pa.types.is_timestamp(schema.field("responded_at").type)
    assert pa.types.is_string(schema.field("hashed_id").type)
    assert pa.types.is_string(schema.field("gender").type)
    assert schema.field("gpa").type == pa.float64()


def test_a_column_with_any_fraction_stays_float(tmp_path):
    book = excel_from(pd.DataFrame({"x": [1.0, 2.5, 3.0]}), tmp_path / "f.xlsx")
    assert read_excel_table(book).column("x").type == pa.float64()


def test_a_column_with_any_time_of_day_stays_a_timestamp(tmp_path):
    frame = pd.DataFrame({"t": [dt.datetime(2020, 1, 1), dt.datetime(2020, 1, 2, 0, 0, 1)]})
    assert pa.types.is_timestamp(read_excel_table(excel_from(frame, tmp_path / "t.xlsx")).column("t").type)


def test_whole_numbers_with_blanks_are_nullable_ints(tmp_path):
    book = excel_from(pd.DataFrame({"n": [1, None, 3]}), tmp_path / "n.xlsx")
    column = read_excel_table(book).column("n")
    assert column.type == pa.int64()
    assert column.to_pylist() == [1, None, 3]


def test_a_header_only_sheet_converts_to_an_empty_table(tmp_path):
    book = excel_from(pd.DataFrame({"hashed_id": pd.Series([], dtype=object)}), tmp_path / "e.xlsx")
    back = pd.read_parquet(convert_excel_to_parquet(book, required_columns=["hashed_id"]))
    assert list(back.columns) == ["hashed_id"]
    assert back.empty


def test_existing_parquet_is_not_rewritten_and_the_log_says_so(survey_xlsx, caplog):
    target = survey_xlsx.with_suffix(".parquet")
    pq.write_table(pa.table({"kept": [1]}), target)
    before = target.read_bytes()
    caplog.set_level(logging.INFO, logger="csci_utils")
    assert convert_excel_to_parquet(survey_xlsx) == target
    assert target.read_bytes() == before
    assert "already exists" in caplog.text
    assert "not rewritten" in caplog.text


def test_kept_parquet_must_still_have_the_required_columns(survey_xlsx):
    pq.write_table(pa.table({"other": [1]}), survey_xlsx.with_suffix(".parquet"))
    with pytest.raises(ValueError, match="overwrite it to rebuild"):
        convert_excel_to_parquet(survey_xlsx, required_columns=["hashed_id"])


def test_kept_parquet_that_is_not_parquet_says_how_to_rebuild(survey_xlsx):
    survey_xlsx.with_suffix(".parquet").write_bytes(b"junk")
    with pytest.raises(ValueError, match="not readable Parquet"):
        convert_excel_to_parquet(survey_xlsx, required_columns=["hashed_id"])


def test_overwrite_replaces_existing_parquet(survey_xlsx):
    target = survey_xlsx.with_suffix(".parquet")
    target.write_bytes(b"stale")
    convert_excel_to_parquet(survey_xlsx, overwrite=True)
    assert pq.read_metadata(target).num_rows == 300
    assert listing(survey_xlsx.parent) == ["hashed.parquet", "hashed.xlsx"]


def test_a_named_sheet_can_be_chosen(tmp_path):
    path = tmp_path / "two.xlsx"
    with pd.ExcelWriter(path, engine="xlsxwriter") as writer:
        pd.DataFrame({"a": [1]}).to_excel(writer, sheet_name="first", index=False)
        pd.DataFrame({"b": ["x"]}).to_excel(writer, sheet_name="second", index=False)
    assert read_excel_table(path, sheet="second").column_names == ["b"]


def test_missing_sheet_is_a_value_error(survey_xlsx):
    with pytest.raises(ValueError, match="not found"):
        read_excel_table(survey_xlsx, sheet="nope")


def test_missing_workbook_is_file_not_found_and_writes_nothing(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such workbook"):
        convert_excel_to_parquet(tmp_path / "absent.xlsx")
    assert listing(tmp_path) == []


def test_a_folder_is_not_a_workbook(tmp_path):
    (tmp_path / "dir.xlsx").mkdir()
    with pytest.raises(IsADirectoryError, match="folder"):
        convert_excel_to_parquet(tmp_path / "dir.xlsx")


@pytest.mark.parametrize("content", [b"", b"plain text", b"PK\x03\x04 not really a zip"])
def test_a_file_that_is_not_a_workbook_is_a_value_error_and_writes_nothing(tmp_path, content):
    fake = tmp_path / "fake.xlsx"
    fake.write_bytes(content)
    with pytest.raises(ValueError, match="not a readable Excel workbook"):
        convert_excel_to_parquet(fake)
    assert listing(tmp_path) == ["fake.xlsx"]


def test_a_sheet_without_a_required_column_writes_nothing(tmp_path):
    book = excel_from(pd.DataFrame({"user": ["a"], "age": [3]}), tmp_path / "noid.xlsx")
    with pytest.raises(ValueError, match="no column 'hashed_id'"):
        convert_excel_to_parquet(book, required_columns=["hashed_id"])
    assert listing(tmp_path) == ["noid.xlsx"]


def test_a_parquet_source_is_refused(tmp_path):
    path = tmp_path / "x.parquet"
    path.write_bytes(b"")
    with pytest.raises(ValueError, match=r"already ends in \.parquet"):
        convert_excel_to_parquet(path)


# --- read_parquet_columns ----------------------------------------------------------------------------


@pytest.fixture
def wide_parquet(tmp_path):
    """Five incompressible columns of equal size, so one column is about a fifth of the file."""
    rng = np.random.default_rng(0)
    table = pa.table({f"c{i}": rng.random(100_000) for i in range(5)})
    path = tmp_path / "wide.parquet"
    pq.write_table(table, path, compression="none")
    return path


def test_read_parquet_columns_returns_only_those_columns(wide_parquet):
    frame = read_parquet_columns(wide_parquet, ["c3", "c1"])
    assert list(frame.columns) == ["c3", "c1"]
    assert len(frame) == 100_000


def test_a_single_column_name_is_accepted(wide_parquet):
    assert list(read_parquet_columns(wide_parquet, "c2").columns) == ["c2"]


def test_reading_one_column_reads_only_its_chunks_and_the_footer(wide_parquet):
    metadata = pq.read_metadata(wide_parquet)
    chunks = sum(
        metadata.row_group(g).column(2).total_compressed_size for g in range(metadata.num_row_groups)
    )
    size = wide_parquet.stat().st_size
    with CountingFile(wide_parquet) as counted:
        read_parquet_columns(counted, ["c2"])
    footer_allowance = 64 * 1024 + metadata.serialized_size
    assert chunks <= counted.bytes_read <= chunks + footer_allowance
    assert counted.bytes_read < size / 3


def test_reading_every_column_reads_the_whole_file(wide_parquet):
    with CountingFile(wide_parquet) as counted:
        read_parquet_columns(counted, [f"c{i}" for i in range(5)])
    assert counted.bytes_read >= wide_parquet.stat().st_size * 0.99


def test_an_unknown_column_names_what_is_there(wide_parquet):
    with pytest.raises(ValueError, match=r"no column 'hashed_id'; it has \['c0'"):
        read_parquet_columns(wide_parquet, ["hashed_id"])


def test_no_columns_is_refused(wide_parquet):
    with pytest.raises(ValueError, match="at least one column"):
        read_parquet_columns(wide_parquet, [])


def test_missing_parquet_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such Parquet file"):
        read_parquet_columns(tmp_path / "absent.parquet", ["a"])


def test_a_file_that_is_not_parquet_is_a_value_error(tmp_path):
    path = tmp_path / "bad.parquet"
    path.write_bytes(b"definitely not parquet")
    with pytest.raises(ValueError, match="not a Parquet file"):
        read_parquet_columns(path, ["a"])


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS, errno.EIO])
def test_a_failed_parquet_write_is_a_write_error_with_errno_and_the_parquet_path(
    survey_xlsx, monkeypatch, code
):
    def broken_disk(table, where, **kwargs):
        where.write(b"PAR1 half a file")
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(parquet_module.pq, "write_table", broken_disk)
    with pytest.raises(ParquetWriteError) as caught:
        convert_excel_to_parquet(survey_xlsx)
    assert isinstance(caught.value, OSError)
    assert (caught.value.errno, caught.value.filename) == (code, str(parquet_path_for(survey_xlsx)))
    assert listing(survey_xlsx.parent) == [survey_xlsx.name]


def test_a_missing_workbook_is_not_a_write_error(tmp_path):
    with pytest.raises(FileNotFoundError) as caught:
        convert_excel_to_parquet(tmp_path / "nowhere.xlsx")
    assert not isinstance(caught.value, ParquetWriteError)
