"""The spec's ``pset_1.hash_str``: salted hashing, implemented once in :mod:`csci_utils.hashing`."""

from csci_utils.hashing import SaltError, get_csci_salt, get_user_id, hash_series, hash_str

__all__ = ["SaltError", "get_csci_salt", "get_user_id", "hash_series", "hash_str"]
