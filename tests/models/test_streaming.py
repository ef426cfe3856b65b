"""models/streaming.py: one input frame in, one output frame out, the same frames as test.py."""
from __future__ import annotations

import gc
import math
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from data import create_dataset
from models.inference import generate, load_test_model
from models.streaming import FastPath, StreamError, Synthesizer
from tests.test_test_py import TINY_FLAGS, parse, tiny_setup, write_checkpoints


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


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """PSNR in dB of two images in [-1, 1] (peak-to-peak 2)."""
    mse = float(((a - b) ** 2).mean())
    return float("inf") if mse == 0 else 10 * math.log10(4 / mse)


def test_channels_last_keeps_the_frames_and_bf16_is_refused_where_emulated(tmp_path, monkeypatch) -> None:
    tiny_setup(tmp_path)
    checkpoints, flags = str(tmp_path / "ck"), [*TINY_FLAGS, "--no_first_img"]
    files = sequence_files(tmp_path / "data", "seq_a")

    def frames(synth: Synthesizer) -> list[torch.Tensor]:
        outs = [synth.step_tensor(Image.open(label), instance=Image.open(inst)) for label, inst, _ in files]
        return [out for out in outs if out is not None]

    reference = frames(Synthesizer.from_run("tiny", checkpoints_dir=checkpoints, flags=flags))
    synth = Synthesizer.from_run("tiny", checkpoints_dir=checkpoints, flags=flags, fast=FastPath(channels_last=True))
    weight = next(p for p in synth.model.parameters() if p.dim() == 4)
    assert weight.is_contiguous(memory_format=torch.channels_last) and not weight.is_contiguous()
    nhwc = frames(synth)
    # same frames up to rounding; random weights make train-mode BatchNorm amplify it (near-constant activations),
    # so the quality of this path is measured on trained weights (bench/stream.py), not asserted here
    assert len(nhwc) == 3 and all(out.shape == ref.shape and torch.isfinite(out).all()
                                  for out, ref in zip(nhwc, reference, strict=True))
    import models.streaming as streaming

    monkeypatch.setattr(streaming, "native_bf16", lambda device: (False, "this CPU has AVX2 but no bf16"))
    with pytest.raises(StreamError, match="--bf16 refused: this CPU has AVX2 but no bf16; use float32"):
        Synthesizer.from_run("tiny", checkpoints_dir=checkpoints, flags=flags, fast=FastPath(bf16=True))
    monkeypatch.setattr(streaming, "native_bf16", lambda device: (True, ""))  # as on an AVX-512 BF16 CPU
    bf16 = frames(Synthesizer.from_run("tiny", checkpoints_dir=checkpoints, flags=flags, fast=FastPath(bf16=True)))
    assert all(out.dtype == torch.float32 for out in bf16)
    assert all(20 < psnr(a, b) < 200 for a, b in zip(bf16, reference, strict=True))  # bf16 really ran


def test_every_tensor_of_a_step_stays_on_the_chosen_device(tmp_path) -> None:
    """The model on a (fake) CUDA device, the inputs converted on the CPU: an op that mixes devices (a tensor made
    without ``device=``, a ``.cpu()`` in the step) raises FakeTensorDeviceMismatchError. No GPU is needed."""
    from torch._subclasses.fake_tensor import FakeTensorMode

    tiny_setup(tmp_path)
    synth = Synthesizer.from_run("tiny", checkpoints_dir=str(tmp_path / "ck"), flags=[*TINY_FLAGS, "--use_real_img"])
    mode = FakeTensorMode(allow_non_fake_inputs=True)
    for module in synth.model.modules():
        for group in (module._parameters, module._buffers):
            for key, tensor in group.items():
                if tensor is not None:
                    fake = mode.from_tensor(tensor.detach())
                    with mode:
                        moved = fake.to("cuda")
                    group[key] = torch.nn.Parameter(moved, requires_grad=False) if group is module._parameters \
                        else moved
    on_gpu = Synthesizer(synth.opt, synth.model, torch.device("cuda"), synth.face_features)
    files = sequence_files(tmp_path / "data", "seq_a")
    frames = [on_gpu.convert(Image.open(label), real=Image.open(real), instance=Image.open(inst))
              for label, inst, real in files[:4]]  # the input's conversion runs on the CPU
    with mode:
        outputs = [on_gpu.push(frame) for frame in frames]
    assert outputs[:2] == [None, None]
    for out in outputs[2:]:
        assert out.device.type == "cuda" and tuple(out.shape) == (3, 64, 128)
    assert all(level.device.type == "cuda" for level in on_gpu.prev_outputs)


def test_a_face_run_streams_rgb_frames_and_gives_test_pys_frames(tmp_path) -> None:
    """Frames of a real talking head: landmarks from dlib per frame, the crop box from the shot's first frame; the
    frames of a dataset made from the same images by video_to_dataset.py --kind face give test.py the same output."""
    from tests.helpers import load_script
    from tests.scripts.test_video_to_dataset import video

    root = tmp_path / "face"
    assert load_script("scripts/video_to_dataset.py").main([video("carphone_pristine.mp4"), "--kind", "face",
                                                            "--dataroot", str(root), "--max_frames", "10",
                                                            "--seq_length", "5"]) == 0
    flags = ["--dataset_mode", "face", "--input_nc", "15", "--label_nc", "0", "--ngf", "8", "--n_blocks", "2",
             "--n_downsample_G", "2", "--loadSize", "64", "--gpu_ids", "-1", "--use_real_img"]
    write_checkpoints(["--name", "face", "--checkpoints_dir", str(tmp_path), *flags])
    opt = parse(["--name", "face", "--checkpoints_dir", str(tmp_path), "--dataroot", str(root), *flags])
    model = load_test_model(opt, "cpu")
    dataset = create_dataset(opt)  # the test split: the 5 frames of the second sequence
    expected = [frame.fake_image for frame in generate(model, dataset, "cpu")]

    synth = Synthesizer.from_run("face", checkpoints_dir=str(tmp_path), flags=flags)
    images = sorted((root / "test_img").rglob("*.jpg"))
    produced = [synth.step_tensor(Image.open(path)) for path in images]
    assert produced[:2] == [None, None] and len(expected) == 3
    for ours, theirs in zip(produced[2:], expected, strict=True):
        assert torch.equal(ours, theirs)
    synth.reset()
    with pytest.raises(StreamError, match="no face found in the first frame of the shot"):
        synth.step(np.zeros((144, 176, 3), np.uint8))
