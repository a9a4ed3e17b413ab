"""The one exception type for a user's mistake (bad file, bad flag, bad model)."""


class NeuralStyleError(ValueError):
    """A problem the user can fix; the message is one line and says what to do."""
