"""The sequential generator model: input encoding, per-scale generators run coarse->fine frame by frame,
previous-frame histories, and the test-time single-step inference path."""

from __future__ import annotations

from argparse import Namespace

import torch
from torch import nn

from .input_encoding import build_pyramid, encode_labels, foreground_mask
from .networks.factory import build_generator, build_single_frame_networks
from .networks.single_frame import FeatureEncoder
from .outputs import GeneratedFrame, GeneratorChunk, Pyramid


class GeneratorModel(nn.Module):
    """Holds ``G0..G{S-1}`` (``generators[s]``; scale 0 is the coarsest) and, at test time with
    ``--use_single_G``, the single-frame generator for the first frames.

    BatchNorm stays in train mode (batch statistics) also at test time, as in the reference; call ``.eval()``
    yourself only if you want the running statistics (results then differ from the reference).
    """

    def __init__(self, opt: Namespace, build_single_generator: bool | None = None) -> None:
        super().__init__()
        self.n_scales = opt.n_scales_spatial
        self.n_frames_G = opt.n_frames_G
        self.label_nc = opt.label_nc
        self.output_nc = opt.output_nc
        self.use_instance = bool(opt.use_instance)
        fg_labels = opt.fg_labels
        if isinstance(fg_labels, str):  # unparsed '--fg_labels 2,3'
            fg_labels = [int(x) for x in fg_labels.split(",") if x.strip()]
        self.fg_labels = list(fg_labels) if opt.fg else None
        self.no_first_img = bool(opt.no_first_img)
        self.use_real_img = bool(getattr(opt, "use_real_img", False))
        if self.fg_labels is not None and opt.label_nc == 0:
            raise ValueError("--fg needs one-hot labels (--label_nc > 0) to build the foreground mask")
        self.generators = nn.ModuleList(build_generator(opt, s) for s in range(self.n_scales))
        if build_single_generator is None:
            build_single_generator = (not opt.isTrain) and bool(getattr(opt, "use_single_G", False))
        self.single_generator: nn.Module | None = None
        self.face_encoder: FeatureEncoder | None = None
        if build_single_generator:
            single = build_single_frame_networks(opt)
            self.single_generator = single["G_single"]
            self.face_encoder = single.get("E_single")

    # ------------------------------------------------------------------ helpers
    def networks(self) -> dict[str, nn.Module]:
        """Networks by checkpoint label."""
        nets = {f"G{s}": g for s, g in enumerate(self.generators)}
        if self.single_generator is not None:
            nets["G_single"] = self.single_generator
        if self.face_encoder is not None:
            nets["E_single"] = self.face_encoder
        return nets

    def encode(self, label_map: torch.Tensor, instances: torch.Tensor | None) -> torch.Tensor:
        """(B, T, c, H, W) dataset labels (+ (B, T, 1, H, W) instances) -> (B, T, C, H, W) generator labels."""
        if self.use_instance and instances is None:
            raise ValueError("--use_instance is set but no instance maps were given")
        return encode_labels(label_map, self.label_nc, instances if self.use_instance else None)

    def run_scales(
        self, labels_pyr: Pyramid, prev_pyr: Pyramid, t: int, use_raw_only: bool, train_coarse_scales: bool = True,
        n_frames_backpropagate: int = 1,
    ) -> list[dict[str, torch.Tensor | None]]:
        """Run every scale (coarse -> fine) for the output frame at window position ``t``.

        labels_pyr[si]: (B, T, C, h, w) with frames t .. t+tG-1 used; prev_pyr[si]: (B, >= t+tG-1, 3, h, w)
        with frames t .. t+tG-2 used, detached when ``t`` is a multiple of ``n_frames_backpropagate`` (the
        reference's rule: gradients flow back through at most that many previous outputs). Returns one output
        dict per scale, coarsest first.
        """
        tG = self.n_frames_G
        coarse: dict[str, torch.Tensor | None] | None = None
        outputs = []
        for s, generator in enumerate(self.generators):
            si = self.n_scales - 1 - s  # pyramid index (0 = finest)
            labels = labels_pyr[si]
            b, _, _, h, w = labels.shape
            label_window = labels[:, t : t + tG].reshape(b, -1, h, w)  # (B, tG*C, h, w)
            prev_window = prev_pyr[si][:, t : t + tG - 1]
            if t % n_frames_backpropagate == 0:
                prev_window = prev_window.detach()
            prev_window = prev_window.reshape(b, -1, h, w)  # (B, (tG-1)*3, h, w)
            mask = foreground_mask(labels, t + tG - 1, self.fg_labels) if self.fg_labels is not None else None
            out = generator(label_window, prev_window, mask, coarse, use_raw_only)
            if s != self.n_scales - 1 and not train_coarse_scales:
                out = {k: (v.detach() if isinstance(v, torch.Tensor) else v) for k, v in out.items()}
            coarse = {"image_feat": out["image_feat"], "flow_feat": out["flow_feat"], "fg_feat": out["fg_feat"]}
            outputs.append(out)
        return outputs

    # ------------------------------------------------------------------ training
    def forward(
        self,
        label_map: torch.Tensor,
        real_image: torch.Tensor,
        instances: torch.Tensor | None,
        prev_outputs: Pyramid | None,
        train_coarse_scales: bool = True,
        n_frames_backpropagate: int = 1,
    ) -> GeneratorChunk:
        """Generate one training chunk frame by frame.

        Args:
            label_map: (B, L, c, H, W) labels of L = n + tG - 1 frames (tG-1 history frames, then n new ones).
            real_image: (B, L, 3, H, W) real frames of the same window.
            instances: (B, L, 1, H, W) or None.
            prev_outputs: None at the start of a sequence (history = real frames, or zeros with
                ``--no_first_img``), else the ``prev_outputs`` returned for the previous chunk.
            train_coarse_scales: False detaches the coarser scales' outputs (``--niter_fix_global``).
            n_frames_backpropagate: previous outputs fed to G are detached every that many frames (1 = always,
                the reference's default; see `run_scales`).
        Returns the chunk's `GeneratorChunk` (every field filled, flow and weight None without a flow branch).
        """
        tG = self.n_frames_G
        labels = self.encode(label_map, instances)
        n_frames = labels.size(1) - tG + 1
        if n_frames < 1:
            raise ValueError(f"a training chunk needs at least n_frames_G={tG} frames, got {labels.size(1)}")
        is_first_chunk = prev_outputs is None
        if is_first_chunk:
            history = torch.zeros_like(real_image[:, : tG - 1]) if self.no_first_img else real_image[:, : tG - 1]
            prev_pyr = build_pyramid(history, self.n_scales)
        else:
            prev_pyr = list(prev_outputs)
        labels_pyr = build_pyramid(labels, self.n_scales)
        use_raw_only = self.no_first_img and is_first_chunk

        raw_frames, flows, weights = [], [], []
        for t in range(n_frames):
            outputs = self.run_scales(labels_pyr, prev_pyr, t, use_raw_only, train_coarse_scales,
                                      n_frames_backpropagate)
            for s, out in enumerate(outputs):
                si = self.n_scales - 1 - s
                prev_pyr[si] = torch.cat([prev_pyr[si], out["image"].unsqueeze(1)], dim=1)
            finest = outputs[-1]
            raw_frames.append(finest["raw_image"])
            if finest["flow"] is not None:
                flows.append(finest["flow"])
                weights.append(finest["weight"])

        fake_image = prev_pyr[0][:, tG - 1 :]  # (B, n, 3, H, W)
        last_prev = real_image[:, tG - 2 : tG - 1] if is_first_chunk else prev_outputs[0][:, -1:]
        fake_prev_image = torch.cat([last_prev, fake_image[:, :-1].detach()], dim=1)
        return GeneratorChunk(
            fake_image=fake_image,
            fake_raw_image=torch.stack(raw_frames, dim=1),
            flow=torch.stack(flows, dim=1) if flows else None,
            weight=torch.stack(weights, dim=1) if weights else None,
            real_label=labels[:, tG - 1 :],
            real_image=real_image[:, tG - 1 :],
            real_prev_image=real_image[:, tG - 2 : -1],
            fake_prev_image=fake_prev_image,
            prev_outputs=[level[:, -(tG - 1) :].detach() for level in prev_pyr],
        )

    # ------------------------------------------------------------------ test
    def first_frames(
        self,
        labels: torch.Tensor,
        real_image: torch.Tensor | None,
        instances: torch.Tensor | None,
        face_features: dict[int, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """History for the first output frame at test time: (B, tG-1, 3, H, W).

        Zeros with ``--no_first_img``; the real frames with ``--use_real_img``; else the single-frame G applied
        to each of the first tG-1 label frames (one-hot labels only, without the instance-edge channel).
        """
        tG = self.n_frames_G
        b, _, _, h, w = labels.shape
        if self.no_first_img:
            return labels.new_zeros(b, tG - 1, self.output_nc, h, w)
        if self.use_real_img:
            if real_image is None:
                raise ValueError("--use_real_img needs the real frames of the first window")
            return real_image[:, : tG - 1]
        if self.single_generator is None:
            raise ValueError(
                "no way to make the first frames: pass --use_real_img, --use_single_G (with its checkpoint) "
                "or --no_first_img"
            )
        label_only = labels[:, :, : self.label_nc] if self.use_instance else labels
        frames = []
        for i in range(tG - 1):
            feature_map = None
            if self.face_encoder is not None:
                if real_image is None or instances is None or face_features is None:
                    raise ValueError(
                        "the face single-frame G needs the real frames, part maps and features.npy clusters"
                    )
                feature_map = face_cluster_features(
                    self.face_encoder(real_image[:, i], instances[:, i]), instances[:, i], face_features
                )
            frames.append(self.single_generator(label_only[:, i], feature_map))
        return torch.stack(frames, dim=1)

    @torch.no_grad()
    def inference(
        self,
        label_map: torch.Tensor,
        real_image: torch.Tensor | None,
        instances: torch.Tensor | None,
        prev_outputs: Pyramid | None,
        face_features: dict[int, torch.Tensor] | None = None,
    ) -> GeneratedFrame:
        """Generate the newest frame of a rolling window of tG label frames (test.py's ``inference``).

        Args:
            label_map: (B, tG, c, H, W) labels of frames t-tG+1 .. t.
            real_image: (B, tG, 3, H, W) or None (needed for the first call with ``--use_real_img``).
            instances: (B, tG, 1, H, W) or None.
            prev_outputs: None for the first call of a sequence, else the ``prev_outputs`` of the last call.
        Returns the window's `GeneratedFrame`; its ``prev_outputs`` go with the next call.
        """
        labels = self.encode(label_map, instances)
        is_first = prev_outputs is None
        if is_first:
            prev_outputs = build_pyramid(self.first_frames(labels, real_image, instances, face_features), self.n_scales)
        labels_pyr = build_pyramid(labels, self.n_scales)
        outputs = self.run_scales(labels_pyr, prev_outputs, 0, self.no_first_img and is_first)
        new_prev = []
        for si, level in enumerate(prev_outputs):
            out = outputs[self.n_scales - 1 - si]["image"]
            new_prev.append(torch.cat([level[:, 1:], out.unsqueeze(1)], dim=1))
        return GeneratedFrame(fake_image=outputs[-1]["image"], real_label=labels[:, -1], scale_outputs=outputs,
                              prev_outputs=new_prev)


def face_cluster_features(
    encoded: torch.Tensor, parts: torch.Tensor, clusters: dict[int, torch.Tensor]
) -> torch.Tensor:
    """Replace each face part's encoded feature by that part's feature in the nearest training image.

    encoded: (B, F, H, W) part-averaged encoder features; parts: (B, 1, H, W) part ids; clusters[part]:
    (n_images, F + 1) per-image part features (features.npy; last column unused). The nearest image minimises
    the squared distance summed over the parts present. Returns (B, F, H, W).
    """
    out = torch.zeros_like(encoded)
    n_feat = encoded.size(1)
    for b in range(encoded.size(0)):
        ids = parts[b, 0].long()
        present = torch.unique(ids).tolist()
        distance = None
        for part in present:
            ys, xs = torch.nonzero(ids == part, as_tuple=True)
            query = encoded[b, :, ys[0], xs[0]]  # (F,)
            bank = clusters[part][:, :n_feat].to(encoded)  # (n_images, F)
            d = ((bank - query) ** 2).sum(dim=1)
            if distance is not None and d.numel() != distance.numel():
                raise ValueError("features.npy: every face part needs one feature row per training image")
            distance = d if distance is None else distance + d
        best = int(torch.argmin(distance))
        for part in present:
            bank = clusters[part][:, :n_feat].to(encoded)
            row = bank[min(best, bank.size(0) - 1)]
            region = ids == part
            out[b][:, region] = row[:, None].expand(-1, int(region.sum()))
    return out
