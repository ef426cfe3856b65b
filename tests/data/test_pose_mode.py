"""--dataset_mode pose on poses made here: the skeleton drawing (colours, brush widths, confidence thresholds,
dropped parts, several people), the IUV remapping, the clips, the face box the face D uses, one training
iteration, and the reference pose configurations' networks."""
import argparse
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from data import DataError, TemporalDataset, TestDataset, create_dataset
from data.modes import get_mode
from data.modes.pose import PoseMode
from data.pose_drawing import Person, draw_people, read_people, segment_pixels, stamp
from data.transforms import ImageParams, get_img_params
from models.discriminator_model import DiscriminatorModel
from models.networks import build_networks
from options import TestOptions, TrainOptions
from tests.helpers import load_script

REPO = Path(__file__).resolve().parents[2]
MANIFESTS = REPO / "tests" / "data" / "reference" / "manifests"
TINY = ["--dataset_mode", "pose", "--ngf", "8", "--ndf", "8", "--n_blocks", "2", "--n_downsample_G", "2",
        "--num_D", "2", "--no_vgg", "--flow_net", "dis", "--gpu_ids", "-1", "--nThreads", "0", "--loadSize", "64",
        "--fineSize", "64", "--n_frames_total", "2", "--max_frames_per_gpu", "2", "--niter", "1",
        "--niter_decay", "0", "--resize_or_crop", "scaleHeight"]
W, H = 256, 64  # stored frame size; scaleHeight 64 keeps it, the central half is columns 64..191
BODY = {0: (128, 8), 1: (128, 16), 8: (128, 40), 2: (116, 16), 3: (108, 28), 5: (140, 16), 6: (148, 28),
        9: (120, 40), 10: (118, 56), 12: (136, 40), 13: (138, 56), 15: (125, 6), 16: (131, 6), 17: (122, 7),
        18: (134, 7)}
RED, YELLOW = (153, 0, 0), (153, 153, 0)  # colours of the spine (1, 8) and the right forearm (3, 4)


def person(body: dict, conf: float = 0.9, face: dict | None = None, hand: dict | None = None) -> dict:
    """One OpenPose person: ``{index: (x, y[, confidence])}`` for body, face and left hand; the rest absent."""

    def flat(points: dict, n: int) -> list[float]:
        values = np.zeros((n, 3))
        for index, point in points.items():
            values[index] = (*point[:2], point[2] if len(point) > 2 else conf)
        return values.ravel().tolist()

    return {"pose_keypoints_2d": flat(body, 25), "face_keypoints_2d": flat(face or {}, 70),
            "hand_left_keypoints_2d": flat(hand or {}, 21), "hand_right_keypoints_2d": []}


def render(tmp_path: Path, people: list[dict], size: tuple[int, int] = (80, 64), **flags) -> np.ndarray:
    path = tmp_path / "frame_keypoints.json"
    path.write_text(json.dumps({"version": 1.3, "people": people}))
    return draw_people(read_people(str(path)), size, **flags)


def colours(canvas: np.ndarray) -> set[tuple[int, ...]]:
    return {tuple(c) for c in canvas.reshape(-1, 3).tolist()}


def test_limb_colour_width_and_end_discs(tmp_path) -> None:
    canvas = render(tmp_path, [person({1: (40, 10), 8: (40, 50), 3: (10, 30), 4: (30, 30)})])
    assert tuple(canvas[30, 37]) == tuple(canvas[30, 42]) == RED  # brush offsets -3..2 around x = 40
    assert not canvas[30, 36].any() and not canvas[30, 43].any()  # 6 pixels wide
    assert tuple(canvas[10, 35]) == RED and not canvas[10, 34].any()  # end disc: radius 6, exclusive
    assert tuple(canvas[27, 20]) == tuple(canvas[32, 20]) == YELLOW  # the horizontal arm: rows 27..32
    assert not canvas[26, 20].any() and not canvas[33, 20].any()
    assert not canvas[:, 60:].any()  # nothing else is drawn


def test_strokes_that_touch_mix_colours() -> None:
    canvas = np.zeros((4, 4, 3), np.uint8)
    stamp(canvas, np.array([0, 1]), np.array([0, 0]), (200, 100, 0))  # all black: the colour
    stamp(canvas, np.array([1, 2]), np.array([0, 0]), (100, 50, 9))  # one is coloured: all get the mean
    assert canvas[:3, 0].tolist() == [[200, 100, 0], [150, 75, 4], [50, 25, 4]]


