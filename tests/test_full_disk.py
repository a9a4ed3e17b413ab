"""A disk that fills up mid-write is an error, never a smaller file: every writer, on a real tmpfs.

A filling disk first answers ``write()`` with fewer bytes than asked, then with ENOSPC. Pillow's encoders
(and other C writers) ignore the short write, so a picture saved to a file could come out truncated with
no error at all. Each test here runs one writer over a sweep of free space around its output's size, in
a child process with a tmpfs of its own, and checks every attempt: either an OSError and no file (and no
temp file left), or a file that reads back complete.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

# Runs in the child: argv = writer name, the tmpfs folder, a scratch folder on the real disk.
_SWEEP = r"""
import io, json, os, sys
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image

name, disk, scratch = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
rng = np.random.default_rng(0)
noise = rng.integers(0, 256, (600, 800, 3), dtype=np.uint8)
picture = Image.fromarray(noise, "RGB")


def picture_writer(suffix):
    from neural_style.image import check_image_file, save_image

    def write(target):
        save_image(picture, target, overwrite=False)

    def verify(target):
        check_image_file(target)
        if suffix == ".png":
            assert np.array_equal(np.asarray(Image.open(target)), noise)

    return suffix, write, verify


def contact_sheet_writer():
    from neural_style.image import check_image_file
    from neural_style.sheet import Tile, compose
    from pset_4 import contact_sheet

    sheet = compose([[Tile("noise", picture)] * 3], tile_size=400)
    return ".png", lambda target: contact_sheet.write(sheet, target), check_image_file


def checkpoint_writer():
    import torch
    from neural_style.torch.model import TransformerNet, load_state_dict, save_checkpoint

    torch.manual_seed(0)
    state = TransformerNet().state_dict()

    def verify(target):
        loaded = load_state_dict(target)
        assert all(torch.equal(loaded[key], value) for key, value in state.items())

    return ".pth", lambda target: save_checkpoint(state, target), verify


def vector_writer():
    from neural_style.onnx.arbitrary import _write_vector

    vector = rng.standard_normal((1, 100, 1, 1)).astype(np.float32)
    return ".npy", lambda target: _write_vector(target, vector), lambda t: np.array_equal(np.load(t), vector)


def parquet_writer():
    import shutil

    import pyarrow.parquet as pq
    from csci_utils.parquet import convert_excel_to_parquet
    from pset_1.synthetic import write_workbook

    workbook = write_workbook(scratch / "survey.xlsx", 3000)
    expected = convert_excel_to_parquet(workbook)

    shutil.copyfile(workbook, disk / "out.xlsx")  # before the sweep: only the Parquet file is written in it

    def write(target):
        convert_excel_to_parquet(target.with_suffix(".xlsx"))

    def verify(target):
        assert pq.read_table(target).equals(pq.read_table(expected))

    return ".parquet", write, verify


def video_writer():
    from neural_style.video.encode import video_writer as open_writer
    from neural_style.video.info import probe

    frames = [rng.integers(0, 256, (96, 128, 3), dtype=np.uint8) for _ in range(24)]

    def write(target):
        with open_writer(target, size=(128, 96), time_base=Fraction(1, 25), rate=Fraction(25)) as sink:
            for index, frame in enumerate(frames):
                sink(frame, index, 1)

    def verify(target):
        assert probe(target).frame_count == len(frames)

    return ".mp4", write, verify


WRITERS = {
    "jpeg": lambda: picture_writer(".jpg"),
    "png": lambda: picture_writer(".png"),
    "contact sheet": contact_sheet_writer,
    "checkpoint": checkpoint_writer,
    "style vector": vector_writer,
    "parquet": parquet_writer,
    "video": video_writer,
}
suffix, write, verify = WRITERS[name]()
target = disk / ("out" + suffix)
keep = {p.name for p in disk.iterdir()} | {"filler"}


def clear():
    for path in disk.iterdir():
        if path.name not in keep or path.name == "filler":
            path.unlink()


def fill(free):
    clear()
    stat = os.statvfs(disk)
    with open(disk / "filler", "wb") as handle:
        handle.write(b"\0" * max(stat.f_bavail * stat.f_frsize - free, 0))


clear()
write(target)
full_size = target.stat().st_size
outcomes = []
for free in range(max(full_size - 256 * 1024, 0), full_size + 16 * 1024, 4096):
    fill(free)
    before = {p.name for p in disk.iterdir()}
    try:
        write(target)
        error = None
    except OSError as err:
        error = f"{type(err).__name__}: {err}"
    left = sorted({p.name for p in disk.iterdir()} - before - {target.name})
    if target.exists():
        try:
            outcome = "wrong" if verify(target) is False else "complete"
        except Exception as err:
            outcome = f"truncated ({type(err).__name__}: {err})"
    else:
        outcome = "error" if error or name == "style vector" else "nothing, silently"
    outcomes.append({"free": free, "outcome": outcome, "error": error, "left": left})
print(json.dumps({"size": full_size, "outcomes": outcomes}))
"""

WRITERS = ["jpeg", "png", "contact sheet", "checkpoint", "style vector", "parquet", "video"]


@pytest.mark.slow
@pytest.mark.parametrize("writer", WRITERS)
def test_a_full_disk_is_an_error_never_a_truncated_file(writer: str, tiny_disk, tmp_path: Path) -> None:
    disk, scratch = tmp_path / "disk", tmp_path / "scratch"
    scratch.mkdir()
    ran = tiny_disk.run(
        [sys.executable, "-c", _SWEEP, writer, str(disk), str(scratch)], mountpoint=disk, size_kib=16 * 1024
    )
    assert ran.returncode == 0, ran.stderr[-3000:]
    report = json.loads(ran.stdout.splitlines()[-1])
    outcomes = report["outcomes"]
    bad = [o for o in outcomes if o["outcome"] not in {"complete", "error"} or o["left"]]
    assert not bad, bad
    # The sweep straddles the output's size: some attempts had room, some ran out of it.
    assert {o["outcome"] for o in outcomes} == {"complete", "error"}
