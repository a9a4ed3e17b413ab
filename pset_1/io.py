"""The spec's ``pset_1.io``: atomic writes, implemented once in :mod:`csci_utils.io`."""

from csci_utils.io import atomic_write, sibling_temp_path

__all__ = ["atomic_write", "sibling_temp_path"]
