"""Parity with NVIDIA vid2vid on the stored vectors (tests/data/reference, REFERENCE_README.md §3).

Three layers, so that the suite holds on every x86 CPU and still catches real bugs:

1. **Teacher-forced** (`parity_replay.teacher_forced_*`): each G, D and loss call runs on that call's own
   inputs, the history being the reference's stored outputs. Nothing compounds, so one tight bound
   (`PER_CALL_TOL`, `PER_CALL_LOSS_RTOL`) pins every network's arithmetic on any CPU.
2. **Chained** (our outputs fed forward, as training and test.py do): float rounding of other SIMD kernels
   grows ~3-4x per generated frame. Its bound per (vector, depth) is `DRIFT_MULTIPLE` x the float32-vs-float64
   drift measured under five kernel orders (parity_drift.json, made by `python -m tests.models.parity_drift`),
   never below the per-call bound.
3. **Negative controls**: four real bugs patched into the chained replay must each exceed that bound.
"""

from __future__ import annotations

import json

import pytest
import torch

from models.discriminator_model import DiscriminatorModel
from models.networks import generator as generator_module
from tests.models import parity_replay as replay
from tests.models.parity_drift import DRIFT_FILE

PER_CALL_TOL = 1e-4  # scaled error (`parity_replay.scaled_error`) of one call on its own inputs
PER_CALL_LOSS_RTOL = 1e-5
# Our float32 result differs from the reference's by at most our drift from float64 plus the reference's own
# (about 2x the measured drift; 1.8x seen at worst); 5x leaves room for kernel orders not measured here.
DRIFT_MULTIPLE = 5.0
FLOORS = {"tensor": PER_CALL_TOL, "loss": PER_CALL_LOSS_RTOL}
RECORDED_DRIFT = json.loads(DRIFT_FILE.read_text())["drift"]


def chained_bound(name: str, group: str, depth: int) -> float:
    drift = RECORDED_DRIFT[name][group].get(str(depth))
    if drift is None:
        raise KeyError(f"{DRIFT_FILE.name} has no drift for {name} {group} depth {depth}: re-run parity_drift --write")
    return max(FLOORS[group], DRIFT_MULTIPLE * drift)


def per_call_bound(name: str, group: str, depth: int) -> float:
    del name, depth
    return FLOORS[group]


def worst_violations(
    name: str, ours: dict, bound_fn, skip: tuple[str, ...] = ()  # noqa: ANN001
) -> list[tuple[float, str, float, float]]:
    """(error / bound, label, error, bound) of every stored value, worst first; a missing value counts as inf."""
    rows = []
    for label, (group, depth, expected) in replay.reference_items(name).items():
        if any(part in label for part in skip):
            continue
        bound = bound_fn(name, group, depth)
        error = replay.item_error(group, ours[label], expected) if label in ours else float("inf")
        rows.append((error / bound, label, error, bound))
    return sorted(rows, reverse=True)


def describe(rows: list[tuple[float, str, float, float]], n: int = 4) -> str:
    return "; ".join(f"{label}: error {error:.2e} vs bound {bound:.2e} ({ratio:.2f}x)" for ratio, label, error, bound
                     in rows[:n])  # fmt: skip


# ---------------------------------------------------------------------------------------------- 1. teacher-forced
@pytest.mark.parametrize("name", replay.VECTORS)
def test_teacher_forced_training_calls(name: str) -> None:
    """Every G call (all outputs, every scale), D output (image, face, temporal), named loss, total and BN
    buffer of the training path, each call on its own stored inputs."""
    ours = replay.replay_items(name, replay.teacher_forced_training(name), [])
    rows = worst_violations(name, ours, per_call_bound, skip=("test call", " frame "))
    assert rows[0][0] <= 1.0, f"{name}: {describe(rows)}"


@pytest.mark.parametrize("name", replay.VECTORS)
def test_teacher_forced_inference_calls(name: str) -> None:
    ours = replay.replay_items(name, replay.NO_TRAINING, replay.teacher_forced_inference(name))
    rows = [row for row in worst_violations(name, ours, per_call_bound) if row[1].startswith("test call")]
    assert rows and rows[0][0] <= 1.0, f"{name}: {describe(rows)}"


# ---------------------------------------------------------------------------------------------- 2. chained
@pytest.mark.parametrize("name", replay.VECTORS)
def test_chained_replay_within_measured_drift(name: str) -> None:
    """The training loop and test.py's rolling inference, our outputs fed forward, against every stored value."""
    training, inference = replay.chained_training(name), replay.chained_inference(name)
    rows = worst_violations(name, replay.replay_items(name, training, inference), chained_bound)
    assert rows[0][0] <= 1.0, f"{name}: {describe(rows)}"


