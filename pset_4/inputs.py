"""What a command line's ``-i`` and ``--style-image`` values name: remote names, quoted globs, local files.

A value is, in this order:

- a name the remote has under its folder (``<remote>/images/<name>``): used as is;
- a glob (``*``, ``?`` or ``[``) matched against the remote's names (also on S3), sorted; one that matches
  nothing is refused, listing what the remote has;
- a local path (it has a separator, or names an existing file or folder): its photos (and, for ``-i``,
  its videos) are uploaded to the remote under their file names before the batch, said on stderr and in
  the summary;
- any other name: left for the batch's own check (this machine's cache may have it, else it is refused).

Every local file that would be uploaded (a local path's, or a name only this machine's cache has, models
included) is decoded or loaded in full before anything is uploaded, once per file: a photo or style
picture with Pillow (:func:`neural_style.image.load_image`), a video demuxed and every frame decoded with
PyAV, a model read as the workflow reads it. The remote is the source of truth, and a corrupt file there
could only be renamed away; so one that is unusable (not an image, truncated, a decompression bomb, no
model) is skipped with a one-line reason and never uploaded, and the rest are still done.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from csci_utils.luigi.locations import join, list_names, target_for
from csci_utils.luigi.versions import object_version
from neural_style.errors import NeuralStyleError
from pset_4.naming import check_length, check_name
from pset_4.settings import MODELS, WorkflowSettings, machine_cores
from pset_4.tasks.data import check_cached_copy
from pset_4.tasks.video import VIDEO_SUFFIXES, is_video

__all__ = [
    "BadInputError",
    "Resolved",
    "input_problem",
    "is_glob",
    "model_problem",
    "picture_problem",
    "remote_names",
    "resolve_models",
    "resolve_names",
    "video_problem",
]

_GLOB_CHARS = frozenset("*?[")
# Files decoded at once when checking a folder: each thread holds one decoded picture in memory.
_MAX_CHECKS_AT_ONCE = 4


class BadInputError(ValueError):
    """Every local file given was unusable (not an image or video, truncated, not a model): nothing to do."""


@dataclass
class Resolved:
    """The names a batch uses, the local files to upload under them first, and the files skipped (why)."""

    names: list[str] = field(default_factory=list)
    uploads: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)


def is_glob(value: str) -> bool:
    """Tell whether ``value`` is a pattern (``*``, ``?`` or ``[``) rather than a name."""
    return any(char in _GLOB_CHARS for char in value)


def remote_names(settings: WorkflowSettings, folder: str) -> list[str]:
    """Return the names the remote has under ``folder`` (temp and hidden files left out), sorted."""
    return [n for n in list_names(join(settings.remote_root, folder)) if not n.startswith(".")]


def resolve_names(
    values: Sequence[str], folder: str, settings: WorkflowSettings, *, what: str, every: bool = False
) -> Resolved:
    """Return what ``values`` name under ``<remote>/<folder>`` (``every``: all the remote has, too).

    :raises FileNotFoundError: a glob matches nothing, a local path does not exist, a folder has no photos
    :raises ValueError: a local file's name is unsafe, or the remote holds a different file of that name
    """
    found = Resolved()
    if not values and not every:
        return found
    have = remote_names(settings, folder)
    if every:
        if not have:
            msg = f"--all-images: {join(settings.remote_root, folder)} has no {what}s"
            raise FileNotFoundError(msg)
        found.names += have
    for value in values:
        check_length(value, what)  # a longer name or path part fails only mid-run
        if value in have:
            found.names.append(value)
        elif _is_local_path(value):
            _add_local(Path(value), folder, settings, what, found)
        elif is_glob(value):
            matched = fnmatch.filter(have, value)
            if not matched:
                msg = (
                    f"no {what} in {join(settings.remote_root, folder)} matches {value!r} ({_listing(have)})"
                )
                raise FileNotFoundError(msg)
            found.names += matched
        else:
            name = check_name(value, what)
            if _usable_if_cached(Path(settings.cache_root, folder, name), what, found):
                found.names.append(name)
    found.names = list(dict.fromkeys(found.names))
    return found


def resolve_models(values: Sequence[str], settings: WorkflowSettings) -> Resolved:
    """Return the models ``values`` name; one only this machine's cache has is loaded first (see the module).

    :raises ValueError: a name is unsafe
    """
    found = Resolved()
    for value in dict.fromkeys(values):
        name = check_name(value, "model")
        cached = Path(settings.cache_root, MODELS, name)
        remote = target_for(join(settings.remote_root, MODELS, name), binary=True)
        # Only a copy the remote lacks is uploaded, so only that one is loaded here.
        if not cached.is_file() or remote.exists() or _usable_if_cached(cached, "model", found):
            found.names.append(name)
    return found


def _usable_if_cached(cached: Path, what: str, found: Resolved) -> bool:
    """Tell whether a name the remote lacks may be used: True unless the cache's copy is unusable (skipped).

    The batch uploads the cache's copy before it starts, so it is checked as a local file is.
    """
    if not cached.is_file():
        return True  # neither has it: the batch's own check refuses it, listing the remote
    reason = input_problem(cached, what)
    if reason is not None:
        found.skipped[str(cached)] = reason
    return reason is None


def _is_local_path(value: str) -> bool:
    """Tell whether ``value`` names a local file or folder rather than a remote name."""
    return "/" in value or os.sep in value or Path(value).exists()


def _add_local(path: Path, folder: str, settings: WorkflowSettings, what: str, found: Resolved) -> None:
    """Add the file at ``path`` (or every photo and video of the folder ``path``) to upload under its name."""
    if path.is_dir():
        files = _inputs_in(path, what)
        if not files:
            looked_for = "files Pillow can read, such as .jpg and .png"
            if what == "image":
                looked_for += f", and videos ({', '.join(sorted(VIDEO_SUFFIXES))})"
            msg = f"no {what}s in {path} (looked for {looked_for})"
            raise FileNotFoundError(msg)
    elif path.is_file():
        files = [path]
    else:
        msg = f"{what} {str(path)!r} is neither a name on the remote nor a local file or folder"
        raise FileNotFoundError(msg)
    names = [check_name(file.name, what) for file in files]
    for file, name, reason in zip(files, names, _problems(files, what), strict=True):
        if reason is not None:
            found.skipped[str(file)] = reason
            continue
        earlier = found.uploads.get(name)
        if earlier is not None and Path(earlier).resolve() != file.resolve():
            msg = f"two local {what}s are both named {name!r} ({earlier} and {file}); rename one"
            raise ValueError(msg)
        _check_remote_copy(file, name, folder, settings, what)
        found.uploads[name] = str(file)
        found.names.append(name)


def _inputs_in(folder: Path, what: str) -> list[Path]:
    """Return the files of ``folder`` a batch takes as ``what``: pictures, and videos for images; by name."""
    from neural_style.batch import photos_in

    files = photos_in(folder)
    if what == "image":
        files += [p for p in folder.iterdir() if p.is_file() and is_video(p.name)]
    return sorted(files, key=lambda p: p.name)


def _problems(files: Sequence[Path], what: str) -> list[str | None]:
    """Return :func:`input_problem` of each file, in order; several files are decoded on a few threads."""
    if len(files) < 2:
        return [input_problem(file, what) for file in files]
    # Pillow's and FFmpeg's decoders release the GIL, so threads decode a folder side by side.
    with ThreadPoolExecutor(min(_MAX_CHECKS_AT_ONCE, machine_cores())) as pool:
        return list(pool.map(lambda file: input_problem(file, what), files))


def input_problem(path: Path, what: str) -> str | None:
    """Return why the local file ``path`` is no usable ``what`` (decoded or loaded in full), or None.

    ``what`` is ``"image"`` (a photo, or a video by its suffix), ``"style image"`` or ``"model"``.
    """
    if what == "model":
        return model_problem(path)
    if what == "image" and is_video(path.name):
        return video_problem(path)
    return picture_problem(path)


def picture_problem(path: Path) -> str | None:
    """Return why ``path`` is no usable picture (not an image, truncated, a decompression bomb), or None.

    The picture is decoded in full, as the task that stylizes it would.
    """
    from neural_style.image import load_image

    return _problem_of(path, lambda: load_image(path))


def video_problem(path: Path) -> str | None:
    """Return why ``path`` is no usable video (not a video, truncated, undecodable), or None if it is.

    The clip is probed as its plan is, then every frame decoded (scaled to a few pixels, so cheaply).
    """
    try:
        from neural_style.video.frames import MIN_SIDE, decode_frames
        from neural_style.video.info import probe
    except ImportError as err:
        return f"{path} is a video, and videos need the 'video' extra (PyAV, OpenCV): {err}"

    def decode() -> None:
        info = probe(path)
        for _ in decode_frames(info, 0, info.frame_count, (MIN_SIDE, MIN_SIDE)):
            pass

    return _problem_of(path, decode)  # a bad clip raises VideoInputError, a NeuralStyleError


def model_problem(path: Path) -> str | None:
    """Return why ``path`` is no usable model, or None: read as the workflow reads it, without running it.

    A checkpoint is loaded with ``weights_only`` and checked against TransformerNet (this imports torch, so
    only for a checkpoint); an ONNX graph is parsed and checked by ``onnx`` (no session is built).
    """
    from neural_style.loading import CHECKPOINT_SUFFIXES

    suffix = path.suffix.lower()
    if suffix in CHECKPOINT_SUFFIXES:
        from neural_style.torch.model import load_state_dict

        return _problem_of(path, lambda: load_state_dict(path))
    if suffix == ".onnx":
        return _problem_of(path, lambda: _check_onnx(path))
    return f"{path} is not a model: use a .pth/.model checkpoint or an .onnx file"


def _problem_of(path: Path, check: Callable[[], object]) -> str | None:
    """Return why ``check()`` found ``path`` unusable (the engine's one line, or why it cannot be read)."""
    try:
        check()
    except NeuralStyleError as err:
        return str(err)
    except OSError as err:
        return f"{path} cannot be read: {err}"
    return None


def _check_onnx(path: Path) -> None:
    """Raise NeuralStyleError unless ``path`` is an ONNX graph the ``onnx`` checker accepts."""
    import onnx

    try:
        onnx.checker.check_model(os.fspath(path))
    except Exception as err:  # protobuf's DecodeError, the checker's ValidationError and others
        reason = " ".join(str(err).split())
        msg = f"{path} is not an ONNX model ({reason[:200]})"
        raise NeuralStyleError(msg) from err


def _check_remote_copy(file: Path, name: str, folder: str, settings: WorkflowSettings, what: str) -> None:
    """Refuse to stand a local file in for a different one the remote already holds under its name."""
    remote = target_for(join(settings.remote_root, folder, name), binary=True)
    version = object_version(remote)
    if version is None:
        return
    try:
        check_cached_copy(file, version, str(remote.path))
    except ValueError:
        msg = (
            f"{remote.path} already holds a different {what} named {name!r}; rename {file} to upload it "
            "(the remote is the source of truth and is never overwritten)"
        )
        raise ValueError(msg) from None


def _listing(have: Sequence[str]) -> str:
    """Return what the remote has, for an error message."""
    if not have:
        return "it has nothing; `python -m pset_4 --demo` seeds a sample"
    return "it has: " + ", ".join(have)
