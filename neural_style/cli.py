"""``python -m neural_style eval|train|video|styles|info``: the example's command line, over our engine.

Thin by design: parse, call one library function, turn a user's mistake into one line on stderr and an
exit status from :class:`csci_utils.exit_codes.ExitCode` (2 a bad option, 3 a missing file, 4 a file that is
not an image, a model or a clip, 5 a missing extra, 1 a failure while running, 130 interrupted), in one
place for every command. ``--json`` puts one JSON document on stdout instead of prose (an error too: its
line and exit code), and ``eval`` reads a photo from stdin and writes to stdout with ``-``. Quick to start:
nothing heavy is imported until the command needs it, and an ``.onnx`` model or a style picture never
imports torch. Quick to end: :func:`csci_utils.process.quick_exit`.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from csci_utils.exit_codes import ExitCode

from . import __version__
from .errors import ConfigurationError, NeuralStyleError, UsageError
from .hardware import PRECISIONS
from .video.defaults import DEFAULT_CRF, DEFAULT_MAX_SIZE

if TYPE_CHECKING:
    from .loading import LoadOptions

log = logging.getLogger(__name__)

PROG = "neural_style"
# The name that stands for stdin (--content-image) or stdout (--output-image).
PIPE = "-"


def build_parser() -> argparse.ArgumentParser:
    """Return the parser: the example's flags and defaults (``--accel`` and ``--mps`` too), plus ours.

    Ours: ``--style``, ``--style-image``, ``--strength``, ``--preserve-color`` and ``--precision`` for eval,
    ``--vgg-weights`` and ``--max-steps`` for train, and the ``video`` command.
    """
    parser = argparse.ArgumentParser(
        prog="python -m neural_style", description="Fast neural style transfer (Johnson et al., 2016)."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="{eval,train,video,styles,info}")

    evaluate = commands.add_parser("eval", help="stylize one photo (or a folder of them) with a model")
    evaluate.add_argument(
        "--content-image", required=True, help="the photo to stylize, a folder of them, or - for stdin"
    )
    evaluate.add_argument(
        "--content-scale", type=float, default=None, help="factor for scaling down the photo first"
    )
    evaluate.add_argument(
        "--output-image", required=True, help="where to write the stylized picture, or - for stdout"
    )
    evaluate.add_argument(
        "--format",
        choices=("png", "jpg"),
        default=None,
        help="the picture's format on stdout (--output-image -; default png)",
    )
    add_model_flags(evaluate, subject="photo")
    add_device_flags(evaluate, verb="run")
    evaluate.add_argument(
        "--export_onnx", default=None, help="also export the checkpoint as an ONNX graph to this .onnx path"
    )
    evaluate.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="auto",
        help="auto (default): bf16 for checkpoints where the CPU computes it natively (AVX512_BF16 or AMX), "
        "else fp32; .onnx models always run in fp32",
    )
    add_json_flag(evaluate)

    training = commands.add_parser("train", help="train a model for one style")
    training.add_argument("--epochs", type=int, default=2, help="passes over the dataset")
    training.add_argument("--batch-size", type=int, default=4, help="photos per training step")
    training.add_argument("--dataset", required=True, help="folder of photos (or class subfolders of them)")
    training.add_argument("--style-image", required=True, help="the style picture")
    training.add_argument("--save-model-dir", required=True, help="folder for the trained model")
    training.add_argument(
        "--checkpoint-model-dir", default=None, help="folder for intermediate checkpoints (optional)"
    )
    training.add_argument("--image-size", type=int, default=256, help="training photos are cropped to this")
    training.add_argument("--style-size", type=int, default=None, help="resize the style picture to this")
    add_device_flags(training, verb="train")
    training.add_argument("--seed", type=int, default=42, help="random seed")
    training.add_argument("--content-weight", type=float, default=1e5, help="weight of the content loss")
    training.add_argument("--style-weight", type=float, default=1e10, help="weight of the style loss")
    training.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate")
    training.add_argument("--log-interval", type=int, default=500, help="steps between loss reports")
    training.add_argument(
        "--checkpoint-interval", type=int, default=2000, help="steps between intermediate checkpoints"
    )
    training.add_argument(
        "--vgg-weights",
        default=None,
        help="VGG16 ImageNet weights in torchvision's layout (e.g. vgg16-397923af.pth); never downloaded",
    )
    training.add_argument("--max-steps", type=int, default=None, help="stop after this many steps")

    video = commands.add_parser("video", help="stylize a video clip, stabilized, audio kept")
    video.add_argument("--input", required=True, help="the clip to stylize (any format FFmpeg reads)")
    video.add_argument("--output", required=True, help="where to write the stylized clip (.mp4, H.264)")
    add_model_flags(video, subject="clip")
    video.add_argument(
        "--max-size",
        type=_bounded(int, 16, None, "must be at least 16 pixels"),
        default=DEFAULT_MAX_SIZE,
        help=f"shrink frames whose long side exceeds this (default {DEFAULT_MAX_SIZE})",
    )
    video.add_argument(
        "--crf",
        type=_bounded(int, 0, 51, "must be 0 (lossless) to 51 (worst)"),
        default=DEFAULT_CRF,
        help=f"H.264 quality, 0 best to 51 worst (default {DEFAULT_CRF})",
    )
    video.add_argument(
        "--no-stabilize",
        dest="stabilize",
        action="store_false",
        help="stylize frames independently (flickers; for comparison)",
    )
    add_json_flag(video)

    chooser = commands.add_parser("styles", help="every style of a model on one photo, to choose a --style")
    chooser.add_argument("--content-image", required=True, help="the photo to show every style on")
    chooser.add_argument("--output-image", required=True, help="where to write the sheet (.png, .jpg)")
    chooser.add_argument(
        "--model", default=None, help="a multi-style .onnx model (default: the pretrained 26-style one)"
    )
    chooser.add_argument(
        "--tile-size",
        type=_bounded(int, 16, None, "must be at least 16 pixels"),
        default=256,
        help="each tile's square, in pixels; the photo is shrunk to it first (default 256)",
    )
    chooser.add_argument(
        "--columns",
        type=_bounded(int, 1, None, "must be at least 1"),
        default=7,
        help="tiles on a line of the sheet (default 7)",
    )
    chooser.add_argument("--strength", type=_strength, default=1.0, help="0..1: how much style (default 1)")
    chooser.add_argument("--preserve-color", action="store_true", help="keep the photo's colours")
    add_json_flag(chooser)

    about = commands.add_parser(
        "info", help="pretrained models, the engine cache, the CPU, the runtimes' versions, any GPU"
    )
    add_json_flag(about)
    return parser


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    """Add ``--json``: one JSON document on stdout, nothing else there."""
    parser.add_argument(
        "--json", action="store_true", help="print one JSON document on stdout (messages stay on stderr)"
    )


def add_model_flags(parser: argparse.ArgumentParser, *, subject: str) -> None:
    """Add what picks the style: ``--model`` or ``--style-image``, ``--style``, ``--strength``, colour."""
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--model", default=None, help="a .pth/.model checkpoint, or an .onnx model run by ONNX Runtime"
    )
    source.add_argument(
        "--style-image", default=None, help="any picture as the style (instead of --model); needs no training"
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
        "--preserve-color",
        action="store_true",
        help=f"keep the {subject}'s colours, take the style's luminance",
    )


def add_device_flags(parser: argparse.ArgumentParser, *, verb: str) -> None:
    """Add the example's device flags: ``--cuda 0|1``, ``--accel`` and ``--mps``."""
    parser.add_argument("--cuda", type=int, choices=(0, 1), default=0, help=f"1 to {verb} on a CUDA GPU")
    parser.add_argument(
        "--accel", action="store_true", help=f"{verb} on this machine's accelerator (CUDA here)"
    )
    parser.add_argument("--mps", action="store_true", help="Apple's MPS backend (not supported: an error)")


