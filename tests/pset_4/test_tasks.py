"""The Luigi tasks, run by a local scheduler in this process on tmp_path roots."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
from pathlib import Path

import luigi
import numpy as np
import pytest
from PIL import Image

from pset_4.tasks.data import ContentImage, DownloadImage, DownloadModel, SavedModel, UploadImage, UploadModel
from pset_4.tasks.stylize import PublishStylized, Stylize, StylizeProgram


def build(*tasks: luigi.Task) -> bool:
    return luigi.build(list(tasks), local_scheduler=True, workers=1, log_level="WARNING")


@pytest.fixture
def seeded(roots, make_photo, checkpoint):
    """A remote folder with one photo and one TransformerNet checkpoint."""
    make_photo(roots.remote_images / "luigi.jpg")
    roots.remote_models.mkdir(parents=True)
    shutil.copyfile(checkpoint, roots.remote_models / "random.pth")
    return roots


def test_content_image_is_complete_only_when_the_remote_has_it(seeded) -> None:
    assert ContentImage(image="luigi.jpg").complete()
    assert not ContentImage(image="other.jpg").complete()
    assert SavedModel(model="random.pth").complete()


def test_unsafe_names_are_refused_when_a_task_is_made(roots) -> None:
    with pytest.raises(ValueError, match="path separators"):
        ContentImage(image="../secrets/x.jpg")
    with pytest.raises(ValueError, match=r"\.\."):
        Stylize(image="..", model="m.pth")


@pytest.mark.slow
def test_luigi_command_line_finds_a_content_image(seeded) -> None:
    command = [
        sys.executable,
        "-m",
        "luigi",
        "--module",
        "pset_4.tasks.data",
        "ContentImage",
        "--local-scheduler",
    ]
    found = subprocess.run([*command, "--image", "luigi.jpg"], capture_output=True, text=True, check=True)
    missing = subprocess.run([*command, "--image", "nope.jpg"], capture_output=True, text=True, check=False)
    assert "complete ones were encountered" in found.stderr
    assert "missing external dependencies" in missing.stderr


def test_download_copies_the_remote_file_into_the_cache(seeded) -> None:
    assert build(DownloadImage(image="luigi.jpg"), DownloadModel(model="random.pth"))
    cached = seeded.cache / "images" / "luigi.jpg"
    assert cached.read_bytes() == (seeded.remote_images / "luigi.jpg").read_bytes()
    assert (seeded.cache / "saved_models" / "random.pth").stat().st_size == (
        seeded.remote_models / "random.pth"
    ).stat().st_size


def test_upload_pushes_a_local_file_the_remote_lacks_and_a_rerun_transfers_nothing(roots, make_photo) -> None:
    local = make_photo(roots.cache / "images" / "mine.png")
    assert build(UploadImage(image="mine.png"))
    remote = roots.remote_images / "mine.png"
    assert remote.read_bytes() == local.read_bytes()
    before = remote.stat().st_mtime_ns
    assert build(UploadImage(image="mine.png"), DownloadImage(image="mine.png"))
    assert remote.stat().st_mtime_ns == before
    assert sorted(p.name for p in remote.parent.iterdir()) == ["mine.png"]


def test_upload_never_replaces_what_the_remote_has(seeded, make_photo) -> None:
    original = (seeded.remote_images / "luigi.jpg").read_bytes()
    make_photo(seeded.cache / "images" / "luigi.jpg", seed=7)
    assert build(UploadImage(image="luigi.jpg"))
    assert (seeded.remote_images / "luigi.jpg").read_bytes() == original


def test_upload_model_from_an_explicit_source(roots, checkpoint) -> None:
    assert build(UploadModel(model="copy.pth", source=str(checkpoint)))
    assert (roots.remote_models / "copy.pth").read_bytes() == checkpoint.read_bytes()


def test_stylize_writes_a_versioned_output_and_a_rerun_does_nothing(seeded) -> None:
    task = Stylize(image="luigi.jpg", model="random.pth")
    assert build(task)
    output = Path(task.cached_output().path)
    assert output.parent == seeded.stylized
    assert output.name.startswith("luigi--random--")
    assert output.suffix == ".jpg"
    with Image.open(output) as picture:
        assert picture.size == (48, 40)
    stamp = output.stat().st_mtime_ns
    assert build(Stylize(image="luigi.jpg", model="random.pth"))
    assert output.stat().st_mtime_ns == stamp
    assert [p.name for p in seeded.stylized.iterdir()] == [output.name]


def test_a_changed_remote_input_gets_a_new_output_never_the_stale_one(seeded, make_photo) -> None:
    first = Stylize(image="luigi.jpg", model="random.pth")
    assert build(first)
    old_name = first.output_name()
    make_photo(seeded.remote_images / "luigi.jpg", seed=3)
    assert first.output_name() != old_name
    assert not first.complete()
    # The cache still holds the old photo: the task downloads the remote's new one before stylizing.
    assert build(Stylize(image="luigi.jpg", model="random.pth"))
    cached = seeded.cache / "images" / "luigi.jpg"
    assert cached.read_bytes() == (seeded.remote_images / "luigi.jpg").read_bytes()
    assert sorted(p.name for p in seeded.stylized.iterdir()) == sorted([old_name, first.output_name()])


def test_a_new_engine_version_gets_a_new_output(seeded, monkeypatch: pytest.MonkeyPatch) -> None:
    import neural_style

    task = Stylize(image="luigi.jpg", model="random.pth")
    assert build(task)
    monkeypatch.setattr(neural_style, "PIXELS_VERSION", neural_style.PIXELS_VERSION + ".post1")
    assert not task.complete()


@pytest.mark.slow
def test_external_program_variant_gives_the_same_output(seeded) -> None:
    in_process = Stylize(image="luigi.jpg", model="random.pth")
    assert build(in_process)
    expected = Path(in_process.output().path).read_bytes()
    Path(in_process.output().path).unlink()
    Path(in_process.cached_output().path).unlink()
    program = StylizeProgram(image="luigi.jpg", model="random.pth")
    assert program.output().path == in_process.output().path
    assert build(program)
    with Image.open(program.cached_output().path) as ours, Image.open(io.BytesIO(expected)) as theirs:
        difference = np.abs(np.asarray(ours, dtype=np.int16) - np.asarray(theirs, dtype=np.int16))
    assert difference.max() <= 1
    assert [p.name for p in seeded.stylized.iterdir()] == [Path(program.output().path).name]
    assert Path(program.output().path).read_bytes() == Path(program.cached_output().path).read_bytes()


def test_publish_copies_the_result_to_the_remote(seeded) -> None:
    task = PublishStylized(image="luigi.jpg", model="random.pth")
    assert build(task)
    local = Path(task.requires().cached_output().path)
    remote = seeded.remote / "stylized" / local.name
    assert remote.read_bytes() == local.read_bytes()


def test_stylize_requires_only_what_every_machine_sees(seeded) -> None:
    task = Stylize(image="luigi.jpg", model="random.pth")
    assert Path(task.output().path).parent == seeded.remote / "stylized"
    remote_requirements = [Path(t.output().path) for t in task.requires().values()]
    assert all(seeded.remote in path.parents for path in remote_requirements)


def test_stylize_downloads_its_inputs_inside_run(seeded) -> None:
    assert build(Stylize(image="luigi.jpg", model="random.pth"))
    cached = seeded.cache / "images" / "luigi.jpg"
    assert cached.read_bytes() == (seeded.remote_images / "luigi.jpg").read_bytes()


def test_a_corrupt_image_fails_without_an_output(seeded) -> None:
    (seeded.remote_images / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    task = Stylize(image="broken.jpg", model="random.pth")
    assert not build(task)
    assert not task.complete()
    assert not seeded.stylized.exists() or list(seeded.stylized.iterdir()) == []


def test_program_variant_passes_the_style_to_the_engine_command(roots) -> None:
    task = StylizeProgram(image="a.jpg", model="multi.onnx", style="3:0.5,12:0.5")
    task.temp_output_path = "/tmp/out.jpg"
    args = task.program_args()
    assert args[1:4] == ["-m", "neural_style", "eval"]
    assert args[args.index("--style") + 1] == "3:0.5,12:0.5"
    assert args[args.index("--output-image") + 1] == "/tmp/out.jpg"


@pytest.mark.slow
def test_luigi_command_line_runs_stylize(seeded) -> None:
    command = [
        sys.executable,
        "-m",
        "luigi",
        "--module",
        "pset_4.tasks.stylize",
        "Stylize",
        "--local-scheduler",
    ]
    done = subprocess.run(
        [*command, "--image", "luigi.jpg", "--model", "random.pth"], capture_output=True, text=True
    )
    assert "ran successfully" in done.stderr
    assert len(list(seeded.stylized.iterdir())) == 1


def test_checkpoint_results_are_named_apart_where_auto_precision_is_bf16(roots):
    from neural_style.hardware import resolve_precision
    from pset_4.tasks.stylize import Stylize

    checkpoint = Stylize(image="p.png", model="m.pth").versions()
    onnx = Stylize(image="p.png", model="m.onnx").versions()
    assert ("precision" in checkpoint) == (resolve_precision("auto") == "bf16")
    assert "precision" not in onnx


def test_progress_lines_say_what_a_task_makes_in_words():
    from pset_4.tasks.stylize import Stylize

    assert Stylize(image="p.jpg", model="m.onnx", style="9").describe() == "p.jpg with m.onnx style 9"
    picture = Stylize(image="p.jpg", style_image="starry.png", strength=0.5, preserve_color=True)
    assert picture.describe() == "p.jpg with the picture starry.png (strength 0.5, the photo's colours)"
