"""``python -m neural_style``: see :mod:`neural_style.cli`."""

import logging

from .cli import main

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    raise SystemExit(main())