def _strength(text: str) -> float:
    from .color import check_strength  # numpy and Pillow: not for --help

    try:
        return check_strength(float(text))
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _bounded(kind: Callable[[str], int], low: int, high: int | None, rule: str) -> Callable[[str], int]:
    """Return an argparse type: ``kind(text)`` within ``low..high``, else the ``rule`` and the value."""

    def parse(text: str) -> int:
        value = kind(text)
        if value < low or (high is not None and value > high):
            msg = f"{rule}, got {value}"
            raise argparse.ArgumentTypeError(msg)
        return value

    parse.__name__ = kind.__name__  # argparse names the type in "invalid int value"
    return parse


def _device(args: argparse.Namespace) -> str:
    from .hardware import pick_device

    return pick_device(cuda=bool(args.cuda), accel=args.accel, mps=args.mps)


def _load_options(args: argparse.Namespace) -> LoadOptions:
    return {
        "style_image": args.style_image,
        "style": args.style,
        "strength": args.strength,
        "preserve_color": args.preserve_color,
    }


def run_eval(args: argparse.Namespace) -> int:
    """Stylize one photo or a folder (and optionally export) as the example's ``eval`` does; ``-`` pipes."""
    from .batch import stylize_path

    if PIPE in (args.content_image, args.output_image):
        return _run_eval_pipe(args)
    if args.format is not None:
        msg = "--format is for --output-image -; a file's suffix names its format"
        raise UsageError(msg)
    started = time.perf_counter()
    options = _load_options(args)
    options["device"] = _device(args)
    options["precision"] = args.precision
    result = stylize_path(
        args.content_image,
        args.output_image,
        model=args.model,
        content_scale=args.content_scale,
        export_onnx=args.export_onnx,
        **options,
    )
    for reason in result.failed.values():
        print(f"{PROG}: error: {reason}", file=sys.stderr)
    code = ExitCode.BAD_INPUT if result.failed else ExitCode.OK
    _report(
        args,
        started,
        code,
        written=[str(path) for path in result.written],
        failed={str(path): reason for path, reason in result.failed.items()},
        content_image=args.content_image,
        **_settings_of(args, options["device"]),
        precision=args.precision,
        exported_onnx=args.export_onnx,
    )
    log.info("stylized %s -> %s", args.content_image, args.output_image)
    return code


