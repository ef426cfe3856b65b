"""Replays of NVIDIA's parity vectors (tests/data/reference/vectors, see REFERENCE_README.md §3) through our nets.

Two ways to replay, used by ``test_reference_parity.py``:

* **teacher-forced**: every network call gets that call's own inputs, with the history frames taken from the
  reference's stored outputs. Nothing compounds, so each call pins one network's arithmetic on any CPU.
* **chained**: our outputs are fed forward as training/test do. Each frame's output is the next call's input
  (warped by a predicted flow), so float rounding grows with the *depth* of a frame: the number of generated
  frames before it in its sequence (0 = all history frames are real or zero).

Both run in float32 or float64 (weights and inputs cast), which is how ``parity_drift.py`` measures how far
float32 rounding alone moves the chained outputs.
"""

from __future__ import annotations

import argparse
import functools
from collections.abc import Callable
from pathlib import Path

import torch

from models.checkpoint import load_state_dict_strict
from models.discriminator_model import DiscriminatorModel
from models.generator_model import GeneratorModel
from models.input_encoding import build_pyramid
from models.outputs import GeneratorChunk
from models.temporal_sampling import TemporalFrameHistory

VECTOR_DIR = Path(__file__).resolve().parents[1] / "data" / "reference" / "vectors"
VECTORS = (
    "v1_label_inst_fg_1scale",
    "v2_label_inst_fg_2scales",
    "v3_rgb_input_nofg_flow",
    "v4_pose6_noflow_nofirstimg_facedisc",
)
G_OUTPUT_KEYS = {  # reference record key -> our generator output key
    "img_final": "image",
    "flow": "flow",
    "weight": "weight",
    "img_raw": "raw_image",
    "img_feat": "image_feat",
    "flow_feat": "flow_feat",
    "img_fg_feat": "fg_feat",
    "img_fg": "fg_image",
}
CHUNK_KEYS = {"fake_B": "fake_image", "fake_B_raw": "fake_raw_image", "flow": "flow", "weight": "weight"}
Tamper = Callable[[GeneratorModel], None]


@functools.cache
def load_vector(name: str) -> dict:
    return torch.load(VECTOR_DIR / f"{name}.pt", weights_only=True)


