"""What a batch is, how a command line's values become one, and what a batch run reports.

A :class:`Batch` is every image x column to stylize. Which columns a batch gets: ``-m``/``--style`` give model
columns (every model x every style; the default model when only ``--style`` is given), ``--style-image`` gives
one column per picture; both kinds fan out together in one batch. With neither, the default model is used.
``--all-styles`` gives every style of each model (26 for the default model; one for a single-style model).
``--strength`` and ``--preserve-color`` apply to every column. :func:`resolve_batch` turns names, globs,
local paths and style pictures into one; local files are checked before anything is uploaded
(:mod:`pset_4.inputs`): an unusable one is left out (``Batch.skipped``), and a batch with nothing usable left
is refused. :class:`BatchReport` is what a run of it did (:mod:`pset_4.workflow`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from neural_style.color import check_strength
from pset_4.inputs import BadInputError, resolve_models, resolve_names
from pset_4.naming import check_name, check_style
from pset_4.settings import (
    DEFAULT_IMAGE,
    DEFAULT_MODEL,
    IMAGES,
    STYLE_IMAGES,
    WorkflowSettings,
    current_settings,
)
from pset_4.style_counts import every_style
from pset_4.tasks.stylize import StylizeBase
from pset_4.tasks.video import is_video, result_task


@dataclass(frozen=True)
class Batch:
    """Every image x column to stylize; a column is a model x style pair or a style picture.

    ``styles`` empty: the model's own single style. ``model_styles`` gives a model its own styles instead
    (``--all-styles``: each model's every style). Model columns come first, then one column per style
    picture (``style_images``, names under ``<remote>/style_images``); ``strength`` and ``preserve_color``
    apply to every column. ``uploads`` maps a folder (``images``, ``style_images``) to the names to upload
    from this machine before the batch (name -> local path); ``skipped`` the local files left out (why).
    """

    images: Sequence[str]
    models: Sequence[str] = ()
    styles: Sequence[str | None] = (None,)
    style_images: Sequence[str] = ()
    strength: float = 1.0
    preserve_color: bool = False
    model_styles: Mapping[str, Sequence[str | None]] = field(default_factory=dict)
    uploads: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    skipped: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Refuse an empty batch, unsafe names and bad values before any work."""
        if not self.images or not (self.models or self.style_images):
            msg = "a batch needs at least one image and one model or style image"
            raise ValueError(msg)
        for name in self.images:
            check_name(name, "image")
        for name in self.models:
            check_name(name, "model")
        for name in self.style_images:
            check_name(name, "style image")
        for _, style in self.model_columns():
            check_style(style)
        check_strength(self.strength)

    def model_columns(self) -> list[tuple[str, str | None]]:
        """Return every (model, style) of the model columns, in order, without duplicates."""
        return [
            (model, style)
            for model in dict.fromkeys(self.models)
            for style in dict.fromkeys(self.model_styles.get(model) or self.styles or (None,))
        ]

    def pairs(self) -> list[tuple[str, str, str | None]]:
        """Return every (image, model, style) of the model columns, image-major, without duplicates."""
        return [(image, *column) for image in dict.fromkeys(self.images) for column in self.model_columns()]

    def columns(self) -> list[dict[str, object]]:
        """Return the stylize parameters of each column (besides the image), model columns first."""
        extra: dict[str, object] = {}
        if self.strength != 1.0:
            extra["strength"] = float(self.strength)
        if self.preserve_color:
            extra["preserve_color"] = True
        columns: list[dict[str, object]] = [
            {"model": m, "style": s, **extra} for m, s in self.model_columns()
        ]
        columns += [{"style_image": p, **extra} for p in dict.fromkeys(self.style_images)]
        return columns

    def params(self) -> list[dict[str, object]]:
        """Return the parameters of every stylize task, image-major, in column order."""
        return [{"image": i, **c} for i in dict.fromkeys(self.images) for c in self.columns()]

    def tasks(self, *, publish: bool = True) -> list[StylizeBase]:
        """Return one task per pair: published (:class:`Stylize`, :class:`StylizeVideo`) or kept here."""
        return [result_task(p, publish=publish) for p in self.params()]

    def videos(self) -> list[str]:
        """Return the images of the batch that are videos (by suffix), without duplicates."""
        return [name for name in dict.fromkeys(self.images) if is_video(name)]


@dataclass
class PairResult:
    """One result of a batch: its stylize parameters, what became of it, and where it is.

    ``status`` is ``done`` (made by this run), ``already done`` (made before), ``remote only`` (made, on
    the remote, not in this machine's cache), ``failed`` or ``skipped`` (an unusable input; ``reason``
    says why). ``version`` is the hash in its versioned name; ``seconds`` how long this machine took to
    make it (None when it did not make it here).
    """

    params: Mapping[str, object]
    status: str
    local: str | None = None
    remote: str | None = None
    version: str | None = None
    seconds: float | None = None
    reason: str | None = None


@dataclass
class BatchReport:
    """What a batch run did: success, Luigi's summary, where results are, and what failed (with why).

    ``skipped`` maps each input left out to why: local files never uploaded, and inputs on the remote that
    turned out unusable (each once, however many results needed it); ``unusable`` lists those results.
    ``results`` has one :class:`PairResult` per pair of the batch, in batch order.
    """

    ok: bool
    summary: str
    outputs: list[str] = field(default_factory=list)
    published: list[str] = field(default_factory=list)
    remote_only: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    reasons: dict[str, str] = field(default_factory=dict)
    contact_sheet: str | None = None
    gallery: str | None = None
    done_before: int = 0
    uploaded: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    unusable: list[str] = field(default_factory=list)
    results: list[PairResult] = field(default_factory=list)


def resolve_batch(
    *,
    images: Sequence[str] = (),
    all_images: bool = False,
    models: Sequence[str] = (),
    styles: Sequence[str] = (),
    all_styles: bool = False,
    style_images: Sequence[str] = (),
    strength: float = 1.0,
    preserve_color: bool = False,
    settings: WorkflowSettings | None = None,
) -> Batch:
    """Return the batch for these values, resolved against the remote of ``settings`` (see the module doc).

    ``settings`` default to those resolved now (:func:`pset_4.settings.current_settings`).

    :raises FileNotFoundError: a glob matches nothing, a local path is missing (the message lists the remote)
    :raises ValueError: an unsafe name, a malformed style, a strength outside [0, 1], ``styles`` with
        ``all_styles``
    :raises pset_4.inputs.BadInputError: every photo, or every model and style picture, given was unusable
    """
    if styles and all_styles:
        msg = "--all-styles already gives every style of each model; leave out --style"
        raise ValueError(msg)
    settings = settings or current_settings()
    photos = resolve_names(
        images if images or all_images else [DEFAULT_IMAGE], IMAGES, settings, what="image", every=all_images
    )
    pictures = resolve_names(style_images, STYLE_IMAGES, settings, what="style image")
    chosen = resolve_models(
        list(models) or ([DEFAULT_MODEL] if styles or all_styles or not style_images else []), settings
    )
    skipped = {**photos.skipped, **chosen.skipped, **pictures.skipped}
    if not photos.names or not (chosen.names or pictures.names):
        # Every photo (or every model and style picture) given was unusable: nothing is left to do.
        raise BadInputError("; ".join(skipped.values()))
    return Batch(
        images=photos.names,
        models=chosen.names,
        styles=list(styles) or [None],
        style_images=pictures.names,
        strength=strength,
        preserve_color=preserve_color,
        model_styles={model: every_style(model, settings) for model in chosen.names} if all_styles else {},
        uploads={IMAGES: photos.uploads, STYLE_IMAGES: pictures.uploads},
        skipped=skipped,
    )
