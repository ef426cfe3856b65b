"""Frame in, frame out: a trained run as a live generator (`Synthesizer`), for cameras, games and streams.

    synth = Synthesizer.from_run("demo", device="cpu")
    for label_map in maps:                      # PIL images or numpy arrays, one per frame
        frame = synth.step(label_map)           # (H, W, 3) uint8 RGB, or None while the history fills
    synth.reset()                               # a new shot: the history starts again

`step` does what test.py does for one window, without a dataset folder: the input is converted as the run's
dataset mode converts a file (label maps or input images as data/modes/folders.py `frame_from_images`; RGB
frames of pose and face runs through MediaPipe / dlib and data/modes/pose.py, face.py; the same transform), the
last n_frames_G inputs are kept, and the generator's previous outputs are carried from call to call. The first
n_frames_G - 1 inputs of a shot only fill the history (test.py's results start at the same frame), with the
first-frame source the run uses: the single-frame G (--use_single_G), the real frames given to `step`
(--use_real_img) or none (--no_first_img). So on the same inputs the frames are test.py's, bit for bit in
float32, and memory stays flat: nothing grows with the number of frames.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from PIL import Image

from data.clip import stack_field
from data.face_drawing import crop_box
from data.modes.base import Frame, FrameImages
from data.modes.face import FaceParams, face_frame
from data.modes.folders import frame_from_images
from data.modes.pose import central_half, densepose_tensor, openpose_tensor
from data.modes.registry import get_mode
from data.pose_drawing import people_from_json
from data.transforms import ImageParams, get_img_params, to_normalized_tensor, transform_image
from options import TestOptions
from options.saved_run import with_saved_run_flags
from util.device import native_bf16
from util.image import tensor2im

from .inference import load_face_features, load_test_model

STREAMED_MODES = ("folders", "pose", "face")  # dataset modes whose inputs `step` converts (docs/INFERENCE.md)
LIVE = "live input"


class StreamError(ValueError):
    """A run or an input the streaming path cannot use; the message names it and the fix."""


def as_image(value: Image.Image | np.ndarray, what: str) -> Image.Image:
    """A PIL image of ``value``: (H, W) integer arrays become single-channel label/instance maps (16-bit above
    255), (H, W, 3) uint8 arrays RGB images."""
    if isinstance(value, Image.Image):
        return value
    array = np.asarray(value)
    if array.ndim == 2 and np.issubdtype(array.dtype, np.integer):
        return Image.fromarray(array.astype(np.uint8 if array.max(initial=0) < 256 else np.int32))
    if array.ndim == 3 and array.shape[2] in (1, 3) and array.dtype == np.uint8:
        return Image.fromarray(array[:, :, 0] if array.shape[2] == 1 else array)
    raise StreamError(f"{what}: expected a PIL image, an (H, W) integer array of ids or an (H, W, 3) uint8 RGB "
                      f"array, got a {array.dtype} array of shape {array.shape}")


@dataclass(frozen=True)
class FastPath:
    """Opt-in speed-ups of `Synthesizer.step` (docs/INFERENCE.md has their measured speed and quality).

    bf16: bfloat16 autocast of the generator (only where the device computes bf16 natively; refused elsewhere);
    channels_last: the networks' weights and activations in NHWC memory order (oneDNN / cuDNN prefer it);
    compile: ``torch.compile`` of the generator step (compiled at the first call, reused for every later frame).
    """

    bf16: bool = False
    channels_last: bool = False
    compile: bool = False

    def describe(self) -> str:
        chosen = [name for name in ("bf16", "channels_last", "compile") if getattr(self, name)]
        return "+".join(chosen) or "fp32"


class Synthesizer:
    """A trained run that turns one input frame into one output frame, keeping its own history."""

    def __init__(self, opt: Any, model: torch.nn.Module, device: torch.device,
                 face_features: dict | None = None, fast: FastPath = FastPath()) -> None:
        self.opt, self.model, self.device, self.face_features = opt, model, device, face_features
        self.fast = fast
        if fast.bf16:
            native, why_not = native_bf16(device)
            if not native:
                raise StreamError(f"--bf16 refused: {why_not}; use float32 (the default) on this machine")
        if fast.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.inference = self.model.inference
        if fast.compile:
            self.inference = torch.compile(self.model.inference, dynamic=False)
        self.window: deque[Frame] = deque(maxlen=opt.n_frames_G)
        self.prev_outputs = None
        self.params: ImageParams | None = None
        self.size: tuple[int, int] | None = None
        self.mode = get_mode(opt.dataset_mode).name
        self.estimator = None  # the pose estimator, made at the first frame of a pose run
        self.landmarks = None  # dlib's face detector and predictor, made at the first frame of a face run
        self.points: np.ndarray | None = None  # the last face landmarks found (a frame without a face keeps them)

    @classmethod
    def from_run(cls, name: str, checkpoints_dir: str = "checkpoints", which_epoch: str | int = "latest",
                 device: str | torch.device = "cpu", flags: Sequence[str] = (), fast: FastPath = FastPath()
                 ) -> Synthesizer:
        """The run ``checkpoints_dir/name`` (ours, with its opt.json; or a published folder, with ``flags``
        naming its architecture as for test.py), on ``device``; ``flags`` are test.py flags (e.g.
        ``["--use_single_G"]``); ``fast`` the opt-in speed-ups."""
        options = TestOptions()
        argv = ["--name", name, "--checkpoints_dir", checkpoints_dir, "--which_epoch", str(which_epoch),
                *(["--gpu_ids", "-1"] if torch.device(device).type == "cpu" else []), *flags]
        argv, _ = with_saved_run_flags(options, argv)
        opt = options.parse(argv, save=False, verbose=False)
        mode = get_mode(opt.dataset_mode).name
        if mode not in STREAMED_MODES:
            raise StreamError(f"run {name} reads --dataset_mode {opt.dataset_mode}; live input is converted for "
                              f"{', '.join(STREAMED_MODES)} runs so far: run test.py on a dataset folder instead")
        device = torch.device(device)
        model = load_test_model(opt, device)
        return cls(opt, model, device, load_face_features(opt, model), fast)

    def close(self) -> None:
        """Release the pose estimator (pose runs); the synthesizer can still be used (it makes a new one)."""
        if self.estimator is not None:
            self.estimator.close()
            self.estimator = None

    def __enter__(self) -> Synthesizer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def reset(self) -> None:
        """Start a new shot: forget the history (the next n_frames_G - 1 inputs fill it again)."""
        self.window.clear()
        self.prev_outputs = None
        self.params = self.size = self.points = None

    def convert(self, label: Image.Image | np.ndarray, real: Image.Image | np.ndarray | None = None,
                instance: Image.Image | np.ndarray | None = None) -> Frame:
        """One input as the dataset mode would read it: tensors (C, H, W) after the run's transform."""
        images = FrameImages(as_image(label, "label"), LIVE)
        if real is not None:
            images = images._replace(real=as_image(real, "real frame"), real_name="live real frame")
        if instance is not None:
            images = images._replace(instance=as_image(instance, "instance map"), instance_name="live instance map")
        if self.size is not None and images.label.size != self.size:
            raise StreamError(f"input size changed from {self.size[0]}x{self.size[1]} to "
                              f"{images.label.size[0]}x{images.label.size[1]} within a shot; call reset() first")
        points = self.face_points(images.label) if self.mode == "face" else None
        if self.params is None:
            # one set of parameters per shot, drawn as test.py draws a sequence's (the face crop box from the
            # shot's first frame, as test.py takes it from --start_frame)
            box = None if points is None else crop_box(points, images.label.size)
            size = images.label.size if box is None else (box[2] - box[0], box[3] - box[1])
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(0)
                self.params = get_img_params(self.opt, size, allow_flip=False)
            if box is not None:
                self.params = FaceParams(**vars(self.params), box=box)
            self.size = images.label.size
        if self.mode == "pose":
            return self.pose_frame(images)
        if self.mode == "face":
            return face_frame(self.opt, images.label, points, self.params.box, self.params)
        return frame_from_images(self.opt, images, self.params)

    def face_points(self, image: Image.Image) -> np.ndarray:
        """(68, 2) landmarks of the largest face (dlib, as scripts/face/detect_landmarks.py), or the last ones
        found when this frame has none."""
        from data.face_landmarks import detect, find_predictor, load_dlib

        if self.landmarks is None:
            self.landmarks = load_dlib(find_predictor(None, self.opt.dataroot))
        found = detect(*self.landmarks, np.asarray(image.convert("RGB")), 1)
        if found is not None:
            self.points = found.astype(np.float64)
        elif self.points is None:
            raise StreamError("no face found in the first frame of the shot; a face run needs one (dlib's "
                              "detector, frontal faces)")
        return self.points

    def pose_frame(self, images: FrameImages) -> Frame:
        """A pose run's input from an RGB frame: the person's keypoints and mask from MediaPipe (the most salient
        person, unsmoothed: data/pose_video/), drawn as the pose mode draws a dataset's files."""
        from data.pose_video.densepose_standin import iuv_image
        from data.pose_video.estimator import PoseEstimator
        from data.pose_video.keypoints import OpenPosePerson, body_25, openpose_json

        if self.estimator is None:
            self.estimator = PoseEstimator(max_people=1)
        rgb = np.ascontiguousarray(np.asarray(images.label.convert("RGB")))
        person, mask = OpenPosePerson.empty(), np.zeros(rgb.shape[:2], np.uint8)
        found = self.estimator.candidates(rgb)
        if found:
            detail = self.estimator.detail(rgb, found[0].box)
            if detail is not None:
                person, mask = detail.person, detail.mask
            else:
                person = person._replace(body=body_25(found[0].landmarks))
        opt, parts = self.opt, []
        if not opt.openpose_only:
            parts.append(densepose_tensor(opt, iuv_image(mask, person.body), self.params, LIVE))
        if not opt.densepose_only:
            people = people_from_json(openpose_json([person])["people"], LIVE)
            parts.append(openpose_tensor(opt, people, images.label.size, self.params))
        real = None
        if images.real is not None:
            real = central_half(to_normalized_tensor(transform_image(images.real.convert("RGB"), opt, self.params,
                                                                     Image.BICUBIC)), images.real_name)
        return Frame(central_half(torch.cat(parts), LIVE), real, None)

    def step_tensor(self, label: Image.Image | np.ndarray, real: Image.Image | np.ndarray | None = None,
                    instance: Image.Image | np.ndarray | None = None) -> torch.Tensor | None:
        """The next output frame as a (3, H, W) tensor in [-1, 1] on the device, or None while the history fills."""
        if self.mode == "folders" and self.opt.use_instance and instance is None:
            raise StreamError("this run was trained with --use_instance: pass instance= (the instance ids) to step")
        return self.push(self.convert(label, real, instance))

    @torch.inference_mode()
    def push(self, frame: Frame) -> torch.Tensor | None:
        """`step_tensor` for an input already converted (`convert`, or tensors made as a dataset mode makes
        them): the generator's part, on the device."""
        self.window.append(frame)
        if len(self.window) < self.window.maxlen:
            if self.prev_outputs is None and self.opt.use_real_img and frame.real is None:
                raise StreamError("this run makes its first frames from real ones (--use_real_img): pass real= "
                                  f"with each of the first {self.window.maxlen - 1} inputs of a shot")
            return None
        frames = list(self.window)
        label_t = stack_field(frames, "label").unsqueeze(0).to(self.device)  # (1, tG, C, H, W)
        history = frames[:-1]  # the first window's history frames are all the real frames the generator uses
        real_t = stack_field(history, "real") if self.prev_outputs is None and history[0].real is not None else None
        inst_t = stack_field(frames, "instance")
        real_t = None if real_t is None else real_t.unsqueeze(0).to(self.device)
        inst_t = None if inst_t is None else inst_t.unsqueeze(0).to(self.device)
        try:
            with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.fast.bf16):
                out = self.inference(label_t, real_t, inst_t, self.prev_outputs, self.face_features)
        except Exception as error:
            if self.fast.compile and type(error).__module__.startswith(("torch._dynamo", "torch._inductor")):
                first = str(error).strip().splitlines()[0] if str(error).strip() else ""
                raise StreamError(f"--compile failed on this machine ({type(error).__name__}: {first[:160]}); "
                                  "run without --compile") from error
            raise
        self.prev_outputs = out.prev_outputs
        return out.fake_image[0].float()

    def step(self, label: Image.Image | np.ndarray, real: Image.Image | np.ndarray | None = None,
             instance: Image.Image | np.ndarray | None = None) -> np.ndarray | None:
        """The next output frame as (H, W, 3) uint8 RGB (test.py's saved image before JPEG), or None while the
        history fills (the first n_frames_G - 1 inputs of a shot)."""
        fake = self.step_tensor(label, real, instance)
        return None if fake is None else tensor2im(fake)
