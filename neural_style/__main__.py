"""``python -m neural_style``: see :mod:`neural_style.cli`."""

import logging

from .cli import main, quick_exit

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    quick_exit(main())  # the outputs are complete on disk: skip the interpreter's teardown
