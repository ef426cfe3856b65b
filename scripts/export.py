"""Export a run's per-frame generator step with ``torch.export`` (a ``.pt2`` file), and check it against PyTorch.

    python scripts/export.py --name demo [--width 256 --height 128] [--output results/demo/generator_step.pt2]

The program is models/export.py's `GeneratorStep`: labels (1, n_frames_G, c, H, W) and instance maps (label runs
with --use_instance) plus the previous outputs per scale (finest first) in, the frame and the new previous outputs
out, for one fixed frame size. The first frames of a shot (the history) stay with the caller, as in
models/streaming.py. After saving, the file is loaded back and run on random valid inputs next to the eager model;
the largest difference is printed and must be below 1e-4, else nothing is left behind. Load it with
``torch.export.load(path).module()`` (no project code needed at run time).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import util.interrupt_hook  # noqa: E402, F401 - first: a Ctrl-C while torch loads is one line, not a traceback

# isort: split
import torch  # noqa: E402

from data.image_folder import DataError  # noqa: E402
from models.checkpoint import CheckpointError  # noqa: E402
from models.export import GeneratorStep, export_step  # noqa: E402
from models.streaming import StreamError, Synthesizer  # noqa: E402
from util.atomic import NewFolder, write_atomically  # noqa: E402
from util.cli import exit_on_interrupt  # noqa: E402

TOLERANCE = 1e-4


def positive_int(text: str) -> int:
    """An argparse type for a frame size: a whole number of pixels above 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of pixels, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{value} pixels: a frame size must be positive (leave the flag out for "
                                         "the default size)")
    return value


def example_inputs(synth: Synthesizer, width: int, height: int, seed: int) -> tuple:
    """Random valid inputs of the run at ``width`` x ``height``: label ids (or input images), instance maps,
    previous outputs in [-1, 1] per scale."""
    opt, tG = synth.opt, synth.opt.n_frames_G
    generator = torch.Generator().manual_seed(seed)
    if opt.label_nc:
        labels = torch.randint(0, opt.label_nc, (1, tG, 1, height, width), generator=generator).float()
    else:
        labels = torch.rand((1, tG, opt.input_nc, height, width), generator=generator) * 2 - 1
    instances = None
    if opt.use_instance:
        instances = torch.randint(0, 4, (1, tG, 1, height, width), generator=generator).float() * 1000
    prev = [torch.rand((1, tG - 1, 3, height >> k, width >> k), generator=generator) * 2 - 1
            for k in range(opt.n_scales_spatial)]
    return labels, instances, prev


def verified_save(program: torch.export.ExportedProgram, step: GeneratorStep, inputs: tuple[torch.Tensor, ...],
                  output: str) -> float:
    """Save ``program`` under a temporary name, load it back and compare it with ``step`` on ``inputs``; only a
    file within `TOLERANCE` takes the name ``output``. Returns the largest difference."""
    def save_and_compare(temporary: str) -> None:
        try:
            torch.export.save(program, temporary)
        except (OSError, RuntimeError) as error:  # (torch's zip writer raises RuntimeError for an unwritable path)
            reason = str(error).strip().splitlines()[-1][:160] if str(error).strip() else type(error).__name__
            raise StreamError(f"cannot write --output {output} ({reason}); choose a file you can write") from None
        with torch.no_grad():
            eager = step(*inputs)
            exported = torch.export.load(temporary).module()(*inputs)
        differences.append(max(float((a - b).abs().max()) for a, b in zip(eager, exported, strict=True)))
        if differences[0] > TOLERANCE:
            raise StreamError(f"the exported step differs from PyTorch's by {differences[0]:.2e} (> {TOLERANCE}); "
                              "nothing written")

    differences: list[float] = []
    write_atomically(output, save_and_compare)
    return differences[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--name", required=True)
    parser.add_argument("--checkpoints_dir", default="checkpoints")
    parser.add_argument("--which_epoch", default="latest")
    parser.add_argument("--width", type=positive_int, default=None, help="frame width (default: the run's --loadSize)")
    parser.add_argument("--height", type=positive_int, default=None, help="frame height (default: half the width)")
    parser.add_argument("--output", default=None, help="default: results/<name>/generator_step_<W>x<H>.pt2")
    args, extra = parser.parse_known_args(argv)
    try:
        synth = Synthesizer.from_run(args.name, args.checkpoints_dir, args.which_epoch, "cpu",
                                     ["--no_first_img", *extra])
        width = args.width or synth.opt.loadSize
        height = args.height or width // 2
        factor = 2 ** (synth.opt.n_downsample_G + synth.opt.n_scales_spatial - 1)
        if width % factor or height % factor:
            raise StreamError(f"--width {width} and --height {height} must be multiples of {factor} "
                              "(2^(n_downsample_G + n_scales_spatial - 1))")
        output = args.output or os.path.join("results", args.name, f"generator_step_{width}x{height}.pt2")
        if os.path.isdir(output):
            raise StreamError(f"--output {output} is a folder; give the file to write, e.g. "
                              f"{os.path.join(output, f'generator_step_{width}x{height}.pt2')}")
        step = GeneratorStep(synth.model)
        labels, instances, prev = example_inputs(synth, width, height, seed=0)
        program = export_step(step, labels, instances, prev)
        labels, instances, prev = example_inputs(synth, width, height, seed=1)  # other inputs than the example
        with NewFolder(Path(output).parent):  # (made folders go again if the export fails or is interrupted)
            difference = verified_save(program, step, (labels, instances, *prev), output)
    except (StreamError, DataError, CheckpointError, FileNotFoundError, ValueError) as error:
        print(f"export: error: {error}", file=sys.stderr)
        return 1
    print(f"{output}: {width}x{height}, largest difference to PyTorch {difference:.2e} on random inputs; load with "
          "torch.export.load(path).module()")
    return 0


if __name__ == "__main__":
    sys.exit(exit_on_interrupt(main, "export", "nothing was written"))
