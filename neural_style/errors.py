"""The exceptions for a user's mistake (bad file, bad flag, bad model), each with its exit code."""

from __future__ import annotations

from csci_utils.exit_codes import ExitCode


class NeuralStyleError(ValueError):
    """A problem the user can fix; the message is one line and says what to do.

    Raised as is, it means an unusable input (not an image, not a model); the subclasses narrow it.
    """

    exit_code: ExitCode = ExitCode.BAD_INPUT


class UsageError(NeuralStyleError):
    """A bad option or value (a style, a precision, a device), found before any work."""

    exit_code = ExitCode.USAGE


class ConfigurationError(NeuralStyleError):
    """An optional part the command needs is not installed (an extra such as ``video``)."""

    exit_code = ExitCode.CONFIGURATION
