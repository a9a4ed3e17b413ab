"""``python -m pset_4``."""

from pset_4.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
