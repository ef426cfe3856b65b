"""Run a trained model live, frame by frame: from a video file, a folder of frames or a camera, to an mp4 and/or a
window, printing frames/s and latency as it goes.

    python scripts/stream.py --name demo --input datasets/Cityscapes/test_A/seq0000 \\
        --instance datasets/Cityscapes/test_inst/seq0000 --real datasets/Cityscapes/test_B/seq0000
    python scripts/stream.py --name my_video --input my_video.mp4 --derive edges      # an edge run, from RGB
    python scripts/stream.py --name my_video --camera 0 --derive edges --show

Inputs are what the run was trained on: label maps (a folder of PNG ids) for label runs, input images for
``--label_nc 0`` runs, or RGB frames turned into the run's input with ``--derive edges`` (Canny, as
``video_to_dataset.py --kind edges``). The first ``n_frames_G - 1`` frames of the stream fill the generator's
history from the run's first-frame source (``--real`` frames, which imply test.py's ``--use_real_img``; the
single-frame G with ``-- --use_single_G``; nothing with ``-- --no_first_img``); every later frame is generated, as
test.py does (models/streaming.py). Flags after ``--`` go to the run's options as for test.py.
"""
from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import util.interrupt_hook  # noqa: E402, F401 - first: a Ctrl-C while torch loads is one line, not a traceback

# isort: split
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from data.image_folder import DataError  # noqa: E402
from data.modes.folders import LABEL_MODES  # noqa: E402
from data.video_frames import canny_edges, iter_frames  # noqa: E402
from models.checkpoint import CheckpointError  # noqa: E402
from models.inference import FirstFrameSourceError  # noqa: E402
from models.streaming import FastPath, StreamError, Synthesizer  # noqa: E402
from util.allocator import keep_freed_memory  # noqa: E402
from util.atomic import NewFolder  # noqa: E402
from util.cli import INTERRUPTED, exit_on_interrupt, interrupted_line  # noqa: E402
from util.image import tensor2im, tensor2label  # noqa: E402
from util.video import Mp4Writer, side_by_side  # noqa: E402

REPORT_EVERY = 10  # frames between progress lines


class StreamSetupError(RuntimeError):
    """A missing camera, display or input; the message names it and the fix."""