@pytest.mark.filterwarnings("ignore:Covariance of the parameters")  # two points, two parameters
def test_segments_sample_the_longer_axis_like_a_least_squares_line() -> None:
    xs, ys = segment_pixels(np.array([10.0, 10.0]), np.array([50.0, 10.0]))  # vertical: sampled along y
    assert xs.tolist() == [10] * 40 and ys[0] == 10 and ys[-1] == 50
    assert segment_pixels(np.array([3.0, 3.5]), np.array([4.0, 4.2]))[0].size == 0  # under a pixel: nothing
    optimize = pytest.importorskip("scipy.optimize")
    rng = np.random.default_rng(0)
    for _ in range(200):  # the reference fits the line by least squares; the same pixels on real coordinates
        x, y = rng.uniform(0, 200, 2), rng.uniform(0, 200, 2)
        xs, ys = segment_pixels(x, y)
        if abs(x[1] - x[0]) < abs(y[1] - y[0]):
            (a, b), _ = optimize.curve_fit(lambda t, a, b: a * t + b, y, x)
            assert np.array_equal(xs, (a * np.linspace(y.min(), y.max(), int(abs(y[1] - y[0]))) + b).astype(int))
        else:
            (a, b), _ = optimize.curve_fit(lambda t, a, b: a * t + b, x, y)
            assert np.array_equal(ys, (a * np.linspace(x.min(), x.max(), int(abs(x[1] - x[0]))) + b).astype(int))


def test_low_confidence_points_are_not_drawn(tmp_path) -> None:
    eyebrow = {i: (20 + 3 * (i - 17), 5) for i in range(17, 22)}
    finger = {0: (60, 40), 1: (60, 44), 2: (60, 48), 3: (60, 52), 4: (60, 56), 5: (64, 44), 6: (64, 48),
              7: (64, 52), 8: (64, 56)}
    full = render(tmp_path, [person({1: (40, 10), 8: (40, 50)}, face=eyebrow, hand=finger)])
    assert (255, 255, 255) in colours(full) and (204, 0, 0) in colours(full) and full[40:58, 62:67].any()
    weak = render(tmp_path, [person({1: (40, 10), 8: (40, 50, 0.005)}, face={**eyebrow, 19: (26, 5, 0.05)},
                                    hand={**finger, 8: (64, 56, 0.005)})])
    assert not weak[:, 30:50].any()  # body point at confidence 0.005 <= 0.01: no spine
    assert not weak[:12].any()  # one face point at 0.05 <= 0.1 drops its whole polyline
    assert (204, 0, 0) in colours(weak) and not weak[:, 62:].any()  # a weak joint drops its whole finger


def test_basic_point_only_and_random_drop(tmp_path) -> None:
    face = {i: (20 + 2 * (i - 36), 20) for i in range(36, 40)} | {40: (24, 22), 41: (22, 22)}
    people = [person(BODY, face=face, hand={i: (230, 20 + 4 * i) for i in range(5)})]  # eye, thumb
    full = colours(render(tmp_path, people, size=(W, H)))
    basic = colours(render(tmp_path, people, size=(W, H), basic_point_only=True))
    assert {(153, 0, 153), (204, 0, 0), (255, 255, 255)} <= full  # head segment, thumb, eye
    assert (153, 0, 51) in basic and not {(153, 0, 153), (204, 0, 0), (255, 255, 255)} & basic  # neck first
    assert not render(tmp_path, people, size=(W, H), drop_prob=1.0).any()  # every part dropped


def test_two_people_are_added_with_8_bit_wrap_around(tmp_path) -> None:
    a, b = person({1: (40, 10), 8: (40, 50)}), person({3: (20, 30), 4: (60, 30)})
    both = render(tmp_path, [a, b])
    people = read_people(str(tmp_path / "frame_keypoints.json"))
    assert len(people) == 2 and isinstance(people[0], Person) and not people[1].hands[1].any()
    alone = [render(tmp_path, [p]).astype(int) for p in (a, b)]
    assert np.array_equal(both, (alone[0] + alone[1]) % 256)
    assert tuple(both[45, 40]) == RED and tuple(both[30, 25]) == YELLOW  # each person where it is alone
    assert tuple(both[30, 40]) == (50, 153, 0)  # the crossing: 153 + 153 wraps to 50


