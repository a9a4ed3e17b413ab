"""The ``video`` subcommand of ``python -m neural_style``: its flags, run mapping errors to exit codes.

``neural_style.cli`` adds the subparser with :func:`add_arguments` and hands the parsed flags to
:func:`run`; everything else lives in the library (:func:`neural_style.video.stylize_video`).
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from csci_utils.exit_codes import ExitCode
from neural_style.errors import NeuralStyleError

from .defaults import DEFAULT_CRF, DEFAULT_MAX_SIZE

if TYPE_CHECKING:
    from neural_style.stylizer import Stylizer

PROG = "neural_style"


def _crf(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 51:
        msg = f"must be 0 (lossless) to 51 (worst), got {value}"
        raise argparse.ArgumentTypeError(msg)
    return value


def _max_size(text: str) -> int:
    value = int(text)
    if value < 16:
        msg = f"must be at least 16 pixels, got {value}"
        raise argparse.ArgumentTypeError(msg)
    return value


def _strength(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        msg = f"must be between 0 and 1, got {value}"
        raise argparse.ArgumentTypeError(msg)
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``video`` flags to its subparser."""
    parser.add_argument("--input", required=True, help="the clip to stylize (any format FFmpeg reads)")
    parser.add_argument("--output", required=True, help="where to write the stylized clip (.mp4, H.264)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", help="a .pth/.model checkpoint or an .onnx model")
    source.add_argument(
        "--style-image", help="any picture as the style (instead of --model); needs no training"
    )
    parser.add_argument(
        "--style", default=None, help="multi-style .onnx models: an index (7) or a blend (3:0.5,12:0.5)"
    )
    parser.add_argument(
        "--strength",
        type=_strength,
        default=1.0,
        help="0..1: how much style (1, the default, is full style)",
    )
    parser.add_argument(
        "--preserve-color", action="store_true", help="keep the clip's colours, take the style's luminance"
    )
    parser.add_argument(
        "--max-size",
        type=_max_size,
        default=DEFAULT_MAX_SIZE,
        help=f"shrink frames whose long side exceeds this (default {DEFAULT_MAX_SIZE})",
    )
    parser.add_argument(
        "--crf",
        type=_crf,
        default=DEFAULT_CRF,
        help=f"H.264 quality, 0 best to 51 worst (default {DEFAULT_CRF})",
    )
    parser.add_argument(
        "--no-stabilize",
        dest="stabilize",
        action="store_false",
        help="stylize frames independently (flickers; for comparison)",
    )


def build_stylizer(args: argparse.Namespace, *, threads: int | None = None) -> Stylizer:
    """Load the stylizer the flags name: the one place it is chosen (any :class:`Stylizer` plugs in).

    A model or a style picture, with ``--strength`` and ``--preserve-color`` (:func:`load_stylizer`);
    ``threads`` caps the threads one frame is computed with.

    :raises NeuralStyleError: a bad combination (``--style`` with ``--style-image``), model or picture
    """
    from neural_style.batch import load_stylizer

    return load_stylizer(
        model=args.model,
        style_image=args.style_image,
        style=args.style,
        strength=args.strength,
        preserve_color=args.preserve_color,
        threads=threads,
    )


def run(args: argparse.Namespace) -> int:
    """Stylize the clip the flags name; return an exit code from :class:`ExitCode`, errors on one line."""
    try:
        from .pipeline import stylize_video
    except ImportError as err:
        return _fail(
            f"the video command needs the 'video' extra (PyAV, OpenCV): {err}", ExitCode.CONFIGURATION
        )
    if args.style_image is not None and args.style is not None:
        return _fail(
            "--style picks a style of a multi-style --model; it cannot be used with --style-image",
            ExitCode.USAGE,
        )
    from .parallel import split_cores

    # One frame per core, each on one thread: faster than every core on one frame (docs/video.md).
    frame_threads, threads_per_frame = split_cores()
    try:
        stylizer = build_stylizer(args, threads=threads_per_frame)
        stylize_video(
            args.input,
            args.output,
            stylizer,
            crf=args.crf,
            max_size=args.max_size,
            stabilize=args.stabilize,
            frame_threads=frame_threads,
        )
    except FileExistsError as err:
        return _fail(err, ExitCode.USAGE)
    except FileNotFoundError as err:
        return _fail(err, ExitCode.MISSING_INPUT)
    except NeuralStyleError as err:  # each kind carries its code: a bad --style is usage, a bad clip input
        return _fail(err, err.exit_code)
    except ValueError as err:
        return _fail(err, ExitCode.USAGE)
    except OSError as err:
        detail = err.strerror or str(err)
        where = f": {err.filename}" if err.filename else ""
        return _fail(f"{detail}{where}", ExitCode.FAILED)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED
    return ExitCode.OK


def _fail(err: BaseException | str, code: ExitCode) -> int:
    text = " ".join(str(err).split()) or type(err).__name__
    print(f"{PROG}: error: {text}", file=sys.stderr)
    return int(code)