def positive_fps(text: str) -> float:
    """An argparse type for --fps: a finite frame rate above 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected frames per second, got {text!r}") from None
    if not (0 < value < float("inf")):
        raise argparse.ArgumentTypeError(f"{text} frames/s: the mp4's frame rate must be a positive number, e.g. 15")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--name", required=True, help="the run (checkpoints/<name>)")
    parser.add_argument("--checkpoints_dir", default="checkpoints")
    parser.add_argument("--which_epoch", default="latest")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--input", help="a video file or a folder of frames (label maps for a label run)")
    source.add_argument("--camera", type=int, help="a camera index (OpenCV's VideoCapture, e.g. 0)")
    parser.add_argument("--instance", default=None, help="a folder of instance maps beside --input (--use_instance)")
    parser.add_argument("--real", default=None,
                        help="a video or folder of real frames for the first frames (runs tested --use_real_img)")
    parser.add_argument("--derive", choices=("none", "edges"), default="none",
                        help="turn RGB frames into the run's input: edges = Canny (edge runs, --input_nc 1)")
    parser.add_argument("--canny", type=int, nargs=2, default=(100, 200), metavar=("LOW", "HIGH"))
    parser.add_argument("--size", type=int, default=None, help="resize input frames to this width first")
    parser.add_argument("--max_frames", type=int, default=None, help="stop after this many input frames")
    parser.add_argument("--output", default=None,
                        help="mp4 to write, input | output side by side (default results/<name>/stream.mp4 "
                             "unless --show)")
    parser.add_argument("--fps", type=positive_fps, default=15.0, help="frame rate of the written mp4")
    parser.add_argument("--show", action="store_true", help="also show the frames in a window (needs a display)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda[:N]")
    fast = parser.add_argument_group("fast paths (opt-in; measured speed and quality: docs/INFERENCE.md)")
    fast.add_argument("--bf16", action="store_true",
                      help="bfloat16 autocast; only where the CPU (AVX-512 BF16, AMX) or GPU computes bf16 natively")
    fast.add_argument("--channels_last", action="store_true", help="NHWC memory order for the networks")
    fast.add_argument("--compile", action="store_true",
                      help="torch.compile the generator step (the first frame pays the compilation)")
    return parser


def camera_frames(index: int, max_frames: int | None) -> Iterator[Image.Image]:
    import cv2

    capture = cv2.VideoCapture(index)
    if not capture.isOpened():
        raise StreamSetupError(f"no camera {index}: OpenCV could not open it (on Linux /dev/video{index}); check "
                               "that it is connected and free, or give --input")
    try:
        count = 0
        while max_frames is None or count < max_frames:
            ok, frame = capture.read()
            if not ok:
                return
            count += 1
            yield Image.fromarray(frame[:, :, ::-1])
    finally:
        capture.release()


FRAME_FLAGS = {  # what each frame source must hold, for the line naming it when it cannot be read
    "--input": "give the video or folder of frames to stream",
    "--instance": "give the folder of instance maps of --input's frames",
    "--real": "give the video or folder of real frames of --input",
}


def folder_or_video(path: str | None, max_frames: int | None, size: int | None, keep_mode: bool,
                    flag: str) -> Iterator[Image.Image | None]:
    """Frames of ``path`` (label maps keep their mode: ``keep_mode``), or None forever without a path; a path
    that cannot be read is a `StreamSetupError` naming ``flag``."""
    if path is None:
        while True:
            yield None
    try:
        yield from iter_frames(path, 1, max_frames, size, keep_mode=keep_mode)
    except DataError as error:
        raise StreamSetupError(f"{flag} {path}: {error}; {FRAME_FLAGS[flag]}") from None


def check_display(show: bool) -> None:
    if not show:
        return
    import cv2

    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) and sys.platform.startswith("linux"):
        raise StreamSetupError("--show needs a display (no DISPLAY is set); write an mp4 with --output instead")
    build = cv2.getBuildInformation()
    if "GUI:" in build and "NONE" in build.split("GUI:", 1)[1].splitlines()[0]:
        raise StreamSetupError("--show needs OpenCV with window support; this one is opencv-python-headless: "
                               "pip install opencv-python (needs libGL) or write an mp4 with --output")


def input_picture(synth: Synthesizer) -> np.ndarray:
    """What the generator was given for the newest frame, as a picture (colourised ids or the input image)."""
    label = synth.window[-1].label
    if synth.opt.label_nc:
        return tensor2label(label, synth.opt.label_nc)
    picture = tensor2im(label)
    return np.repeat(picture[:, :, None], 3, axis=2) if picture.ndim == 2 else picture


def check_output(output: str | None) -> None:
    if output and os.path.isdir(output):
        raise StreamSetupError(f"--output {output} is a folder; give the mp4 to write, e.g. "
                               f"{os.path.join(output, 'stream.mp4')}")
    if output and not output.lower().endswith(".mp4"):
        raise StreamSetupError(f"--output {output}: stream.py writes H.264 mp4 files only; give a name ending in "
                               f".mp4, e.g. {os.path.splitext(output)[0]}.mp4")


def load_synthesizer(args: argparse.Namespace, extra: list[str], fast: FastPath) -> Synthesizer:
    """The run, its errors about first frames and instance maps said with this script's flags."""
    try:
        synth = Synthesizer.from_run(args.name, args.checkpoints_dir, args.which_epoch, args.device, extra, fast)
    except FirstFrameSourceError:
        raise StreamSetupError(f"run {args.name} needs a source for its first frames: pass "
                               "--real FOLDER (real frames of --input, e.g. <dataroot>/test_B/<seq>), or add "
                               "-- --use_single_G (published Cityscapes/face models) or -- --no_first_img (runs "
                               "trained with it)") from None
    if synth.mode == "folders" and synth.opt.use_instance and args.instance is None and args.camera is None:
        raise StreamSetupError(f"run {args.name} was trained with --use_instance: pass --instance FOLDER (the "
                               "instance maps of --input's frames, e.g. <dataroot>/test_inst/<seq>)")
    return synth


def check_label_map(frame: Image.Image, args: argparse.Namespace, synth: Synthesizer) -> None:
    """A label run's --input frame must be a map of ids, not a picture."""
    if frame.mode not in LABEL_MODES:
        name = getattr(frame, "filename", "") or f"a frame of {args.input}"
        raise StreamSetupError(f"--input {args.input}: {name} has mode {frame.mode}, but run {args.name} reads "
                               f"label maps (--label_nc {synth.opt.label_nc}): give a folder of single-channel "
                               "label-id PNGs (as <dataroot>/test_A/<seq>), or --derive edges for an edge run")


def stream(args: argparse.Namespace, extra: list[str]) -> int:
    check_display(args.show)
    output = args.output or (None if args.show else os.path.join("results", args.name, "stream.mp4"))
    check_output(output)
    if args.real and "--use_real_img" not in extra:
        extra = [*extra, "--use_real_img"]
    fast = FastPath(bf16=args.bf16, channels_last=args.channels_last, compile=args.compile)
    synth = load_synthesizer(args, extra, fast)
    print(f"{args.name} on {args.device} ({fast.describe()})")
    label_input = synth.opt.label_nc != 0 and args.derive == "none"
    if args.camera is not None:
        if label_input:
            raise StreamSetupError(f"run {args.name} reads label maps (--label_nc {synth.opt.label_nc}); a camera "
                                   "gives RGB frames: stream a folder of label maps with --input")
        frames: Iterator = camera_frames(args.camera, args.max_frames)
    else:
        frames = folder_or_video(args.input, args.max_frames, args.size, label_input, "--input")
    instances = folder_or_video(args.instance, None, args.size, True, "--instance")
    reals = itertools.chain(folder_or_video(args.real, None, args.size, False, "--real"), itertools.repeat(None))
    with NewFolder(Path(output).parent) if output else contextlib.nullcontext():  # (a failed stream leaves none)
        return write_stream(args, synth, frames, instances, reals, output, label_input)