def test_bad_keypoint_files_are_reported(tmp_path) -> None:
    (tmp_path / "a.json").write_text(json.dumps({"people": [{"pose_keypoints_2d": [1.0] * 54}]}))
    with pytest.raises(DataError, match="holds 54 numbers, expected 75"):
        read_people(str(tmp_path / "a.json"))
    (tmp_path / "b.json").write_text("{")
    with pytest.raises(DataError, match="cannot read OpenPose keypoints"):
        read_people(str(tmp_path / "b.json"))


def iuv_map(parts: dict[int, tuple[slice, slice]]) -> np.ndarray:
    """(H, W, 3) IUV image: U = 10 * part, V = 200, part index in the third channel, 0 = background."""
    iuv = np.zeros((H, W, 3), np.uint8)
    for part, (rows, cols) in parts.items():
        iuv[rows, cols] = (10 * part, 200, part)
    return iuv


HEAD = (slice(2, 13), slice(120, 137))  # part 23: columns 56..72 of the central half
PARTS = {1: (slice(16, 40), slice(118, 139)), 12: (slice(40, 60), slice(130, 140)), 23: HEAD}


def write_pose_dataset(root: Path, body: dict = BODY, n_frames: int = 6) -> None:
    """One sequence of ``n_frames`` random frames, the IUV map of PARTS and ``body`` moving right by 1 px."""
    rng = np.random.default_rng(0)
    for kind in ("img", "densepose", "openpose"):
        (root / f"train_{kind}" / "seq0").mkdir(parents=True)
    for t in range(n_frames):
        stem = f"train_%s/seq0/frame{t:04d}"
        Image.fromarray(rng.integers(0, 256, (H, W, 3), dtype=np.uint8)).save(root / (stem % "img" + ".png"))
        Image.fromarray(iuv_map(PARTS)).save(root / (stem % "densepose" + "_IUV.png"))
        people = {"people": [person({k: (x + t, y) for k, (x, y) in body.items()})]}
        (root / (stem % "openpose" + "_keypoints.json")).write_text(json.dumps(people))


def train_opt(root: Path, *extra: str):  # noqa: ANN201
    return TrainOptions().parse(["--dataroot", str(root), *TINY, *extra], save=False, verbose=False)


def test_pose_resize_modes_round_as_the_reference() -> None:
    def params(mode: str, load: int, fine: int) -> ImageParams:
        return get_img_params(argparse.Namespace(resize_or_crop=mode, loadSize=load, fineSize=fine), (1920, 1080),
                              PoseMode.allow_flip)

    assert params("scaleHeight", 256, 256).new_size == (448, 256)  # 455 -> 456 (multiple of 4) -> 448 (of 32)
    fixed = params("ScaleHeight_and_scaledCrop", 384, 256)  # capital S: no scaling, a 256-high crop
    assert (fixed.new_size, fixed.crop_size) == ((1920, 1080), (448, 256)) and not fixed.flip
    assert 0 <= fixed.crop_pos[0] <= 2 * 736 and 0 <= fixed.crop_pos[1] <= 135  # x near the centre, y top 1/8
    for _ in range(20):
        drawn = params("randomScaleHeight_and_scaledCrop", 384, 256)
        w, h = drawn.new_size
        assert 256 <= h <= 384 and h % 4 == 0 and w % 4 == 0 and drawn.crop_size == (448, 256)


def test_label_channels_and_the_mode_rules(tmp_path) -> None:
    write_pose_dataset(tmp_path)
    opt = train_opt(tmp_path)
    assert get_mode("pose") is PoseMode and (opt.label_nc, opt.input_nc) == (0, 6)
    assert PoseMode.label_channels(opt) == 6 and PoseMode.allow_flip is False
    for flag in ("--densepose_only", "--openpose_only"):
        assert PoseMode.label_channels(train_opt(tmp_path, flag, "--input_nc", "3")) == 3
    with pytest.raises(DataError, match="--label_nc 0 --input_nc 3"):
        create_dataset(train_opt(tmp_path, "--densepose_only"))
    with pytest.raises(DataError, match="at least 128 pixels wide"):
        create_dataset(train_opt(tmp_path, "--resize_or_crop", "resize"))[0]  # 64 x 64
    dataset = TemporalDataset(opt)  # 6 frames, 4 read: clips start at index % 3, as in the reference
    assert [dataset[i].frame_index for i in range(4)] == [3, 4, 5, 3]