@pytest.mark.parametrize("name", replay.VECTORS)
def test_recorded_drift_holds_on_this_machine(name: str) -> None:
    """The float32-vs-float64 drift here stays within the bound derived from the recorded drift; if this
    fails, this CPU rounds differently from every measured kernel order: re-run parity_drift --write."""
    as_reference = {}
    ours64 = replay.replay_items(
        name, replay.chained_training(name, torch.float64), replay.chained_inference(name, torch.float64)
    )
    for label, (group, depth, _) in replay.reference_items(name).items():
        as_reference[label] = (group, depth, ours64[label])
    ours32 = replay.replay_items(name, replay.chained_training(name), replay.chained_inference(name))
    worst = max(
        (replay.item_error(group, ours32[label], value) / chained_bound(name, group, depth), label)
        for label, (group, depth, value) in as_reference.items()
    )
    assert worst[0] <= 1.0, f"{name}: float32 drift at {worst[1]} is {worst[0]:.2f}x the bound"


# ---------------------------------------------------------------------------------------------- 3. negative controls
def grid_sample_align_corners_false(monkeypatch: pytest.MonkeyPatch) -> None:
    original = torch.nn.functional.grid_sample

    def misaligned(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        kwargs["align_corners"] = False
        return original(*args, **kwargs)

    monkeypatch.setattr(torch.nn.functional, "grid_sample", misaligned)


def flow_not_scaled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(generator_module, "FLOW_SCALE", 1.0)


def batchnorm_eval(model_g) -> None:  # noqa: ANN001
    model_g.eval()


def history_swapped(model_g) -> None:  # noqa: ANN001
    def swap(module, args):  # noqa: ANN001, ANN202
        label, prev_images, *rest = args
        n = prev_images.size(1) // 2  # (B, 6, h, w) = two frames, oldest first
        return (label, torch.cat([prev_images[:, n:], prev_images[:, :n]], dim=1), *rest)

    for generator in model_g.generators:
        generator.register_forward_pre_hook(swap)


BROKEN_VARIANTS = {
    "warp align_corners=False": (grid_sample_align_corners_false, None),
    "BatchNorm in eval mode": (None, batchnorm_eval),
    "history frames swapped": (None, history_swapped),
    "flow not scaled by 20": (flow_not_scaled, None),
}


@pytest.mark.parametrize("variant", BROKEN_VARIANTS)
@pytest.mark.parametrize("name", ["v1_label_inst_fg_1scale", "v3_rgb_input_nofg_flow"])
def test_chained_bound_catches_broken_variant(name: str, variant: str, monkeypatch: pytest.MonkeyPatch) -> None:
    patch, tamper = BROKEN_VARIANTS[variant]
    if patch is not None:
        patch(monkeypatch)
    training = replay.run_chained_training(name, tamper=tamper)
    inference = replay.run_chained_inference(name, tamper=tamper)
    rows = worst_violations(name, replay.replay_items(name, training, inference), chained_bound)
    n_failing = sum(row[0] > 1.0 for row in rows)
    # far above rounding: measured 2600x to 75000x the bound on the worst value (see docs/TESTING.md)
    assert rows[0][0] > 100.0, f"{variant} was NOT detected by the chained bound: worst {describe(rows, 1)}"
    assert n_failing >= 3, f"{variant}: only {n_failing} values exceed their bound ({describe(rows, 3)})"
    # the per-call comparison catches it too, on the calls' own inputs
    forced = replay.replay_items(
        name, replay.run_teacher_forced_training(name, tamper), replay.run_teacher_forced_inference(name, tamper)
    )
    forced_rows = worst_violations(name, forced, per_call_bound, skip=(" frame ",))
    assert forced_rows[0][0] > 100.0, f"{variant} was NOT detected per call: worst {describe(forced_rows, 1)}"


# ---------------------------------------------------------------------------------------------- structure
@pytest.mark.parametrize("name", replay.VECTORS)
def test_generator_call_inputs_and_structure(name: str) -> None:
    """The first call's exact inputs (encoding, history, fg mask), flags of every call, absent outputs."""
    stored_calls = replay.load_vector(name)["train_path"]["G_calls"]
    chained = replay.chained_training(name)
    assert len(chained["g_calls"]) == len(stored_calls) == len(replay.teacher_forced_training(name)["g_calls"])
    for stored, args, out in zip(stored_calls, chained["g_inputs"], chained["g_calls"], strict=True):
        tag = f"{name} G call {stored['call_index']} ({stored['scale_net']})"
        if "input" in stored:
            assert replay.scaled_error(args[0], stored["input"]) <= PER_CALL_TOL, f"{tag} input"
            assert replay.scaled_error(args[1], stored["img_prev"]) <= PER_CALL_TOL, f"{tag} img_prev"
            if stored["mask"] is not None:
                assert replay.scaled_error(args[2], stored["mask"]) <= PER_CALL_TOL, f"{tag} mask"
            else:
                assert args[2] is None, f"{tag} mask"
            assert bool(args[4]) == stored["use_raw_only"], f"{tag} use_raw_only"
            assert [args[3] is not None] * 3 == stored["coarse_feats_given"] or not any(stored["coarse_feats_given"])
        for ref_key, key in replay.G_OUTPUT_KEYS.items():
            if ref_key in stored and stored[ref_key] is None:
                assert out[key] is None, f"{tag} {key} should be None"


@pytest.mark.parametrize("name", replay.VECTORS)
def test_loss_names_and_temporal_scales(name: str) -> None:
    vector = replay.load_vector(name)
    for forced in (False, True):
        chunks = (replay.teacher_forced_training if forced else replay.chained_training)(name)["chunks"]
        for stored, mine in zip(vector["train_path"]["chunks"], chunks, strict=True):
            tag = f"{name} chunk i={stored['i']} ({'teacher-forced' if forced else 'chained'})"
            assert list(mine["losses"]) == list(stored["loss_dict"]), f"{tag}: loss names"
            assert mine["scales_run"] == stored["dT_scales_run"], f"{tag}: temporal scales run"
            assert [list(t) for t in mine["losses_T"]] == [list(t) for t in stored["loss_dict_T"]], tag
            assert len(mine["totals"]["loss_D_T"]) == len(stored["loss_D_T"]), tag
            for ref_key, key in replay.CHUNK_KEYS.items():
                if not forced and stored[ref_key] is None:
                    assert getattr(mine["g"], key) is None, f"{tag} {key}"
            assert len(mine["d_calls"]["D"]) == 6, "D call order: real, fake (detached), fake, real, raw x2"
            if "D_T0" in mine["d_calls"] and not stored["dT_scales_run"]:
                assert mine["d_calls"]["D_T0"] == [], tag


def test_face_box_matches_reference() -> None:
    name = "v4_pose6_noflow_nofirstimg_facedisc"
    vector = replay.load_vector(name)
    opt, model_g, _ = replay.build_models(name, "train", with_discriminators=False)
    frames = replay.split_frames(name, opt, torch.float32)
    model_d = DiscriminatorModel.__new__(DiscriminatorModel)  # only face_region's attributes are needed
    model_d.openpose_only = bool(opt.openpose_only)
    model_d.face_size = opt.fineSize // 32 * 8
    n_boxes = 0
    for chunk, record in zip(vector["train_path"]["chunks"], vector["train_path"]["D_records"], strict=True):
        if "face_region_ys_ye_xs_xe" not in record:
            continue
        label_map, _, instances = replay.window(frames, chunk["i"], chunk["fake_B"].shape[1] + opt.n_frames_G - 1)
        real_label = model_g.encode(label_map, instances)[:, opt.n_frames_G - 1 :]
        box = DiscriminatorModel.face_region(model_d, real_label.flatten(0, 1))
        assert list(box) == record["face_region_ys_ye_xs_xe"]
        n_boxes += 1
    assert n_boxes == len(vector["train_path"]["chunks"])


@pytest.mark.parametrize("name", replay.VECTORS)
def test_inference_keeps_batchnorm_in_train_mode(name: str) -> None:
    _, model_g, _ = replay.build_models(name, "test", with_discriminators=False)
    assert all(m.training for m in model_g.modules()), "BatchNorm must stay in train mode (reference semantics)"


@pytest.mark.parametrize("name", ["v1_label_inst_fg_1scale", "v3_rgb_input_nofg_flow"])
def test_warp_history_uses_previous_chunk_frame(name: str) -> None:
    """Our G_Warp of a later chunk warps the previous chunk's last output (GPU semantics of the reference)."""
    vector = replay.load_vector(name)
    first, second = vector["train_path"]["chunks"][:2]
    mine = replay.chained_training(name)["chunks"][1]["g"].fake_prev_image
    expected_prev = torch.cat([first["fake_B"][:, -1:], second["fake_B"][:, :-1]], dim=1)
    # depth 1 frames: the chained bound of that depth
    assert replay.scaled_error(mine, expected_prev) <= chained_bound(name, "tensor", 1)


def test_gradients_reach_every_generator_scale() -> None:
    name = "v2_label_inst_fg_2scales"
    vector = replay.load_vector(name)
    opt, model_g, model_d = replay.build_models(name, "train")
    frames = replay.split_frames(name, opt, torch.float32)
    out = model_g(*replay.window(frames, 0, 2 + opt.n_frames_G - 1), None)
    stored = vector["train_path"]["chunks"][0]
    losses = model_d.image_losses(out, stored["flow_ref"], stored["conf_ref"])
    model_d.total_losses(losses, [])["loss_G"].backward()
    for s, generator in enumerate(model_g.generators):
        grad = generator.model_down_seg[1].weight.grad
        assert grad is not None and grad.abs().sum() > 0, f"no gradient reaches G{s}"