def write_stream(args: argparse.Namespace, synth: Synthesizer, frames: Iterator, instances: Iterator,
                 reals: Iterator, output: str | None, label_input: bool) -> int:
    with naming_output(output):
        writer = Mp4Writer(output, fps=args.fps) if output else None
    latencies: list[float] = []
    count = generated = 0
    start = time.perf_counter()
    try:
        for frame, instance, real in zip(frames, instances, reals, strict=False):  # ends with --input / --camera
            if label_input:
                check_label_map(frame, args, synth)
            history = synth.prev_outputs is None and len(synth.window) + 1 < synth.window.maxlen
            if real is None and history and synth.opt.use_real_img:  # (as the Synthesizer asks for real=)
                raise StreamSetupError(f"--real {args.real} has fewer frames than the first {synth.opt.n_frames_G - 1}"
                                       " of --input need; give the real frames of --input" if args.real else
                                       f"run {args.name} makes its first frames from real ones (--use_real_img): "
                                       "pass --real FOLDER (real frames of --input)")
            label = canny_edges(frame, *args.canny) if args.derive == "edges" else frame
            began = time.perf_counter()
            out = synth.step(label, real=real if synth.prev_outputs is None else None, instance=instance)
            count += 1
            if out is None:
                continue
            latencies.append(time.perf_counter() - began)
            generated += 1
            picture = side_by_side(input_picture(synth), out)
            if writer is not None:
                with naming_output(output):
                    writer.append(picture)
            if args.show:
                show(picture)
            if generated % REPORT_EVERY == 0:
                report(generated, latencies, time.perf_counter() - start)
    except KeyboardInterrupt:  # the usual end of a camera stream: keep the video of what was generated
        if writer is None or writer.count == 0:
            if writer is not None:
                writer.abort()
            raise
        finish(writer)  # (ffmpeg runs in its own process group: the terminal's Ctrl-C did not reach it)
        print(interrupted_line("stream", f"the {generated} frames generated so far are in {output}"),
              file=sys.stderr)
        return INTERRUPTED
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    if not generated:
        if writer is not None:
            writer.abort()
        raise StreamSetupError(f"{count} input frame(s): fewer than the {synth.opt.n_frames_G} a first output needs")
    if writer is not None:
        with naming_output(output):
            finish(writer)
    report(generated, latencies, time.perf_counter() - start, final=True)
    if writer is not None:
        print(f"video: {output}")
    return 0


@contextlib.contextmanager
def naming_output(output: str | None) -> Iterator[None]:
    """An mp4 that cannot be written (an unwritable folder; ffmpeg's multi-line report) is one line naming it."""
    try:
        yield
    except OSError as error:
        lines = [line for line in str(error).splitlines() if line.strip()]
        reason = error.strerror or (lines[0] if lines else type(error).__name__)
        raise StreamSetupError(f"cannot write --output {output} ({reason}); choose a file in a folder you can "
                               "write") from None


def finish(writer: Mp4Writer) -> None:
    """Close the mp4 (it takes its name only when complete); a second Ctrl-C meanwhile removes it instead."""
    try:
        writer.close()
    except BaseException:
        writer.abort()
        raise


def show(picture: np.ndarray) -> None:
    import cv2

    cv2.imshow("vid2vid", picture[:, :, ::-1])
    cv2.waitKey(1)


def report(generated: int, latencies: list[float], seconds: float, final: bool = False) -> None:
    recent = latencies[-REPORT_EVERY:]
    p95 = sorted(recent)[max(0, round(0.95 * len(recent)) - 1)]
    prefix = "done:" if final else "frame"
    print(f"{prefix} {generated} generated, {generated / seconds:.2f} frames/s overall; latency of the generator "
          f"step {1000 * statistics.mean(recent):.0f} ms (mean of the last {len(recent)}), {1000 * p95:.0f} ms (p95)",
          flush=True)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    cut = argv.index("--") if "--" in argv else len(argv)
    args = build_parser().parse_args(argv[:cut])
    try:
        return stream(args, argv[cut + 1:])
    except (StreamSetupError, StreamError, DataError, CheckpointError, FileNotFoundError, ValueError) as error:
        print(f"stream: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    keep_freed_memory()  # as test.py: activations are freed and reallocated every frame (util/allocator.py)
    sys.exit(exit_on_interrupt(main, "stream", "no frame was generated yet, so no mp4 was written"))