def _run_eval_pipe(args: argparse.Namespace) -> int:
    """Stylize a photo read from stdin and/or write the picture to stdout (``-``): nothing else on stdout."""
    from csci_utils.io import atomic_write_bytes

    from .batch import stylize_bytes
    from .image import saving_format

    if args.json and args.output_image == PIPE:
        msg = "--json and --output-image - both want stdout: write the picture to a file, or drop --json"
        raise UsageError(msg)
    if args.export_onnx is not None:
        msg = "--export_onnx takes a photo file as --content-image, not a pipe"
        raise UsageError(msg)
    if args.output_image == PIPE:
        image_format = saving_format(f".{args.format or 'png'}")
    elif args.format is not None:
        msg = "--format is for --output-image -; a file's suffix names its format"
        raise UsageError(msg)
    else:
        image_format = saving_format(Path(args.output_image).suffix)
    if image_format is None:
        msg = f"cannot save an image as {Path(args.output_image).name!r}: use a suffix such as .jpg or .png"
        raise UsageError(msg)
    started = time.perf_counter()
    if args.content_image == PIPE:
        photo, name = sys.stdin.buffer.read(), "the photo on stdin"
    else:
        source = Path(args.content_image)
        if source.is_dir():
            msg = "a folder's pictures cannot go to stdout: give --output-image a folder"
            raise UsageError(msg)
        photo, name = source.read_bytes(), str(source)
    options = _load_options(args)
    options["device"] = _device(args)
    options["precision"] = args.precision
    picture = stylize_bytes(
        photo, image_format, model=args.model, content_scale=args.content_scale, name=name, **options
    )
    if args.output_image == PIPE:
        sys.stdout.buffer.write(picture)
        sys.stdout.buffer.flush()
    else:
        atomic_write_bytes(args.output_image, picture)
    _report(
        args,
        started,
        ExitCode.OK,
        written=[args.output_image],
        failed={},
        content_image=args.content_image,
        **_settings_of(args, options["device"]),
        precision=args.precision,
        exported_onnx=None,
    )
    return ExitCode.OK


def _settings_of(args: argparse.Namespace, device: object) -> dict[str, object]:
    """Return the style settings a command ran with, for its JSON document."""
    return {
        "model": args.model,
        "style_image": args.style_image,
        "style": args.style,
        "strength": args.strength,
        "preserve_color": args.preserve_color,
        "device": str(device),
    }


def _report(args: argparse.Namespace, started: float, code: ExitCode, **facts: object) -> None:
    """With ``--json``, print what the command wrote, from what and how, its time and exit code."""
    if args.json:
        seconds = round(time.perf_counter() - started, 3)
        _emit_json({"command": args.command, **facts, "seconds": seconds, "exit_code": int(code)})


def _emit_json(document: dict[str, object]) -> None:
    """Print ``document`` as the one JSON document on stdout."""
    print(json.dumps(document, indent=2, sort_keys=False))


def run_train(args: argparse.Namespace) -> int:
    """Train as the example's ``train`` does, with local VGG16 weights."""
    # Imported here so that eval works without the training module's dependencies loaded.
    from .train import train

    saved = train(
        args.dataset,
        args.style_image,
        args.save_model_dir,
        vgg_weights=args.vgg_weights,
        epochs=args.epochs,
        batch_size=args.batch_size,
        image_size=args.image_size,
        style_size=args.style_size,
        device=_device(args),
        seed=args.seed,
        content_weight=args.content_weight,
        style_weight=args.style_weight,
        lr=args.lr,
        log_interval=args.log_interval,
        checkpoint_model_dir=args.checkpoint_model_dir,
        checkpoint_interval=args.checkpoint_interval,
        max_steps=args.max_steps,
    )
    log.info("trained model saved at %s", saved)
    return ExitCode.OK