def cast(x, dtype: torch.dtype):  # noqa: ANN001, ANN201 - tensors, None, or nested lists/dicts of them
    if isinstance(x, torch.Tensor):
        return x.to(dtype) if x.is_floating_point() else x
    if isinstance(x, dict):
        return {k: cast(v, dtype) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return type(x)(cast(v, dtype) for v in x)
    return x


def build_models(
    name: str, phase: str, dtype: torch.dtype = torch.float32, with_discriminators: bool = True
) -> tuple[argparse.Namespace, GeneratorModel, DiscriminatorModel | None]:
    """Our G (and D) built from the vector's ``opt_train``/``opt_test`` with its weights loaded strictly."""
    vector = load_vector(name)
    opt = argparse.Namespace(**vector[f"opt_{phase}"])
    model_g = GeneratorModel(opt)
    model_d = DiscriminatorModel(opt) if with_discriminators else None
    nets = {**model_g.networks(), **(model_d.networks() if model_d is not None else {})}
    scales_run = {s for chunk in vector["train_path"]["chunks"] for s in chunk["dT_scales_run"]}
    for label, net in nets.items():
        if label not in vector["state_dict"]:
            # the vectors omit temporal Ds that never run on their short sequences
            assert label.startswith("D_T") and int(label[3:]) not in scales_run, f"{name}: no weights for {label}"
            continue
        load_state_dict_strict(net, vector["state_dict"][label], f"{name}:{label}")
    model_g.to(dtype)
    if model_d is not None:
        model_d.to(dtype)
    return opt, model_g, model_d


def split_frames(name: str, opt: argparse.Namespace, dtype: torch.dtype) -> dict[str, torch.Tensor | None]:
    """Dataset tensors (1, T*c, H, W) -> (1, T, c, H, W), cast to ``dtype`` (label indices stay exact)."""
    vector = load_vector(name)
    data, h, w = vector["data"], vector["H"], vector["W"]
    n_frames = data["B"].shape[1] // opt.output_nc
    label_c = 1 if opt.label_nc != 0 else opt.input_nc
    inst = data["inst"]
    frames = {
        "A": data["A"].view(1, n_frames, label_c, h, w),
        "B": data["B"].view(1, n_frames, opt.output_nc, h, w),
        "inst": inst.view(1, n_frames, 1, h, w) if inst.dim() > 2 else None,
    }
    return cast(frames, dtype)


def window(frames: dict, start: int, length: int) -> list[torch.Tensor | None]:
    return [None if frames[k] is None else frames[k][:, start : start + length] for k in ("A", "B", "inst")]


class CallRecorder:
    """Forward hook storing (inputs, output) of every call of a module."""

    def __init__(self, module: torch.nn.Module) -> None:
        self.calls: list[tuple[tuple, object]] = []
        self.handle = module.register_forward_hook(self.hook)

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


def chunk_depths(chunk_start: int, n_new: int) -> list[int]:
    """Depth of each frame a training chunk generates: chunk ``i`` makes generated frames i .. i+n-1."""
    return list(range(chunk_start, chunk_start + n_new))


def d_and_loss_pass(
    model_d: DiscriminatorModel,
    chunk_tensors: dict[str, torch.Tensor | None],
    history: TemporalFrameHistory,
    flow_ref: torch.Tensor,
    conf_ref: torch.Tensor,
) -> dict:
    """Every discriminator call and loss of one chunk, given the chunk's real and generated tensors."""
    recorders = {label: CallRecorder(net) for label, net in model_d.networks().items()}
    c = chunk_tensors
    losses = model_d.image_losses(GeneratorChunk(**c), flow_ref, conf_ref)
    groups = history.update(c["real_image"], c["fake_image"], flow_ref, conf_ref)
    losses_t, scales_run = [], []
    for s, group in enumerate(groups):
        if group is not None:
            losses_t.append(model_d.temporal_losses(s, **group))
            scales_run.append(s)
    d_calls = {label: rec.take() for label, rec in recorders.items()}
    for rec in recorders.values():
        rec.handle.remove()
    return {
        "losses": losses,
        "losses_T": losses_t,
        "scales_run": scales_run,
        "totals": model_d.total_losses(losses, losses_t),
        "d_calls": d_calls,
    }


# ---------------------------------------------------------------------------------------------- chained
def run_chained_training(name: str, dtype: torch.dtype = torch.float32, tamper: Tamper | None = None) -> dict:
    """The reference's training inner loop (no optimizer steps) with our outputs fed forward.

    ``tamper(model_g)`` is applied after loading (the negative controls break the generator through it).
    Returns g_calls (per-scale output dicts, frame-major, coarse->fine) with g_inputs (the positional arguments
    of those calls), chunks (generator outputs, losses, D calls), bn_after (G state after the pass).
    """
    torch.manual_seed(0)
    vector = load_vector(name)
    opt, model_g, model_d = build_models(name, "train", dtype)
    if tamper is not None:
        tamper(model_g)
    g_recorders = [CallRecorder(net) for net in model_g.generators]
    frames = split_frames(name, opt, dtype)
    history = TemporalFrameHistory(opt.n_scales_temporal, opt.n_frames_D, opt.sparse_D)
    prev_outputs = None
    g_calls: list = []
    g_inputs: list = []
    chunks = []
    for stored in vector["train_path"]["chunks"]:
        n_new = stored["fake_B"].shape[1]
        out = model_g(*window(frames, stored["i"], n_new + opt.n_frames_G - 1), prev_outputs)
        prev_outputs = out.prev_outputs
        for t in range(n_new):  # calls in frame-major, coarse->fine order
            g_calls.extend(rec.calls[t][1] for rec in g_recorders)
            g_inputs.extend(rec.calls[t][0] for rec in g_recorders)
        for rec in g_recorders:
            rec.take()
        tensors = out._asdict()
        if chunks:
            tensors["fake_prev_image"] = cpu_reference_fake_prev(out.fake_image)
        flow_ref, conf_ref = cast(stored["flow_ref"], dtype), cast(stored["conf_ref"], dtype)
        chunks.append({"g": out, **d_and_loss_pass(model_d, tensors, history, flow_ref, conf_ref)})
    bn_after = {label: net.state_dict() for label, net in model_g.networks().items()}
    return {"chunks": chunks, "g_calls": g_calls, "g_inputs": g_inputs, "bn_after": bn_after}


def run_chained_inference(name: str, dtype: torch.dtype = torch.float32, tamper: Tamper | None = None) -> list[dict]:
    """test.py's rolling-window inference with our outputs fed forward; one output dict per stored call."""
    vector = load_vector(name)
    opt, model_g, _ = build_models(name, "test", dtype, with_discriminators=False)
    if tamper is not None:
        tamper(model_g)
    frames = split_frames(name, opt, dtype)
    prev_outputs = None
    calls = []
    for stored in vector["test_path"]:
        label, image, inst = window(frames, stored["window_start_frame"], opt.n_frames_G)
        out = model_g.inference(label, image if stored["B_window_given"] else None, inst, prev_outputs)
        prev_outputs = out.prev_outputs
        calls.append(out)
    return calls


# cached for the untampered replays; the negative controls call the run_* functions under monkeypatch
chained_training = functools.cache(run_chained_training)
chained_inference = functools.cache(run_chained_inference)


# ---------------------------------------------------------------------------------------------- teacher-forced
def stored_history_sequences(
    first_frames: torch.Tensor, stored_per_scale: list[list[torch.Tensor]], n_scales: int
) -> list[torch.Tensor]:
    """Per pyramid level (finest first): (1, tG-1 + n_generated, 3, h, w) = the history frames the sequence
    started from, followed by the reference's stored outputs at that scale. Index = data frame index.

    stored_per_scale[s]: the reference's outputs of scale s (0 = coarsest), in frame order.
    """
    first_pyr = build_pyramid(first_frames, n_scales)
    return [
        torch.cat([first_pyr[si], torch.stack(stored_per_scale[n_scales - 1 - si], dim=1)], dim=1)
        for si in range(n_scales)
    ]


def run_teacher_forced_training(name: str, tamper: Tamper | None = None) -> dict:
    """Every training-path G, D and loss call on its own inputs: the history frames of each G call, and the
    generated frames each D and loss sees, are the reference's stored outputs.

    Returns g_calls (our per-scale outputs in the reference's call order), chunks (D calls, losses) and bn_after.
    """
    vector = load_vector(name)
    opt, model_g, model_d = build_models(name, "train")
    if tamper is not None:
        tamper(model_g)
    frames = split_frames(name, opt, torch.float32)
    tG, n_scales = opt.n_frames_G, opt.n_scales_spatial
    stored_calls = vector["train_path"]["G_calls"]
    per_scale = [[c["img_final"] for c in stored_calls[s::n_scales]] for s in range(n_scales)]
    first = frames["B"][:, : tG - 1]
    sequences = stored_history_sequences(torch.zeros_like(first) if opt.no_first_img else first, per_scale, n_scales)
    history = TemporalFrameHistory(opt.n_scales_temporal, opt.n_frames_D, opt.sparse_D)
    g_calls, chunks = [], []
    for index, stored in enumerate(vector["train_path"]["chunks"]):
        i, n_new = stored["i"], stored["fake_B"].shape[1]
        label_map, real_image, instances = window(frames, i, n_new + tG - 1)
        labels = model_g.encode(label_map, instances)  # (1, L, C, H, W)
        labels_pyr = build_pyramid(labels, n_scales)
        prev_pyr = [seq[:, i : i + n_new + tG - 2] for seq in sequences]
        use_raw_only = bool(opt.no_first_img) and index == 0
        with torch.no_grad():
            for t in range(n_new):
                g_calls.extend(model_g.run_scales(labels_pyr, prev_pyr, t, use_raw_only))
        fake_image = stored["fake_B"]
        if index == 0:
            fake_prev = torch.cat([real_image[:, tG - 2 : tG - 1], fake_image[:, :-1]], dim=1)
        else:
            fake_prev = cpu_reference_fake_prev(fake_image)
        tensors = {
            "real_image": real_image[:, tG - 1 :],
            "fake_image": fake_image,
            "fake_raw_image": stored["fake_B_raw"],
            "real_label": labels[:, tG - 1 :],
            "real_prev_image": real_image[:, tG - 2 : -1],
            "fake_prev_image": fake_prev,
            "flow": stored["flow"],
            "weight": stored["weight"],
        }
        with torch.no_grad():
            chunks.append(d_and_loss_pass(model_d, tensors, history, stored["flow_ref"], stored["conf_ref"]))
    bn_after = {label: net.state_dict() for label, net in model_g.networks().items()}
    return {"g_calls": g_calls, "chunks": chunks, "bn_after": bn_after}


def run_teacher_forced_inference(name: str, tamper: Tamper | None = None) -> list[dict]:
    """Every test-path inference call on its own inputs: the previous outputs it is given are the reference's
    stored outputs of the earlier calls (per scale when stored). One output dict per stored call."""
    vector = load_vector(name)
    opt, model_g, _ = build_models(name, "test", with_discriminators=False)
    if tamper is not None:
        tamper(model_g)
    frames = split_frames(name, opt, torch.float32)
    tG, n_scales = opt.n_frames_G, opt.n_scales_spatial
    test_path = vector["test_path"]
    if test_path[0]["per_scale_outputs"] is not None:
        per_scale = [[call["per_scale_outputs"][s]["img_final"] for call in test_path] for s in range(n_scales)]
    else:
        assert n_scales == 1, f"{name}: multi-scale test path without per-scale outputs"
        per_scale = [[call["fake_B"] for call in test_path]]
    label, image, inst = window(frames, test_path[0]["window_start_frame"], tG)
    first = model_g.first_frames(model_g.encode(label, inst), image if test_path[0]["B_window_given"] else None, inst)
    sequences = stored_history_sequences(first, per_scale, n_scales)
    first_start = test_path[0]["window_start_frame"]
    calls = []
    for k, stored in enumerate(test_path):
        start = stored["window_start_frame"]
        label, image, inst = window(frames, start, tG)
        offset = start - first_start  # sequences[si][:, 0] is the first window's first frame
        prev = None if k == 0 else [seq[:, offset : offset + tG - 1] for seq in sequences]
        calls.append(model_g.inference(label, image if stored["B_window_given"] else None, inst, prev))
    return calls


teacher_forced_training = functools.cache(run_teacher_forced_training)
teacher_forced_inference = functools.cache(run_teacher_forced_inference)


# ---------------------------------------------------------------------------------------------- chained items
# A chained comparison is a flat dict: label -> (group, depth, value). group "tensor" values are compared by
# `scaled_error`, group "loss" values by relative error; depth is how many generated frames fed into the value.
Item = tuple[str, int, "torch.Tensor | float"]


def scaled_error(actual: torch.Tensor, expected: torch.Tensor) -> float:
    """max |actual - expected| / max(1, max |expected|): absolute for images in [-1, 1], relative to the
    largest value for tensors that reach tens (flows in pixels, BN running variances)."""
    if tuple(actual.shape) != tuple(expected.shape):
        return float("inf")
    diff = (actual.detach().double() - expected.detach().double()).abs().max().item()
    return diff / max(1.0, expected.detach().double().abs().max().item())


def relative_error(actual: float, expected: float) -> float:
    return abs(actual - expected) / max(abs(expected), 1e-6)


def item_error(group: str, actual: torch.Tensor | float, expected: torch.Tensor | float) -> float:
    if group == "loss":
        return relative_error(float(actual), float(expected))
    return scaled_error(actual, expected)


def d_items(prefix: str, depth: int, outputs: list[list[torch.Tensor]], items: dict[str, Item]) -> None:
    """Discriminator outputs [scale][layer]; with one stored layer per scale only the final prediction."""
    for i, scale in enumerate(outputs):
        for j, tensor in enumerate(scale):
            items[f"{prefix}[{i}][{j}]"] = ("tensor", depth, tensor)


def reference_items(name: str) -> dict[str, Item]:
    """Every stored output of the vector's training and test paths, labelled as `replay_items` labels ours."""
    vector = load_vector(name)
    n_scales = vector["opt_train"]["n_scales_spatial"]
    items: dict[str, Item] = {}
    for k, call in enumerate(vector["train_path"]["G_calls"]):
        for ref_key, key in G_OUTPUT_KEYS.items():
            if call.get(ref_key) is not None:
                items[f"train G call {k} ({call['scale_net']}) {key}"] = ("tensor", k // n_scales, call[ref_key])
    for chunk, d_record in zip(vector["train_path"]["chunks"], vector["train_path"]["D_records"], strict=True):
        i, n_new = chunk["i"], chunk["fake_B"].shape[1]
        last = i + n_new - 1
        for ref_key, key in CHUNK_KEYS.items():
            if chunk[ref_key] is not None:
                for t in range(n_new):
                    items[f"train chunk i={i} frame {t} {key}"] = ("tensor", i + t, chunk[ref_key][:, t])
        for loss_name, value in chunk["loss_dict"].items():
            items[f"train chunk i={i} {loss_name}"] = ("loss", last, value)
        for s, losses_t in zip(chunk["dT_scales_run"], chunk["loss_dict_T"], strict=True):
            for loss_name, value in losses_t.items():
                items[f"train chunk i={i} {loss_name} (temporal scale {s})"] = ("loss", last, value)
        items[f"train chunk i={i} loss_G"] = ("loss", last, chunk["loss_G"])
        items[f"train chunk i={i} loss_D"] = ("loss", last, chunk["loss_D"])
        for s, value in enumerate(chunk["loss_D_T"]):
            items[f"train chunk i={i} loss_D_T[{s}]"] = ("loss", last, value)
        d_items(f"train chunk i={i} D real", 0, d_record["D_out_real"], items)
        d_items(f"train chunk i={i} D fake", last, d_record["D_out_fake"], items)
        d_items(f"train chunk i={i} D fake raw", last, d_record["D_out_fake_raw"], items)
        if "D_f_out_real" in d_record:
            d_items(f"train chunk i={i} D_f real", 0, d_record["D_f_out_real"], items)
            d_items(f"train chunk i={i} D_f fake", last, d_record["D_f_out_fake"], items)
        if "D_T0_out_real" in d_record:
            items[f"train chunk i={i} D_T0 input fake"] = ("tensor", last, d_record["D_T0_input_fake"])
            d_items(f"train chunk i={i} D_T0 real", 0, d_record["D_T0_out_real"], items)
            d_items(f"train chunk i={i} D_T0 fake", last, d_record["D_T0_out_fake"], items)
    n_generated = len(vector["train_path"]["G_calls"]) // n_scales
    for label, buffers in vector["train_path"]["G_bn_buffers_after"].items():
        for key, value in buffers.items():
            if value.is_floating_point():
                items[f"train BN after {label}.{key}"] = ("tensor", n_generated - 1, value)
    for k, call in enumerate(vector["test_path"]):
        items[f"test call {k} fake_B"] = ("tensor", k, call["fake_B"])
        for s, scale_out in enumerate(call["per_scale_outputs"] or []):
            for ref_key, key in G_OUTPUT_KEYS.items():
                if scale_out.get(ref_key) is not None:
                    items[f"test call {k} scale {s} {key}"] = ("tensor", k, scale_out[ref_key])
    return items


def select_layers(actual: list[list[torch.Tensor]], expected: list[list[torch.Tensor]]) -> list[list[torch.Tensor]]:
    """Our D outputs reduced to the layers the reference stored (all, or only the final prediction)."""
    return [a[-1:] if len(e) == 1 else a for a, e in zip(actual, expected, strict=True)]


NO_TRAINING = {"g_calls": [], "chunks": [], "bn_after": {}}


def replay_items(name: str, training: dict, inference: list[dict]) -> dict[str, torch.Tensor | float]:
    """Our values for every label of `reference_items` (a label we cannot produce is simply absent).

    training: a `run_chained_training`/`teacher_forced_training` result (or NO_TRAINING); inference: a list of
    inference outputs (or [])."""
    vector = load_vector(name)
    reference = reference_items(name)
    ours: dict[str, torch.Tensor | float] = {}
    for k, out in enumerate(training["g_calls"]):
        call = vector["train_path"]["G_calls"][k]
        for key in G_OUTPUT_KEYS.values():
            if out.get(key) is not None:
                ours[f"train G call {k} ({call['scale_net']}) {key}"] = out[key]
    train_path = vector["train_path"]
    stored_chunks = zip(train_path["chunks"], train_path["D_records"], strict=True) if training["chunks"] else []
    for (chunk, d_record), mine in zip(stored_chunks, training["chunks"], strict=True):
        i = chunk["i"]
        g = mine.get("g")
        if g is not None:
            for key in CHUNK_KEYS.values():
                if getattr(g, key) is not None:
                    for t in range(getattr(g, key).shape[1]):
                        ours[f"train chunk i={i} frame {t} {key}"] = getattr(g, key)[:, t]
        for loss_name, value in mine["losses"].items():
            ours[f"train chunk i={i} {loss_name}"] = float(value.detach())
        for s, losses_t in zip(mine["scales_run"], mine["losses_T"], strict=True):
            for loss_name, value in losses_t.items():
                ours[f"train chunk i={i} {loss_name} (temporal scale {s})"] = float(value.detach())
        totals = mine["totals"]
        ours[f"train chunk i={i} loss_G"] = float(totals["loss_G"].detach())
        ours[f"train chunk i={i} loss_D"] = float(totals["loss_D"].detach())
        for s, value in enumerate(totals["loss_D_T"]):
            ours[f"train chunk i={i} loss_D_T[{s}]"] = float(value.detach())
        d_calls = mine["d_calls"]
        # image D call order: real, fake (detached), fake, real, raw (detached), raw
        pairs = [("D real", d_calls["D"][0][1], "D_out_real"), ("D fake", d_calls["D"][1][1], "D_out_fake"),
                 ("D fake raw", d_calls["D"][4][1], "D_out_fake_raw")]  # fmt: skip
        if "D_f_out_real" in d_record:
            pairs += [("D_f real", d_calls["D_f"][0][1], "D_f_out_real"),
                      ("D_f fake", d_calls["D_f"][1][1], "D_f_out_fake")]  # fmt: skip
        if "D_T0_out_real" in d_record:
            ours[f"train chunk i={i} D_T0 input fake"] = d_calls["D_T0"][1][0][0]
            pairs += [("D_T0 real", d_calls["D_T0"][0][1], "D_T0_out_real"),
                      ("D_T0 fake", d_calls["D_T0"][1][1], "D_T0_out_fake")]  # fmt: skip
        for prefix, outputs, ref_key in pairs:
            scratch: dict[str, Item] = {}
            d_items(f"train chunk i={i} {prefix}", 0, select_layers(outputs, d_record[ref_key]), scratch)
            ours.update({label: item[2] for label, item in scratch.items()})
    for label, state in training["bn_after"].items():
        for key, value in state.items():
            if f"train BN after {label}.{key}" in reference:
                ours[f"train BN after {label}.{key}"] = value
    for k, out in enumerate(inference):
        ours[f"test call {k} fake_B"] = out.fake_image
        for s, scale_out in enumerate(out.scale_outputs):
            for key in G_OUTPUT_KEYS.values():
                if f"test call {k} scale {s} {key}" in reference:
                    ours[f"test call {k} scale {s} {key}"] = scale_out[key]
    return ours
