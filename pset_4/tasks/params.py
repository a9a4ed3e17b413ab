"""Luigi parameters that refuse unsafe names and malformed styles when a task is made."""

from __future__ import annotations

import luigi

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
