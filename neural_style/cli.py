"""``python -m neural_style eval|train``: the example's command line, over our engine and trainer.

Thin by design: parse, call one library function, turn a user's mistake into one line on stderr and an
exit status from :class:`csci_utils.exit_codes.ExitCode` (2 a bad option, 3 a missing file, 4 a file that is
not an image or a model, 1 a failure while running, 130 interrupted). Quick to start: nothing heavy is
imported until the command needs it, and an ``.onnx`` model never imports torch.
"""

from __future__ import annotations

import argparse
import logging
import sys
import warnings
from collections.abc import Sequence

from csci_utils.exit_codes import ExitCode

from . import __version__
from .errors import NeuralStyleError
from .precision import PRECISIONS

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    """Return the parser: the example's flags and defaults, plus a few of ours.

    Ours: ``--style`` and ``--precision`` for eval, ``--vgg-weights`` and ``--max-steps`` for train.
    """
    parser = argparse.ArgumentParser(
        prog="python -m neural_style", description="Fast neural style transfer (Johnson et al., 2016)."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="{eval,train,video}")

    evaluate = commands.add_parser("eval", help="stylize one photo with a trained model")
    evaluate.add_argument("--content-image", required=True, help="path to the photo to stylize")
    evaluate.add_argument(
        "--content-scale", type=float, default=None, help="factor for scaling down the photo first"
    )
    evaluate.add_argument("--output-image", required=True, help="where to write the stylized picture")
    evaluate.add_argument(
        "--model", default=None, help="a .pth/.model checkpoint, or an .onnx model run by ONNX Runtime"
    )
    evaluate.add_argument("--cuda", type=int, choices=(0, 1), default=0, help="1 to run on a CUDA GPU")
    evaluate.add_argument(
        "--export_onnx", default=None, help="also export the checkpoint as an ONNX graph to this .onnx path"
    )
    evaluate.add_argument(
        "--style", default=None, help="multi-style .onnx models: an index (7) or a blend (3:0.5,12:0.5)"
    )
    evaluate.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="auto",
        help="auto (default): bf16 for checkpoints where the CPU computes it natively (AVX512_BF16 or AMX), "
        "else fp32; .onnx models always run in fp32",
    )
    add_picture_style_flags(evaluate)

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
    training.add_argument("--cuda", type=int, choices=(0, 1), default=0, help="1 to train on a CUDA GPU")
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

    from .video.command import add_arguments as add_video_arguments

    add_video_arguments(commands.add_parser("video", help="stylize a video clip, stabilized, audio kept"))
    return parser


def add_picture_style_flags(evaluate: argparse.ArgumentParser) -> None:
    """Add ``--style-image``, ``--strength`` and ``--preserve-color`` to the eval parser."""
    evaluate.add_argument(
        "--style-image", default=None, help="any picture as the style (instead of --model); needs no training"
    )
    evaluate.add_argument(
        "--strength", type=float, default=1.0, help="0..1: how much style (1, the default, is full style)"
    )
    evaluate.add_argument(
        "--preserve-color", action="store_true", help="keep the photo's colours, take the style's luminance"
    )


