"""test.py --reanchor_every N: the history is made afresh from the first-frame source every N generated frames
of a sequence (counted from each sequence's start), never otherwise; the flag needs a first-frame source."""
from __future__ import annotations

import pytest
import torch

from data.clip import Clip
from models.inference import generate
from models.outputs import GeneratedFrame
from options import TestOptions
from options.base_options import OptionsError


class RecordingModel:
    """Stands in for the GeneratorModel: records which calls started from a fresh history."""

    def __init__(self) -> None:
        self.fresh: list[bool] = []

    def inference(self, label, real, instance, prev_outputs, face_features):  # noqa: ANN001, ANN201
        self.fresh.append(prev_outputs is None)
        image = torch.zeros(1, 3, 4, 4)
        return GeneratedFrame(fake_image=image, real_label=label[:, -1], scale_outputs=[], prev_outputs=[image])


def windows(lengths: list[int]) -> list[Clip]:
    clips = []
    for s, n in enumerate(lengths):
        for k in range(n):
            clips.append(Clip(label=torch.zeros(3, 1, 4, 4), sequence=f"s{s}", frame_paths=[f"s{s}/{k}.png"],
                              starts_sequence=k == 0, frame_index=k + 2))
    return clips


@pytest.mark.parametrize(("every", "expected"), [
    (0, [True, False, False, False, False, False, False, True, False, False]),
    (3, [True, False, False, True, False, False, True, True, False, False]),
    (1, [True] * 10),
])
def test_history_is_made_afresh_every_n_frames_of_each_sequence(every, expected):
    model = RecordingModel()
    frames = list(generate(model, windows([7, 3]), "cpu", reanchor_every=every))
    assert len(frames) == 10 and model.fresh == expected


def test_reanchor_needs_a_first_frame_source():
    base = ["--dataroot", "unused", "--gpu_ids", "-1", "--reanchor_every", "4"]
    with pytest.raises(OptionsError, match="--reanchor_every .*--use_single_G or --use_real_img"):
        TestOptions().parse(base, save=False, verbose=False)
    with pytest.raises(OptionsError, match="--reanchor_every must be >= 0"):
        TestOptions().parse([*base[:-1], "-1", "--use_real_img"], save=False, verbose=False)
    assert TestOptions().parse([*base, "--use_real_img"], save=False, verbose=False).reanchor_every == 4
