"""Optical flow current -> previous for an image pair or for every consecutive pair of a folder of frames.

    python scripts/compute_flow.py --flow_net dis --current B.png --previous A.png --out flow/
    python scripts/compute_flow.py --flow_net flownet2 [--flownet_checkpoint PATH] --frames DIR --out flow/

With ``--frames`` the images of DIR (sorted by name) are frames 0, 1, ...; pair t has current = frame t and
previous = frame t - 1 and is named after the current frame. For each pair, OUT gets ``<stem>.flo`` (Middlebury,
read with ``util.flow_io.read_flo``; ``previous(p + flow(p)) ~ current(p)``, pixels), ``<stem>_flow.png`` (the
flow colour-coded) and ``<stem>_conf.png`` (the backend's confidence, 255 = the warp reproduces the current
frame). All inputs are checked before anything is computed, and each file is written under a temporary name
and renamed, so an error leaves no partial output. See docs/FLOW.md.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import util.interrupt_hook  # noqa: E402, F401 - first: a Ctrl-C while torch loads is one line, not a traceback

# isort: split
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from data.image_folder import is_image_file  # noqa: E402
from models.flow import build_flow_estimator  # noqa: E402
from models.flow_eval import load_frame  # noqa: E402
from options.base_options import int_list  # noqa: E402
from options.choices import FLOW_NETS  # noqa: E402
from util.atomic import write_atomically  # noqa: E402
from util.cli import exit_on_interrupt  # noqa: E402
from util.device import select_device  # noqa: E402
from util.flow_io import flow_to_color, write_flo  # noqa: E402


class FlowInputError(ValueError):
    """Unusable inputs; the message names the flag or file and the fix."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flow_net", default="flownet2", choices=FLOW_NETS, help="flow backend")
    parser.add_argument("--flownet_checkpoint", default="",
                        help="FlowNet2 checkpoint (default models/flownet2_pytorch/FlowNet2_checkpoint.pth.tar)")
    parser.add_argument("--raft_weights", default="", help="RAFT-large weights (default: the torch hub cache)")
    parser.add_argument("--current", help="current frame (flow goes from it to --previous)")
    parser.add_argument("--previous", help="previous frame")
    parser.add_argument("--frames", help="folder of frames; flow of every frame to its predecessor")
    parser.add_argument("--out", required=True, help="output folder (created if needed)")
    parser.add_argument("--gpu_ids", type=int_list, default="0", help="gpu id, or -1 for CPU")
    return parser


def frame_pairs(args: argparse.Namespace) -> list[tuple[Path, Path]]:
    """``(current, previous)`` paths from ``--current/--previous`` or ``--frames``."""
    if args.frames is not None:
        if args.current is not None or args.previous is not None:
            raise FlowInputError("give either --frames DIR or --current A --previous B, not both")
        folder = Path(args.frames)
        if not folder.is_dir():
            raise FlowInputError(f"--frames {folder}: " + ("a file, not a folder of frames (pass --current and "
                                                           "--previous for one pair)" if folder.is_file()
                                                           else "folder not found"))
        frames = sorted(path for path in folder.iterdir() if path.is_file() and is_image_file(path.name))
        if len(frames) < 2:
            raise FlowInputError(f"--frames {folder} holds {len(frames)} image(s); flow needs at least 2 frames")
        return list(zip(frames[1:], frames[:-1], strict=True))
    if args.current is None or args.previous is None:
        raise FlowInputError("give --current A.png --previous B.png, or --frames DIR")
    for flag, path in (("--current", args.current), ("--previous", args.previous)):
        if not Path(path).is_file():
            raise FlowInputError(f"{flag} {path}: file not found")
    return [(Path(args.current), Path(args.previous))]


