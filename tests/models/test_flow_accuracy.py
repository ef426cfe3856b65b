"""End-point error of the flow backends against the sample dataset's exact ground-truth flow.

DIS needs no weights, so its accuracy is asserted: on a small 256x128 sample dataset (2 test sequences of 8
frames, 14 pairs) it measured a mean EPE of 0.26 px against 1.07 px for zero flow (ratio 0.24; 0.17-0.24 over
seeds 0-5). The test asks for EPE < 0.4 x the zero-flow EPE. FlowNet2 and RAFT run with random weights here (the
real ones are not on the test machine): their EPE is meaningless and only the evaluation path is checked.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from data.sample_video import make_sample_dataset
from models.flow import DisEstimator, FlowNet2Estimator, RaftEstimator
from models.flow_eval import end_point_error, evaluate_sample_dataset, sample_dataset_pairs
from models.flownet2 import FlowNet2
from util.flow_io import read_flo

DIS_TO_ZERO_FLOW_MAX_RATIO = 0.4


@pytest.fixture(scope="module")
def sample_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("flow_accuracy") / "sample"
    make_sample_dataset(root, seed=0, width=256, height=128, n_train_seqs=1, n_test_seqs=2, n_frames=8)
    return root


def test_end_point_error_is_the_mean_euclidean_distance() -> None:
    target = np.zeros((2, 3, 2), np.float32)
    flow = np.zeros_like(target)
    flow[0, :] = (3.0, 4.0)  # error 5 on half of the pixels
    assert end_point_error(flow, target) == pytest.approx(2.5)
    with pytest.raises(ValueError, match="must both be"):
        end_point_error(flow, target[:1])


def test_pairs_match_frames_to_their_flow_files(sample_root: Path) -> None:
    pairs = sample_dataset_pairs(sample_root, "test")
    assert len(pairs) == 2 * 7
    current, following, flow = pairs[0]
    assert (current.name, following.name, flow.name) == ("seq0000_000000.png", "seq0000_000001.png",
                                                         "seq0000_000000.flo")
    assert all(c.parent == f.parent and c.stem == g.stem for c, f, g in pairs)


def test_dis_beats_zero_flow_by_a_wide_margin(sample_root: Path) -> None:
    result = evaluate_sample_dataset(DisEstimator(), sample_root, "test")
    magnitudes = [np.linalg.norm(read_flo(flow), axis=-1).mean() for _, _, flow in
                  sample_dataset_pairs(sample_root, "test")]
    assert result["pairs"] == 14
    assert result["zero_epe"] == pytest.approx(np.mean(magnitudes))
    assert result["zero_epe"] > 0.5  # the scene moves: the baseline is not trivially small
    assert result["epe"] < DIS_TO_ZERO_FLOW_MAX_RATIO * result["zero_epe"], result


@pytest.mark.parametrize("backend", ["flownet2", "raft"])
def test_evaluation_runs_for_network_backends_with_random_weights(sample_root: Path, backend: str) -> None:
    torch.manual_seed(0)
    if backend == "flownet2":
        estimator = FlowNet2Estimator(FlowNet2())
    else:
        from torchvision.models.optical_flow import raft_large

        estimator = RaftEstimator(raft_large(weights=None), num_flow_updates=2)
    result = evaluate_sample_dataset(estimator, sample_root, "test", max_pairs=1)
    # Random weights: the EPE is meaningless, only that every step of the path runs and gives a number.
    assert result["pairs"] == 1
    assert math.isfinite(result["epe"]) and result["epe"] >= 0