def check_picture_style_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse bad combinations of eval's model flags before any work (argparse's usage error, exit 2)."""
    if args.style_image is not None and args.model is not None:
        parser.error("give either --model or --style-image, not both")
    if args.style_image is not None and args.style is not None:
        parser.error("--style picks a style of a multi-style --model; it cannot be used with --style-image")
    if args.style_image is None and args.model is None:
        parser.error("one of --model or --style-image is required")
    if not 0.0 <= args.strength <= 1.0:
        parser.error(f"--strength must be between 0 and 1, got {args.strength}")


def uses_picture_style(args: argparse.Namespace) -> bool:
    """Whether eval needs :func:`run_picture_eval` (style picture, strength, colour, or a folder)."""
    from pathlib import Path

    return bool(
        args.style_image is not None
        or args.strength != 1.0
        or args.preserve_color
        or Path(args.content_image).is_dir()
    )


def run_picture_eval(args: argparse.Namespace) -> int:
    """Run eval through :mod:`neural_style.batch`; map its errors onto :class:`ExitCode`."""
    from csci_utils.exit_codes import ExitCode

    from .batch import check_destination, load_stylizer, stylize_path

    if args.export_onnx is not None:
        print("neural_style: error: --export_onnx cannot be combined with these flags", file=sys.stderr)
        return ExitCode.USAGE
    try:
        check_destination(args.content_image, args.output_image)  # before the model loads
        stylizer = load_stylizer(
            model=args.model,
            style_image=args.style_image,
            style=args.style,
            strength=args.strength,
            preserve_color=args.preserve_color,
            device=_device(args.cuda),
            precision=args.precision,
        )
        result = stylize_path(
            stylizer, args.content_image, args.output_image, content_scale=args.content_scale
        )
    except FileNotFoundError as err:
        print(f"neural_style: error: {_one_line(err)}", file=sys.stderr)
        return ExitCode.MISSING_INPUT
    except NeuralStyleError as err:
        print(f"neural_style: error: {_one_line(err)}", file=sys.stderr)
        return err.exit_code  # a bad --style is exit 2 here as in run_eval, a bad model 4
    except OSError as err:
        print(f"neural_style: error: {err.strerror or err}", file=sys.stderr)
        return ExitCode.FAILED
    except KeyboardInterrupt:
        print("neural_style: interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED
    for reason in result.failed.values():
        print(f"neural_style: error: {reason}", file=sys.stderr)
    return ExitCode.BAD_INPUT if result.failed else ExitCode.OK


def _device(cuda: int) -> str:
    return "cuda" if cuda else "cpu"


def run_eval(args: argparse.Namespace) -> None:
    """Stylize (and optionally export) as the example's ``eval`` does."""
    from .loading import stylize  # not .engine: that imports torch, which an .onnx model never needs

    written = stylize(
        args.content_image,
        args.model,
        args.output_image,
        content_scale=args.content_scale,
        device=_device(args.cuda),
        style=args.style,
        precision=args.precision,
        export_onnx=args.export_onnx,
    )
    log.info("stylized %s -> %s", args.content_image, written)


def run_train(args: argparse.Namespace) -> None:
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
        device=_device(args.cuda),
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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 on success)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    # Set here, on the main thread before any worker starts: warnings filters are process-wide.
    with warnings.catch_warnings():
        # torch.load's safe unpickler warns of any pickle protocol but 2 (a raw pickle.dump file, a
        # checkpoint saved with pickle_protocol=4), two lines before the one that says what is wrong.
        warnings.filterwarnings("ignore", message="Detected pickle protocol", category=UserWarning)
        return run_command(parser, args)


def run_command(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """Run the parsed command; a user's mistake is one line on stderr and an exit code."""
    if args.command == "train" and args.vgg_weights is None:
        from .vgg import MISSING_WEIGHTS_HINT

        parser.error(MISSING_WEIGHTS_HINT)  # a usage error, with the hint argparse's "required" lacks
    if args.command == "eval":
        check_picture_style_args(parser, args)
        if uses_picture_style(args):
            return run_picture_eval(args)
    if args.command == "video":
        from .video.command import run as run_video

        return run_video(args)  # maps its own errors onto csci_utils.exit_codes
    try:
        if args.command == "eval":
            run_eval(args)
        else:
            run_train(args)
    except NeuralStyleError as err:
        print(f"neural_style: error: {_one_line(err)}", file=sys.stderr)
        return err.exit_code
    except FileNotFoundError as err:
        print(f"neural_style: error: {_one_line(err)}", file=sys.stderr)
        return ExitCode.MISSING_INPUT
    except OSError as err:  # permissions, a full disk, a directory where a file was expected
        detail = err.strerror or str(err)
        where = f": {err.filename}" if err.filename else ""
        print(f"neural_style: error: {detail}{where}", file=sys.stderr)
        return ExitCode.FAILED
    except KeyboardInterrupt:
        print("neural_style: interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED
    return ExitCode.OK


def _one_line(err: BaseException) -> str:
    text = str(err)
    return " ".join(text.split()) if text else type(err).__name__
