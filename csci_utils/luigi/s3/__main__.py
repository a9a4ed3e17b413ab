"""``python -m csci_utils.luigi.s3``: see :mod:`csci_utils.luigi.s3.cli`."""

from csci_utils.luigi.s3.cli import main

raise SystemExit(main())
