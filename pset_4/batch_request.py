"""Turn what a user asked for (names, globs, local paths, style pictures) into a :class:`Batch`.

Which columns a batch gets: ``-m``/``--style`` give model columns (every model x every style; the default
model when only ``--style`` is given), ``--style-image`` gives one column per picture; both kinds fan out
together in one batch. With neither, the default model is used. ``--strength`` and ``--preserve-color``
apply to every column. Local files are checked before anything is uploaded (:mod:`pset_4.inputs`): an
unusable one is left out (``Batch.skipped``), and a batch with nothing usable left is refused.
"""

from __future__ import annotations

from collections.abc import Sequence

from pset_4.inputs import BadInputError, resolve_models, resolve_names
from pset_4.settings import (
    DEFAULT_IMAGE,
    DEFAULT_MODEL,
    IMAGES,
    STYLE_IMAGES,
    WorkflowSettings,
    current_settings,
)
from pset_4.workflow import Batch

__all__ = ["resolve_batch"]


def resolve_batch(
    *,
    images: Sequence[str] = (),
    all_images: bool = False,
    models: Sequence[str] = (),
    styles: Sequence[str] = (),
    style_images: Sequence[str] = (),
    strength: float = 1.0,
    preserve_color: bool = False,
    settings: WorkflowSettings | None = None,
) -> Batch:
    """Return the batch for these values, resolved against the remote of ``settings`` (see the module doc).

    ``settings`` default to those resolved now (:func:`pset_4.settings.current_settings`).

    :raises FileNotFoundError: a glob matches nothing, a local path is missing (the message lists the remote)
    :raises ValueError: an unsafe name, a malformed style, a strength outside [0, 1]
    :raises pset_4.inputs.BadInputError: every photo, or every model and style picture, given was unusable
    """
    settings = settings or current_settings()
    photos = resolve_names(
        images if images or all_images else [DEFAULT_IMAGE], IMAGES, settings, what="image", every=all_images
    )
    pictures = resolve_names(style_images, STYLE_IMAGES, settings, what="style image")
    chosen = resolve_models(list(models) or ([DEFAULT_MODEL] if styles or not style_images else []), settings)
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
        uploads={IMAGES: photos.uploads, STYLE_IMAGES: pictures.uploads},
        skipped=skipped,
    )