def check_frames(pairs: list[tuple[Path, Path]]) -> tuple[int, int]:
    """Every frame must be a readable image and all must share one size; returns (height, width)."""
    sizes = {}
    for path in dict.fromkeys(path for pair in pairs for path in pair):
        try:
            with Image.open(path) as image:
                image.load()  # decode now: a corrupt file must fail before any output is written
                sizes[path] = image.size  # (W, H)
        except (OSError, ValueError) as error:
            raise FlowInputError(f"{path}: not a readable image ({error})") from error
    first, (width, height) = next(iter(sizes.items()))
    for path, size in sizes.items():
        if size != (width, height):
            raise FlowInputError(f"{path} is {size[0]}x{size[1]} but {first} is {width}x{height}; "
                                 "all frames must have the same size")
    return height, width


def save_flow(out: Path, stem: str, flow: torch.Tensor, conf: torch.Tensor) -> list[Path]:
    """Write ``<stem>.flo``, ``<stem>_flow.png`` and ``<stem>_conf.png``; flow (2, H, W), conf (1, H, W)."""
    flow_array = flow.permute(1, 2, 0).cpu().numpy()  # (H, W, 2)
    conf_array = (conf[0].clamp(0, 1) * 255).round().to(torch.uint8).cpu().numpy()  # (H, W)
    outputs = {
        out / f"{stem}.flo": lambda path: write_flo(path, flow_array),
        out / f"{stem}_flow.png": lambda path: Image.fromarray(flow_to_color(flow_array)).save(path, format="PNG"),
        out / f"{stem}_conf.png": lambda path: Image.fromarray(conf_array).save(path, format="PNG"),
    }
    for path, write in outputs.items():
        write_atomically(path, write)
    return list(outputs)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        pairs = frame_pairs(args)
        height, width = check_frames(pairs)
        out = Path(args.out)
        if not args.out.strip():  # "" would write the flow files into the working folder
            raise FlowInputError("--out is empty: give the folder for the flow files")
        if out.exists() and not out.is_dir():
            raise FlowInputError(f"--out {out} exists and is not a folder")
        stems = [current.stem for current, _ in pairs]
        if len(set(stems)) != len(stems):
            raise FlowInputError(f"--frames {args.frames}: several frames share a name stem; outputs would clash")
        device = select_device(argparse.Namespace(gpu_ids=args.gpu_ids, local_rank=0))
        estimator = build_flow_estimator(args.flow_net, device, args.flownet_checkpoint or None,
                                         args.raft_weights or None)
        estimator.working_size(height, width)  # raises for frames the backend cannot handle, before any work
    except (FlowInputError, FileNotFoundError, ValueError, RuntimeError) as error:
        print(f"compute_flow: error: {error}", file=sys.stderr)
        return 2

    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        print(f"compute_flow: error: cannot make --out {out} ({error.strerror or error}); choose a folder you can "
              "write", file=sys.stderr)
        return 1
    with torch.no_grad():  # (a block, not a global switch: main may run inside another program, or a test)
        write_flows(pairs, estimator, device, out)
    return 0


def write_flows(pairs: list[tuple[Path, Path]], estimator, device: torch.device, out: Path) -> None:  # noqa: ANN001
    """The flow of every (current, previous) pair into ``out``, one line printed per pair."""
    loaded: tuple[Path | None, torch.Tensor | None] = (None, None)
    for index, (current_path, previous_path) in enumerate(pairs):
        # Consecutive pairs share a frame: reuse the last one loaded instead of decoding it twice.
        previous = loaded[1] if loaded[0] == previous_path else load_frame(previous_path).to(device)
        current = load_frame(current_path).to(device)
        loaded = (current_path, current)
        result = estimator(current[None], previous[None])  # flow (1, 2, H, W), conf (1, 1, H, W)
        written = save_flow(out, current_path.stem, result.flow[0], result.conf[0])
        magnitude = result.flow[0].norm(dim=0)
        print(f"[{index + 1}/{len(pairs)}] {current_path.name} -> {previous_path.name}: mean |flow| "
              f"{magnitude.mean().item():.2f} px, confident {result.conf.mean().item():.0%} -> {written[0]}")


if __name__ == "__main__":
    sys.exit(exit_on_interrupt(main, "compute_flow", "every flow file written is complete; rerun the same command "
                               "to write them all"))
