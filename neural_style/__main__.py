"""``python -m neural_style``: see :mod:`neural_style.cli`."""

import logging

from csci_utils.process import numpy_blas_on_one_thread, quick_exit

from .cli import main

if __name__ == "__main__":
    numpy_blas_on_one_thread()  # .cli imports NumPy only when a command needs it, so this comes first
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    quick_exit(main())  # the outputs are complete on disk: skip the interpreter's teardown
