"""``python -m neural_style eval|train``: the example's command line, over our engine and trainer.

Thin by design: parse, call one library function, turn a user's mistake into one line on stderr and a
non-zero exit status.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from . import __version__
from .errors import NeuralStyleError

log = logging.getLogger(__name__)

EXIT_ERROR = 1
EXIT_INTERRUPTED = 130


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
        "--model", required=True, help="a .pth/.model checkpoint, or an .onnx model run by ONNX Runtime"
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
        choices=("fp32", "bf16"),
        default="fp32",
        help="bf16 is faster on CPUs that support it, at a small cost in accuracy (checkpoints only)",
    )

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


def _device(cuda: int) -> str:
    return "cuda" if cuda else "cpu"


def run_eval(args: argparse.Namespace) -> None:
    """Stylize (and optionally export) as the example's ``eval`` does."""
    from .engine import stylize

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
    if args.command == "train" and args.vgg_weights is None:
        from .vgg import MISSING_WEIGHTS_HINT

        parser.error(MISSING_WEIGHTS_HINT)  # a usage error, with the hint argparse's "required" lacks
    if args.command == "video":
        from .video.command import run as run_video

        return run_video(args)  # maps its own errors onto csci_utils.exit_codes
    try:
        if args.command == "eval":
            run_eval(args)
        else:
            run_train(args)
    except (FileNotFoundError, NeuralStyleError) as err:
        print(f"neural_style: error: {_one_line(err)}", file=sys.stderr)
        return EXIT_ERROR
    except OSError as err:  # permissions, a full disk, a directory where a file was expected
        detail = err.strerror or str(err)
        where = f": {err.filename}" if err.filename else ""
        print(f"neural_style: error: {detail}{where}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("neural_style: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0


def _one_line(err: BaseException) -> str:
    text = str(err)
    return " ".join(text.split()) if text else type(err).__name__
