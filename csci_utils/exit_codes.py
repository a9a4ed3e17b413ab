"""The one table of exit codes that every command line of this project uses.

``pset-1``, ``pset-4``, ``python -m neural_style`` and the clean-up commands: each code means one thing
everywhere.

| code | meaning |
| --- | --- |
| 0 | success: everything asked for is done |
| 1 | the work failed while running: a task failed, a disk filled up, storage broke off mid-run |
| 2 | usage: a bad command line or a bad value in it (argparse's own code), found before any work |
| 3 | an input is missing: a file, folder or remote name that does not exist |
| 4 | an input is unusable: not an image, workbook, model or video, or missing what it needs |
| 5 | configuration: a setting, salt or credential is missing, malformed or refused |
| 130 | interrupted (Ctrl-C); finished outputs are kept, nothing partial is |
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Exit codes shared by every command line (see the module docstring for the table)."""

    OK = 0
    FAILED = 1
    USAGE = 2
    MISSING_INPUT = 3
    BAD_INPUT = 4
    CONFIGURATION = 5
    INTERRUPTED = 130
