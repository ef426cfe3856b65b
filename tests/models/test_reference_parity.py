"""Parity with NVIDIA vid2vid: rebuild the nets from each vector's options, load its weights strictly, replay
the training chunks and the test-time inference windows, and compare every stored tensor and loss."""

from __future__ import annotations

import argparse
import functools
from pathlib import Path

import pytest
import torch

from models.checkpoint import load_state_dict_strict
from models.discriminator_model import DiscriminatorModel
from models.generator_model import GeneratorModel
from models.temporal_sampling import TemporalFrameHistory

VECTOR_DIR = Path(__file__).resolve().parents[1] / "data" / "reference" / "vectors"
VECTORS = [
    "v1_label_inst_fg_1scale",
    "v2_label_inst_fg_2scales",
    "v3_rgb_input_nofg_flow",
    "v4_pose6_noflow_nofirstimg_facedisc",
]
ATOL = 1e-4
LOSS_RTOL = 1e-5
G_OUTPUT_KEYS = {
    "img_final": "image",
    "flow": "flow",
    "weight": "weight",
    "img_raw": "raw_image",
    "img_feat": "image_feat",
    "flow_feat": "flow_feat",
    "img_fg_feat": "fg_feat",
    "img_fg": "fg_image",
}


@functools.cache
def load_vector(name: str) -> dict:
    return torch.load(VECTOR_DIR / f"{name}.pt", weights_only=True)


def split_frames(vector: dict, opt: argparse.Namespace) -> dict[str, torch.Tensor | None]:
    """Dataset tensors (1, T*c, H, W) -> (1, T, c, H, W)."""
    data, h, w = vector["data"], vector["H"], vector["W"]
    n_frames = data["B"].shape[1] // opt.output_nc
    label_c = 1 if opt.label_nc != 0 else opt.input_nc
    inst = data["inst"]
    return {
        "A": data["A"].view(1, n_frames, label_c, h, w),
        "B": data["B"].view(1, n_frames, opt.output_nc, h, w),
        "inst": inst.view(1, n_frames, 1, h, w) if inst.dim() > 2 else None,
    }


def window(frames: dict, start: int, length: int) -> list[torch.Tensor | None]:
    return [None if frames[k] is None else frames[k][:, start : start + length] for k in ("A", "B", "inst")]


class CallRecorder:
    """Forward hook storing (inputs, output) of every call of a module."""

    def __init__(self, module: torch.nn.Module) -> None:
        self.calls: list[tuple[tuple, object]] = []
        module.register_forward_hook(self.hook)

    def hook(self, module, args, output) -> None:  # noqa: ANN001
        self.calls.append((args, output))

    def take(self) -> list[tuple[tuple, object]]:
        calls, self.calls = self.calls, []
        return calls


def cpu_reference_fake_prev(fake_image: torch.Tensor) -> torch.Tensor:
    """Previous frames for G_Warp as the CPU reference run computed them after the first chunk.

    Without CUDA, NVIDIA's DataParallel wrapper passes the history list through without copying, the
    generator appends the new frames to it in place, and ``compute_fake_B_prev`` then takes the NEWEST frame
    of the current chunk instead of the last frame of the previous chunk. On GPU (scatter copies the list)
    the previous chunk's frame is used, which is what `GeneratorModel` returns; see
    `test_warp_history_uses_previous_chunk_frame`.
    """
    return torch.cat([fake_image[:, -1:], fake_image[:, :-1]], dim=1).detach()


