import csci_utils.hashing
import csci_utils.io
from pset_1 import hash_str as pset_hash_str
from pset_1 import io as pset_io


def test_hash_str_module_is_the_library_one():
    assert pset_hash_str.hash_str is csci_utils.hashing.hash_str
    assert pset_hash_str.get_csci_salt is csci_utils.hashing.get_csci_salt
    assert pset_hash_str.get_user_id is csci_utils.hashing.get_user_id
    assert pset_hash_str.hash_series is csci_utils.hashing.hash_series


def test_io_module_is_the_library_one():
    assert pset_io.atomic_write is csci_utils.io.atomic_write
    assert pset_io.sibling_temp_path is csci_utils.io.sibling_temp_path


def test_spec_vector_through_the_pset_module():
    assert pset_hash_str.hash_str("world!", salt="hello, ").hex()[:6] == "68e656"
