"""``python -m pset_4`` and the ``pset-4`` command: :func:`pset_4.cli.main`, quick to start and to end."""

from typing import NoReturn

from csci_utils.process import long_lived_imports, numpy_blas_on_one_thread, quick_exit

numpy_blas_on_one_thread()  # before the imports below bring NumPy in
with long_lived_imports():  # Luigi, NumPy, Pillow: modules that live as long as the process
    from pset_4 import cli


def main() -> NoReturn:
    """Run the workflow's command line; end without teardown (every output is complete on disk)."""
    quick_exit(cli.main())


if __name__ == "__main__":
    main()