@functools.cache
def replay_training(name: str) -> dict:
    """Run the reference's training inner loop (without optimizer steps) on the vector's data."""
    torch.manual_seed(0)
    vector = load_vector(name)
    opt = argparse.Namespace(**vector["opt_train"])
    model_g, model_d = GeneratorModel(opt), DiscriminatorModel(opt)
    scales_run = {s for chunk in vector["train_path"]["chunks"] for s in chunk["dT_scales_run"]}
    for label, net in {**model_g.networks(), **model_d.networks()}.items():
        if label not in vector["state_dict"]:
            # the vectors omit temporal Ds that never run on their short sequences
            assert label.startswith("D_T") and int(label[3:]) not in scales_run, f"{name}: no weights for {label}"
            continue
        load_state_dict_strict(net, vector["state_dict"][label], f"{name}:{label}")
    g_recorders = [CallRecorder(net) for net in model_g.generators]
    g_calls: list = []
    d_recorders = {label: CallRecorder(net) for label, net in model_d.networks().items()}
    frames = split_frames(vector, opt)
    history = TemporalFrameHistory(opt.n_scales_temporal, opt.n_frames_D, opt.sparse_D)
    prev_outputs = None
    chunks = []
    for stored in vector["train_path"]["chunks"]:
        n_new = stored["fake_B"].shape[1]
        out = model_g(*window(frames, stored["i"], n_new + opt.n_frames_G - 1), prev_outputs)
        prev_outputs = out["prev_outputs"]
        for t in range(n_new):  # calls in frame-major, coarse->fine order
            g_calls.extend(rec.calls[t] for rec in g_recorders)
        for rec in g_recorders:
            rec.take()
        fake_prev_image = out["fake_prev_image"]
        if chunks:
            fake_prev_image = cpu_reference_fake_prev(out["fake_image"])
        losses = model_d.image_losses(
            out["real_image"],
            out["fake_image"],
            out["fake_raw_image"],
            out["real_label"],
            out["real_prev_image"],
            fake_prev_image,
            out["flow"],
            out["weight"],
            stored["flow_ref"],
            stored["conf_ref"],
        )
        groups = history.update(out["real_image"], out["fake_image"], stored["flow_ref"], stored["conf_ref"])
        losses_t, scales_run = [], []
        for s, group in enumerate(groups):
            if group is not None:
                losses_t.append(model_d.temporal_losses(s, **group))
                scales_run.append(s)
        totals = model_d.total_losses(losses, losses_t)
        chunks.append(
            {
                "g": out,
                "losses": losses,
                "losses_T": losses_t,
                "scales_run": scales_run,
                "totals": totals,
                "d_calls": {label: rec.take() for label, rec in d_recorders.items()},
            }
        )
    bn_after = {label: net.state_dict() for label, net in model_g.networks().items()}
    return {"chunks": chunks, "g_calls": g_calls, "bn_after": bn_after}


def assert_close(actual: torch.Tensor, expected: torch.Tensor, what: str, atol: float = ATOL) -> None:
    assert actual is not None, f"{what}: missing"
    assert tuple(actual.shape) == tuple(expected.shape), (
        f"{what}: shape {tuple(actual.shape)} vs {tuple(expected.shape)}"
    )
    diff = (actual.detach().float() - expected.float()).abs().max().item()
    assert diff <= atol, f"{what}: max abs diff {diff:.3e} > {atol}"


def assert_loss(actual: torch.Tensor | float, expected: float, what: str) -> None:
    value = float(actual.detach()) if isinstance(actual, torch.Tensor) else float(actual)
    assert value == pytest.approx(expected, rel=LOSS_RTOL, abs=1e-6), f"{what}: {value} vs reference {expected}"


def assert_d_outputs(actual: list[list[torch.Tensor]], expected: list[list[torch.Tensor]], what: str) -> None:
    assert len(actual) == len(expected), f"{what}: {len(actual)} scales vs {len(expected)}"
    for i, (scale_actual, scale_expected) in enumerate(zip(actual, expected, strict=True)):
        if len(scale_expected) == 1:  # only the final patch prediction was stored
            scale_actual = scale_actual[-1:]
        assert len(scale_actual) == len(scale_expected), f"{what}[{i}]: {len(scale_actual)} layers"
        for j, (a, e) in enumerate(zip(scale_actual, scale_expected, strict=True)):
            assert_close(a, e, f"{what}[{i}][{j}]")


@pytest.mark.parametrize("name", VECTORS)
def test_generator_calls(name: str) -> None:
    stored_calls = load_vector(name)["train_path"]["G_calls"]
    calls = replay_training(name)["g_calls"]
    assert len(calls) == len(stored_calls)
    for stored, (args, out) in zip(stored_calls, calls, strict=True):
        tag = f"{name} G call {stored['call_index']} ({stored['scale_net']})"
        if "input" in stored:
            assert_close(args[0], stored["input"], f"{tag} input")
            assert_close(args[1], stored["img_prev"], f"{tag} img_prev")
            if stored["mask"] is not None:
                assert_close(args[2], stored["mask"], f"{tag} mask")
            else:
                assert args[2] is None
            assert bool(args[4]) == stored["use_raw_only"], f"{tag} use_raw_only"
            assert [args[3] is not None] * 3 == stored["coarse_feats_given"] or not any(stored["coarse_feats_given"])
        for ref_key, key in G_OUTPUT_KEYS.items():
            if ref_key not in stored:
                continue
            if stored[ref_key] is None:
                assert out[key] is None, f"{tag} {key} should be None"
            else:
                assert_close(out[key], stored[ref_key], f"{tag} {key}")


