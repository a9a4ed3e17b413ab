"""Luigi parameters that refuse unsafe names and malformed styles when a task is made."""

from __future__ import annotations

import luigi

from neural_style.color import check_strength
from pset_4.naming import check_name, check_style


class NameParameter(luigi.Parameter):
    """A plain file name under a root: no separators, no ``..``, not hidden."""

    def __init__(self, *, what: str = "name", **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.what = what

    def normalize(self, x: str) -> str:
        """Return ``x`` unchanged if it is a safe name; ValueError otherwise."""
        return check_name(x, self.what)


class StyleParameter(luigi.OptionalParameter):
    """None, a style index ``"3"`` or a blend ``"3:0.5,12:0.5"`` of a multi-style model."""

    def normalize(self, x: str | None) -> str | None:
        """Return the style without spaces; ValueError if malformed."""
        return check_style(x)


class OptionalNameParameter(luigi.OptionalParameter):
    """None, or a plain file name under a root (as :class:`NameParameter`)."""

    def __init__(self, *, what: str = "name", **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.what = what

    def normalize(self, x: str | None) -> str | None:
        """Return ``x`` unchanged if it is None or a safe name; ValueError otherwise."""
        return None if x is None else check_name(x, self.what)


class StrengthParameter(luigi.FloatParameter):
    """How much style, from 0 (the photo) to 1 (full style, the default)."""

    def normalize(self, x: float | str) -> float:
        """Return the strength as a float; ValueError outside [0, 1]."""
        return check_strength(float(x))
