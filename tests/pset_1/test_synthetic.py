import datetime as dt
import re

import pytest

from pset_1.synthetic import COLUMNS, main, make_survey, write_workbook


def listing(folder):
    return sorted(p.name for p in folder.iterdir())


def test_same_seed_same_survey():
    assert make_survey(200, seed=5).equals(make_survey(200, seed=5))


def test_another_seed_another_survey():
    assert not make_survey(200, seed=5).equals(make_survey(200, seed=6))


def test_survey_has_the_course_shape():
    survey = make_survey(500)
    assert tuple(survey.columns) == COLUMNS
    assert len(survey) == 500
    assert all(re.fullmatch(r"[0-9a-f]{8}", value) for value in survey["hashed_id"])
    assert survey["age"].between(18, 70).all()
    assert survey["gpa"].between(0, 4).all()
    assert all(isinstance(day, dt.date) and not isinstance(day, dt.datetime) for day in survey["enrolled_on"])
    assert set(survey["gender"]) <= {"female", "male", "nonbinary", "prefer not to say"}


def test_zero_rows_is_an_empty_survey():
    assert make_survey(0).empty


def test_negative_rows_is_refused():
    with pytest.raises(ValueError, match="rows"):
        make_survey(-1)


def test_workbook_bytes_are_reproducible(tmp_path):
    first = write_workbook(tmp_path / "a.xlsx", 30, seed=1)
    second = write_workbook(tmp_path / "b.xlsx", 30, seed=1)
    assert first.read_bytes() == second.read_bytes()


def test_workbook_is_written_atomically_with_no_leftovers(tmp_path):
    write_workbook(tmp_path / "out" / "hashed.xlsx", 10)
    assert listing(tmp_path / "out") == ["hashed.xlsx"]


def test_existing_workbook_is_kept_unless_overwrite(tmp_path):
    target = tmp_path / "hashed.xlsx"
    target.write_bytes(b"mine")
    with pytest.raises(FileExistsError):
        write_workbook(target, 10)
    assert target.read_bytes() == b"mine"
    write_workbook(target, 10, overwrite=True)
    assert target.read_bytes()[:2] == b"PK"


def test_cli_writes_the_workbook(tmp_path, capsys):
    assert main([str(tmp_path / "s.xlsx"), "--rows", "25", "--seed", "2"]) == 0
    assert "wrote 25 rows" in capsys.readouterr().out
    assert listing(tmp_path) == ["s.xlsx"]


def test_cli_refuses_an_existing_file_in_one_line(tmp_path, capsys):
    (tmp_path / "s.xlsx").write_bytes(b"keep")
    assert main([str(tmp_path / "s.xlsx"), "--rows", "5"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "--overwrite" in err
    assert (tmp_path / "s.xlsx").read_bytes() == b"keep"


@pytest.mark.parametrize("argv", [["s.csv"], ["s.xlsx", "--rows", "-3"], ["s.xlsx", "--rows", "many"]])
def test_cli_usage_errors_exit_2(tmp_path, monkeypatch, argv):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    assert listing(tmp_path) == []