@pytest.mark.parametrize("name", VECTORS)
def test_chunk_outputs_and_losses(name: str) -> None:
    vector = load_vector(name)
    replay = replay_training(name)
    for stored, mine in zip(vector["train_path"]["chunks"], replay["chunks"], strict=True):
        tag = f"{name} chunk i={stored['i']}"
        for ref_key, key in (
            ("fake_B", "fake_image"),
            ("fake_B_raw", "fake_raw_image"),
            ("flow", "flow"),
            ("weight", "weight"),
        ):
            if stored[ref_key] is None:
                assert mine["g"][key] is None, f"{tag} {key}"
            else:
                assert_close(mine["g"][key], stored[ref_key], f"{tag} {key}")
        assert list(mine["losses"]) == list(stored["loss_dict"]), f"{tag}: loss names"
        for loss_name, value in stored["loss_dict"].items():
            assert_loss(mine["losses"][loss_name], value, f"{tag} {loss_name}")
        assert mine["scales_run"] == stored["dT_scales_run"]
        assert len(mine["losses_T"]) == len(stored["loss_dict_T"])
        for s, (mine_t, stored_t) in enumerate(zip(mine["losses_T"], stored["loss_dict_T"], strict=True)):
            assert list(mine_t) == list(stored_t)
            for loss_name, value in stored_t.items():
                assert_loss(mine_t[loss_name], value, f"{tag} {loss_name} (temporal scale {s})")
        assert_loss(mine["totals"]["loss_G"], stored["loss_G"], f"{tag} loss_G")
        assert_loss(mine["totals"]["loss_D"], stored["loss_D"], f"{tag} loss_D")
        assert len(mine["totals"]["loss_D_T"]) == len(stored["loss_D_T"])
        for s, value in enumerate(stored["loss_D_T"]):
            assert_loss(mine["totals"]["loss_D_T"][s], value, f"{tag} loss_D_T[{s}]")


@pytest.mark.parametrize("name", VECTORS)
def test_discriminator_outputs(name: str) -> None:
    vector = load_vector(name)
    replay = replay_training(name)
    for stored, mine in zip(vector["train_path"]["D_records"], replay["chunks"], strict=True):
        tag = f"{name} chunk i={stored['chunk_i']}"
        d_calls = mine["d_calls"]["D"]
        # call order: real, fake (detached), fake, real, raw (detached), raw
        assert len(d_calls) == 6
        assert_d_outputs(d_calls[0][1], stored["D_out_real"], f"{tag} D real")
        assert_d_outputs(d_calls[1][1], stored["D_out_fake"], f"{tag} D fake")
        assert_d_outputs(d_calls[2][1], stored["D_out_fake"], f"{tag} D fake (G pass)")
        assert_d_outputs(d_calls[4][1], stored["D_out_fake_raw"], f"{tag} D fake raw")
        if "D_f_out_real" in stored:
            face_calls = mine["d_calls"]["D_f"]
            assert_d_outputs(face_calls[0][1], stored["D_f_out_real"], f"{tag} D_f real")
            assert_d_outputs(face_calls[1][1], stored["D_f_out_fake"], f"{tag} D_f fake")
            box = replay_face_box(name, stored["chunk_i"])
            assert list(box) == stored["face_region_ys_ye_xs_xe"]
        temporal_calls = mine["d_calls"]["D_T0"]
        if "D_T0_out_real" in stored:
            assert_close(temporal_calls[1][0][0], stored["D_T0_input_fake"], f"{tag} D_T0 input")
            assert_d_outputs(temporal_calls[0][1], stored["D_T0_out_real"], f"{tag} D_T0 real")
            assert_d_outputs(temporal_calls[1][1], stored["D_T0_out_fake"], f"{tag} D_T0 fake")
        else:
            assert temporal_calls == []