def test_clip_shapes_and_iuv_values(tmp_path) -> None:
    write_pose_dataset(tmp_path)
    clip = create_dataset(train_opt(tmp_path, "--random_drop_prob", "0"))[0]
    assert clip.label.shape == (4, 6, H, 128) and clip.real.shape == (4, 3, H, 128) and clip.instance is None
    assert clip.label.min() >= -1 and clip.label.max() <= 1 and clip.real.min() >= -1
    assert clip.frame_paths[0].endswith("train_img/seq0/frame0000.png")
    iuv = clip.label[0, :3]
    for part, (rows, cols) in PARTS.items():
        y, x = rows.start + 1, cols.start + 1 - 64
        assert iuv[2, y, x].item() == pytest.approx(2 * part / 24 - 1, abs=1e-6)  # part p -> 2p/24 - 1
        assert iuv[0, y, x].item() == pytest.approx(10 * part / 127.5 - 1, abs=1e-6)
        assert iuv[1, y, x].item() == pytest.approx(200 / 127.5 - 1, abs=1e-6)
    assert iuv[2, 0, 0] == -1 and iuv[0, 0, 0] == -1  # background
    drawn = draw_people(read_people(clip.frame_paths[0].replace("_img", "_openpose")[:-4] + "_keypoints.json"),
                        (W, H))  # at the stored size, then the central half
    assert torch.equal(clip.label[0, 3:], torch.from_numpy(drawn[:, 64:192].astype(np.float32)).permute(2, 0, 1)
                       / 127.5 - 1)


def test_densepose_parts_dropped_in_training_only(tmp_path) -> None:
    write_pose_dataset(tmp_path)
    no_face = create_dataset(train_opt(tmp_path, "--random_drop_prob", "0", "--remove_face_labels"))[0].label
    assert (no_face[:, 2, 2:13, 56:73] == -1).all() and (no_face[:, :3, 2:13, 56:73] == -1).all()
    assert (no_face[:, 2, 20, 60] == 2 / 24 - 1).all()  # the torso stays
    dropped = create_dataset(train_opt(tmp_path, "--random_drop_prob", "1"))[0].label
    assert (dropped == -1).all()  # every DensePose part and every skeleton part dropped
    test_argv = ["--dataroot", str(tmp_path), "--phase", "train", "--dataset_mode", "pose", "--use_real_img",
                 "--loadSize", "64", "--resize_or_crop", "scaleHeight", "--nThreads", "0", "--random_drop_prob",
                 "1", "--remove_face_labels"]
    window = TestDataset(TestOptions().parse(test_argv, save=False, verbose=False))[0]
    assert window.label.shape == (3, 6, H, 128) and window.real.shape == (3, 3, H, 128)
    assert (window.label[:, 2, 5, 60] == 2 * 23 / 24 - 1).all() and (window.label[:, 3:] > -1).any()


def test_face_region_of_the_face_discriminator(tmp_path) -> None:
    write_pose_dataset(tmp_path)
    opt = train_opt(tmp_path, "--add_face_disc", "--random_drop_prob", "0")
    label = create_dataset(opt)[0].label  # (T, 6, 64, 128); head pixels rows 2..12, columns 56..72
    # centre (7, 64), moved down to 8 so that the 16-pixel square (fineSize // 32 * 8) stays inside
    assert DiscriminatorModel(opt).face_region(label) == (0, 16, 56, 72)
    # --openpose_only: the face D looks for the pure colour of the nose-neck segment (drawn here first)
    write_pose_dataset(tmp_path / "neck", body={0: (128, 8), 1: (128, 16), 8: (128, 40)})
    op_opt = train_opt(tmp_path / "neck", "--add_face_disc", "--openpose_only", "--input_nc", "3",
                       "--random_drop_prob", "0")
    box = DiscriminatorModel(op_opt).face_region(create_dataset(op_opt)[0].label)
    assert box is not None and box[:2] == (0, 16) and box[2] < 64 < box[3]