def run_video(args: argparse.Namespace) -> int:
    """Stylize the clip the flags name, one frame per core (faster than every core on one frame)."""
    try:
        from .video.pipeline import stylize_video
    except ImportError as err:
        msg = f"the video command needs the 'video' extra (PyAV, OpenCV): {err}"
        raise ConfigurationError(msg) from err
    from .loading import engine_for_many_pictures, load_stylizer
    from .video.parallel import split_cores

    frame_threads, threads_per_frame = split_cores()  # docs/video.md
    options = _load_options(args)
    options["threads"] = threads_per_frame
    options["engine"] = engine_for_many_pictures(args.model)
    stylizer = load_stylizer(args.model, **options)
    started = time.perf_counter()
    written = stylize_video(
        args.input,
        args.output,
        stylizer,
        crf=args.crf,
        max_size=args.max_size,
        stabilize=args.stabilize,
        frame_threads=frame_threads,
    )
    _report(
        args,
        started,
        ExitCode.OK,
        written=[str(written)],
        input=args.input,
        **_settings_of(args, "cpu"),
        max_size=args.max_size,
        crf=args.crf,
        stabilize=args.stabilize,
    )
    return ExitCode.OK


def run_styles(args: argparse.Namespace) -> int:
    """Draw the style chooser: the photo, then every style of the model, captioned with its index."""
    from .sheet import style_sheet

    started = time.perf_counter()
    written = style_sheet(
        args.content_image,
        args.output_image,
        model=args.model,
        tile_size=args.tile_size,
        max_columns=args.columns,
        strength=args.strength,
        preserve_color=args.preserve_color,
    )
    _report(
        args,
        started,
        ExitCode.OK,
        written=[str(written)],
        content_image=args.content_image,
        model=args.model,
        tile_size=args.tile_size,
        columns=args.columns,
        strength=args.strength,
        preserve_color=args.preserve_color,
    )
    return ExitCode.OK


def run_info(args: argparse.Namespace) -> int:
    """Print what this installation offers (:func:`neural_style.info.describe`)."""
    from .info import describe, render_text

    facts = describe()
    if args.json:
        _emit_json(facts)
    else:
        print(render_text(facts))
    return ExitCode.OK


_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "eval": run_eval,
    "train": run_train,
    "video": run_video,
    "styles": run_styles,
    "info": run_info,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 on success)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "train" and args.vgg_weights is None:
        from .vgg import MISSING_WEIGHTS_HINT

        parser.error(MISSING_WEIGHTS_HINT)  # a usage error, with the hint argparse's "required" lacks
    # Set here, on the main thread before any worker starts: warnings filters are process-wide.
    with warnings.catch_warnings():
        # torch.load's safe unpickler warns of any pickle protocol but 2 (a raw pickle.dump file, a
        # checkpoint saved with pickle_protocol=4), two lines before the one that says what is wrong.
        warnings.filterwarnings("ignore", message="Detected pickle protocol", category=UserWarning)
        return run_command(args)


def run_command(args: argparse.Namespace) -> int:
    """Run the parsed command; a user's mistake is one line on stderr and its exit code (module docstring)."""
    wants_json = getattr(args, "json", False)
    try:
        return _COMMANDS[args.command](args)
    except NeuralStyleError as err:  # each kind carries its code: a bad --style is usage, a bad file input
        return _fail(err, err.exit_code, args.command, wants_json)
    except FileExistsError as err:  # an output that must not be replaced (a video)
        return _fail(err, ExitCode.USAGE, args.command, wants_json)
    except FileNotFoundError as err:
        return _fail(err, ExitCode.MISSING_INPUT, args.command, wants_json)
    except ValueError as err:  # a bad value the library refused
        return _fail(err, ExitCode.USAGE, args.command, wants_json)
    except OSError as err:  # permissions, a full disk, a directory where a file was expected
        return _fail(err, ExitCode.FAILED, args.command, wants_json)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED


def _fail(err: Exception, code: ExitCode, command: str, wants_json: bool) -> int:
    """Say what went wrong on one line of stderr (and, for ``--json``, in the document); return ``code``."""
    print(f"{PROG}: error: {_one_line(err)}", file=sys.stderr)
    if wants_json:
        _emit_json({"command": command, "error": _one_line(err), "exit_code": int(code)})
    return code


def _one_line(err: Exception) -> str:
    """Return the error's message on one line; the operating system's errors as "reason: file"."""
    if isinstance(err, OSError) and err.strerror:
        return f"{err.strerror}: {err.filename}" if err.filename else err.strerror
    text = " ".join(str(err).split())
    return text or type(err).__name__