def replay_face_box(name: str, chunk_i: int) -> tuple[int, int, int, int]:
    vector = load_vector(name)
    opt = argparse.Namespace(**vector["opt_train"])
    replay = replay_training(name)
    index = [c["i"] for c in vector["train_path"]["chunks"]].index(chunk_i)
    real_label = replay["chunks"][index]["g"]["real_label"]
    model_d = DiscriminatorModel.__new__(DiscriminatorModel)  # only face_region's attributes are needed
    model_d.openpose_only = bool(opt.openpose_only)
    model_d.face_size = opt.fineSize // 32 * 8
    return DiscriminatorModel.face_region(model_d, real_label.flatten(0, 1))


@pytest.mark.parametrize("name", VECTORS)
def test_batchnorm_buffers_after_training_pass(name: str) -> None:
    stored = load_vector(name)["train_path"]["G_bn_buffers_after"]
    mine = replay_training(name)["bn_after"]
    for label, buffers in stored.items():
        for key, value in buffers.items():
            if key.endswith("num_batches_tracked"):
                assert int(mine[label][key]) == int(value), f"{name} {label}.{key}"
            else:
                assert_close(mine[label][key], value, f"{name} {label}.{key}")


@pytest.mark.parametrize("name", VECTORS)
def test_inference_path(name: str) -> None:
    vector = load_vector(name)
    opt = argparse.Namespace(**vector["opt_test"])
    model_g = GeneratorModel(opt)
    for label, net in model_g.networks().items():
        load_state_dict_strict(net, vector["state_dict"][label], f"{name}:{label}")
    assert all(m.training for m in model_g.modules()), "BatchNorm must stay in train mode (reference semantics)"
    frames = split_frames(vector, opt)
    prev_outputs = None
    for stored in vector["test_path"]:
        label, image, inst = window(frames, stored["window_start_frame"], opt.n_frames_G)
        out = model_g.inference(label, image if stored["B_window_given"] else None, inst, prev_outputs)
        prev_outputs = out["prev_outputs"]
        tag = f"{name} test window {stored['window_start_frame']}"
        assert_close(out["fake_image"], stored["fake_B"], f"{tag} fake_B")
        if stored["per_scale_outputs"] is not None:
            for s, scale_stored in enumerate(stored["per_scale_outputs"]):
                for ref_key, key in G_OUTPUT_KEYS.items():
                    if ref_key in scale_stored:
                        assert_close(out["scale_outputs"][s][key], scale_stored[ref_key], f"{tag} scale {s} {key}")


@pytest.mark.parametrize("name", ["v1_label_inst_fg_1scale", "v3_rgb_input_nofg_flow"])
def test_warp_history_uses_previous_chunk_frame(name: str) -> None:
    """Our G_Warp of a later chunk warps the previous chunk's last output (GPU semantics of the reference)."""
    vector = load_vector(name)
    first, second = vector["train_path"]["chunks"][:2]
    mine = replay_training(name)["chunks"][1]["g"]["fake_prev_image"]
    expected_prev = torch.cat([first["fake_B"][:, -1:], second["fake_B"][:, :-1]], dim=1)
    assert_close(mine, expected_prev, f"{name} fake_prev_image of chunk 2")


def test_gradients_reach_every_generator_scale() -> None:
    vector = load_vector("v2_label_inst_fg_2scales")
    opt = argparse.Namespace(**vector["opt_train"])
    model_g, model_d = GeneratorModel(opt), DiscriminatorModel(opt)
    frames = split_frames(vector, opt)
    out = model_g(*window(frames, 0, 2 + opt.n_frames_G - 1), None)
    stored = vector["train_path"]["chunks"][0]
    losses = model_d.image_losses(
        out["real_image"], out["fake_image"], out["fake_raw_image"], out["real_label"], out["real_prev_image"],
        out["fake_prev_image"], out["flow"], out["weight"], stored["flow_ref"], stored["conf_ref"],
    )  # fmt: skip
    model_d.total_losses(losses, [])["loss_G"].backward()
    for s, generator in enumerate(model_g.generators):
        grad = generator.model_down_seg[1].weight.grad
        assert grad is not None and grad.abs().sum() > 0, f"no gradient reaches G{s}"