@pytest.mark.parametrize("face_disc", [False, True])
def test_train_one_iteration_on_poses(tmp_path, monkeypatch, face_disc: bool) -> None:
    write_pose_dataset(tmp_path / "data")
    monkeypatch.chdir(tmp_path)  # TensorBoard writes runs/<name> in the working directory
    extra = ["--add_face_disc"] if face_disc else []
    opt = train_opt(tmp_path / "data", "--name", "pose", "--checkpoints_dir", str(tmp_path / "ck"), "--label_nc",
                    "0", "--input_nc", "6", "--print_freq", "1", "--random_drop_prob", "0", *extra)
    assert load_script("train.py").train(opt, max_steps=1) == 0
    run = tmp_path / "ck" / "pose"
    g0 = torch.load(run / "latest_net_G0.pth", weights_only=True)
    assert g0["model_down_seg.1.weight"].shape[1] == 3 * 6  # n_frames_G x the mode's 6 channels
    assert (run / "latest_net_D_f.pth").is_file() == face_disc
    assert ("G_f_GAN=" in (run / "loss_log.txt").read_text()) == face_disc
    if face_disc:  # and test.py on the same sequence: frames, page and video, flags from the run's opt.json
        for kind in ("img", "densepose", "openpose"):
            shutil.copytree(tmp_path / "data" / f"train_{kind}", tmp_path / "data" / f"test_{kind}")
        test_py = load_script("test.py")
        assert test_py.main(["--name", "pose", "--dataroot", str(tmp_path / "data"), "--dataset_mode", "pose",
                             "--checkpoints_dir", str(tmp_path / "ck"), "--results_dir", str(tmp_path / "results"),
                             "--resize_or_crop", "scaleHeight", "--nThreads", "0", "--use_real_img"]) == 0
        out = tmp_path / "results" / "pose" / "test_latest"
        assert len(list((out / "seq0").glob("fake_B_*.jpg"))) == 6 - 2
        assert (out / "index.html").is_file() and (out / "videos" / "seq0.mp4").stat().st_size > 0


@pytest.mark.parametrize("manifest", ["e_pose2body_256p_g1_train.json", "e2_pose2body_256p_facedisc_train.json"])
def test_reference_pose_configurations(manifest: str, tmp_path) -> None:
    reference = json.loads((MANIFESTS / manifest).read_text())
    argv = [str(tmp_path) if a == "datasets/pose" else a for a in reference["argv"]]
    opt = TrainOptions().parse(argv, save=False, verbose=False)
    assert PoseMode.label_channels(opt) * opt.n_frames_G == 18
    with torch.device("meta"):  # these networks are big: shapes only
        nets = build_networks(opt)
    assert nets["G0"].state_dict()["model_down_seg.1.weight"].shape[1] == 18
    for (label, net), entry in zip(nets.items(), reference["networks"], strict=True):
        shapes = [(k, list(v.shape)) for k, v in net.state_dict().items()]
        assert shapes == [(e["key"], e["shape"]) for e in entry["state_dict"]], label


def test_pose_epoch_has_one_item_per_start_frame_and_draws_sequences_by_that_count(tmp_path) -> None:
    """As the reference's pose dataset: len = all start frames (frames - n_frames_G + 1 per sequence), each item's
    sequence drawn with probability proportional to its count (the folder modes keep one item per sequence)."""
    write_pose_dataset(tmp_path, n_frames=6)
    for kind in ("img", "densepose", "openpose"):  # a second, longer sequence
        src, dst = tmp_path / f"train_{kind}" / "seq0", tmp_path / f"train_{kind}" / "seq1"
        shutil.copytree(src, dst)
        for path in sorted(src.iterdir()):
            shutil.copy(path, dst / path.name.replace("frame", "more"))
    dataset = TemporalDataset(train_opt(tmp_path, "--label_nc", "0", "--input_nc", "6"))
    assert len(dataset) == (6 - 2) + (12 - 2)  # n_frames_G 3
    torch.manual_seed(0)
    picks = [dataset.sequence_of(i) for i in range(3000)]
    assert abs(picks.count(1) / len(picks) - 10 / 14) < 0.03
