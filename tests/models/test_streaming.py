"""models/streaming.py: one input frame in, one output frame out, the same frames as test.py."""
from __future__ import annotations

import gc
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from data import create_dataset
from models.inference import generate, load_test_model
from models.streaming import StreamError, Synthesizer
from tests.test_test_py import TINY_FLAGS, parse, tiny_setup


def sequence_files(root: Path, seq: str) -> list[tuple[Path, Path, Path]]:
    """(label map, instance map, real frame) of each frame of a `tiny_setup` test sequence."""
    folders = [sorted((root / folder / seq).iterdir()) for folder in ("test_A", "test_inst", "test_B")]
    return list(zip(*folders, strict=True))


def test_stepping_frames_gives_test_pys_frames_bit_for_bit(tmp_path) -> None:
    argv = tiny_setup(tmp_path)
    opt = parse([*argv, "--use_real_img"])
    model = load_test_model(opt, "cpu")
    expected = [frame.fake_image for frame in generate(model, create_dataset(opt), "cpu")]  # test.py's loop

    synth = Synthesizer.from_run("tiny", checkpoints_dir=str(tmp_path / "ck"), flags=[*TINY_FLAGS, "--use_real_img"])
    root = tmp_path / "data"
    produced = []
    for seq in ("seq_a", "seq_b"):
        synth.reset()
        for t, (label, inst, real) in enumerate(sequence_files(root, seq)):
            out = synth.step_tensor(Image.open(label), real=Image.open(real) if t < 2 else None,
                                    instance=np.asarray(Image.open(inst)))
            assert (out is None) == (t < opt.n_frames_G - 1)
            if out is not None:
                produced.append(out)
    assert len(produced) == len(expected) == 3 + 2
    for ours, theirs in zip(produced, expected, strict=True):
        assert torch.equal(ours, theirs)
    image = synth.step(Image.open(sequence_files(root, "seq_a")[0][0]), instance=np.asarray(Image.open(
        sequence_files(root, "seq_a")[0][1])))
    assert image.dtype == np.uint8 and image.shape == (64, 128, 3)  # no reset: the shot goes on


def test_memory_stays_flat_over_many_frames(tmp_path) -> None:
    argv = tiny_setup(tmp_path)
    del argv
    synth = Synthesizer.from_run("tiny", checkpoints_dir=str(tmp_path / "ck"), flags=[*TINY_FLAGS, "--no_first_img"])
    label = np.asarray(Image.open(sequence_files(tmp_path / "data", "seq_a")[0][0]))
    instance = np.asarray(Image.open(sequence_files(tmp_path / "data", "seq_a")[0][1]))

    def live_tensors() -> int:
        gc.collect()
        with warnings.catch_warnings():  # isinstance on torch's deprecated module aliases warns
            warnings.simplefilter("ignore", FutureWarning)
            return sum(isinstance(obj, torch.Tensor) for obj in gc.get_objects())

    for _ in range(5):
        synth.step(label, instance=instance)
    before = live_tensors()
    shapes = [tuple(level.shape) for level in synth.prev_outputs]
    for _ in range(60):
        synth.step(label, instance=instance)
    assert live_tensors() == before
    assert len(synth.window) == 3 and [tuple(level.shape) for level in synth.prev_outputs] == shapes


def test_bad_runs_and_inputs_are_clear(tmp_path) -> None:
    tiny_setup(tmp_path)
    checkpoints = str(tmp_path / "ck")
    synth = Synthesizer.from_run("tiny", checkpoints_dir=checkpoints, flags=[*TINY_FLAGS, "--use_real_img"])
    label = Image.open(sequence_files(tmp_path / "data", "seq_a")[0][0])
    with pytest.raises(StreamError, match="--use_instance: pass instance="):
        synth.step(label)
    with pytest.raises(StreamError, match="pass real= with each of the first 2 inputs"):
        synth.step(label, instance=np.zeros((64, 128), np.uint8))
    synth.reset()
    with pytest.raises(StreamError, match="expected a PIL image"):
        synth.step(np.zeros((64, 128), np.float32), instance=np.zeros((64, 128), np.uint8))
    synth = Synthesizer.from_run("tiny", checkpoints_dir=checkpoints, flags=[*TINY_FLAGS, "--no_first_img"])
    synth.step(label, instance=np.zeros((64, 128), np.uint8))
    with pytest.raises(StreamError, match="input size changed from 128x64 to 64x32 within a shot; call reset"):
        synth.step(label.resize((64, 32)), instance=np.zeros((32, 64), np.uint8))
    with pytest.raises(FileNotFoundError, match="nobody"):
        Synthesizer.from_run("nobody", checkpoints_dir=checkpoints, flags=[*TINY_FLAGS, "--no_first_img"])
