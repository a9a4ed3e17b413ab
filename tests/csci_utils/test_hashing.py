import hashlib
import logging
import os

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from csci_utils.hashing import SaltError, get_csci_salt, get_user_id, hash_series, hash_str

SECRET_HEX = "c0ffee00deadbeef"


@pytest.fixture
def no_salt(monkeypatch, tmp_path):
    """No CSCI_SALT in the environment and a working folder without a .env."""
    monkeypatch.delenv("CSCI_SALT", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


# --- hash_str ----------------------------------------------------------------------------------------


def test_spec_vector():
    assert hash_str("world!", salt="hello, ").hex()[:6] == "68e656"


def test_digest_is_sha256_of_salt_then_value():
    assert hash_str("value", salt="salt") == hashlib.sha256(b"saltvalue").digest()


def test_str_and_bytes_hash_alike():
    assert hash_str("wörld", salt="hé") == hash_str("wörld".encode(), salt="hé".encode())


def test_empty_salt_is_allowed():
    assert hash_str("abc") == hashlib.sha256(b"abc").digest()


def test_returns_32_bytes():
    digest = hash_str("x")
    assert isinstance(digest, bytes)
    assert len(digest) == 32


@pytest.mark.parametrize("bad", [None, 1, 1.5, ["a"], bytearray(b"a")])
def test_value_other_than_str_or_bytes_is_a_type_error(bad):
    with pytest.raises(TypeError, match="str or bytes"):
        hash_str(bad)


@pytest.mark.parametrize("bad", [None, 7])
def test_salt_other_than_str_or_bytes_is_a_type_error(bad):
    with pytest.raises(TypeError, match="salt must be str or bytes"):
        hash_str("x", salt=bad)


# --- hash_series -------------------------------------------------------------------------------------


@settings(deadline=None)  # timing on shared CI cores is no part of the property
@given(
    values=st.lists(st.text() | st.binary(), max_size=50),
    salt=st.text(max_size=10) | st.binary(max_size=10),
)
@pytest.mark.slow
def test_hash_series_matches_hash_str_row_by_row(values, salt):
    series = pd.Series(values, dtype=object)
    assert list(hash_series(series, salt)) == [hash_str(v, salt) for v in values]


def test_hash_series_keeps_index_and_name():
    series = pd.Series(["a", "b"], index=[10, 20], name="username")
    hashed = hash_series(series, b"s")
    assert list(hashed.index) == [10, 20]
    assert hashed.name == "username"
    assert hashed[20] == hash_str("b", b"s")


@pytest.mark.parametrize("dtype", [object, "string", "str"])
def test_hash_series_accepts_pandas_string_dtypes(dtype):
    series = pd.Series(["x", "yy", "zzz"], dtype=dtype)
    assert list(hash_series(series, "s")) == [hash_str(v, "s") for v in ["x", "yy", "zzz"]]


def test_hash_series_of_an_empty_series_is_empty():
    assert hash_series(pd.Series([], dtype=object), "s").empty


@pytest.mark.parametrize("missing", [None, np.nan, 3])
def test_hash_series_names_the_label_of_a_bad_value(missing):
    series = pd.Series(["ok", missing], index=["first", "second"], dtype=object)
    with pytest.raises(TypeError, match="'second'"):
        hash_series(series, "s")


# --- get_csci_salt -----------------------------------------------------------------------------------


def test_salt_is_decoded_from_hex_in_the_environment(monkeypatch, no_salt):
    monkeypatch.setenv("CSCI_SALT", SECRET_HEX)
    assert get_csci_salt() == bytes.fromhex(SECRET_HEX)


def test_salt_is_read_from_a_dotenv_file(no_salt):
    (no_salt / ".env").write_text(f"OTHER=1\nCSCI_SALT={SECRET_HEX}\n")
    assert get_csci_salt() == bytes.fromhex(SECRET_HEX)


def test_environment_wins_over_dotenv(monkeypatch, no_salt):
    (no_salt / ".env").write_text("CSCI_SALT=00\n")
    monkeypatch.setenv("CSCI_SALT", SECRET_HEX)
    assert get_csci_salt() == bytes.fromhex(SECRET_HEX)


def test_reading_dotenv_does_not_change_the_environment(no_salt):
    (no_salt / ".env").write_text(f"CSCI_SALT={SECRET_HEX}\n")
    get_csci_salt()
    assert "CSCI_SALT" not in os.environ


def test_missing_salt_names_the_variable(no_salt):
    with pytest.raises(SaltError, match="CSCI_SALT is not set"):
        get_csci_salt()


@pytest.mark.parametrize("bad", ["not-hex-secret-zz", "abc", "c0ffee00deadbeeg"])
def test_bad_hex_names_the_variable_and_never_echoes_the_value(monkeypatch, no_salt, caplog, bad):
    monkeypatch.setenv("CSCI_SALT", bad)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(SaltError, match="CSCI_SALT must be hex") as caught:
        get_csci_salt()
    shown = str(caught.value) + repr(caught.value) + caplog.text
    assert bad not in shown
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def test_empty_salt_is_refused(monkeypatch, no_salt):
    monkeypatch.setenv("CSCI_SALT", "")
    with pytest.raises(SaltError, match="empty"):
        get_csci_salt()


def test_salt_error_is_a_value_error():
    assert issubclass(SaltError, ValueError)


# --- get_user_id -------------------------------------------------------------------------------------


def test_user_id_is_first_8_hex_of_the_salted_hash_of_the_lowercased_name(monkeypatch, no_salt):
    monkeypatch.setenv("CSCI_SALT", SECRET_HEX)
    expected = hashlib.sha256(bytes.fromhex(SECRET_HEX) + b"gorlins").hexdigest()[:8]
    assert get_user_id("Gorlins") == expected
    assert get_user_id("gorlins") == expected


def test_user_id_without_salt_fails_clearly(no_salt):
    with pytest.raises(SaltError, match="CSCI_SALT"):
        get_user_id("alice")


def test_user_id_of_a_non_str_is_a_type_error(monkeypatch, no_salt):
    monkeypatch.setenv("CSCI_SALT", SECRET_HEX)
    with pytest.raises(TypeError, match="username must be str"):
        get_user_id(b"alice")
