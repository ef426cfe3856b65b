"""scripts/stream.py: a folder of label maps or an RGB video in, an mp4 and frames/s out; clear errors."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from tests.helpers import load_script
from tests.test_test_py import TINY_FLAGS, tiny_setup, write_checkpoints
from util.video import read_mp4_info

REPO = Path(__file__).resolve().parents[2]
VIDEO = REPO / "tests" / "data" / "media" / "walking_5frames.mp4"
stream = load_script("scripts/stream.py")


def test_label_maps_stream_to_an_mp4_with_test_pys_frames(tmp_path, capsys) -> None:
    tiny_setup(tmp_path)
    data, out = tmp_path / "data", tmp_path / "stream.mp4"
    code = stream.main(["--name", "tiny", "--checkpoints_dir", str(tmp_path / "ck"), "--input",
                        str(data / "test_A" / "seq_a"), "--instance", str(data / "test_inst" / "seq_a"), "--real",
                        str(data / "test_B" / "seq_a"), "--output", str(out), "--", *TINY_FLAGS])  # --real: real 1st
    printed = capsys.readouterr().out
    assert code == 0, printed
    info = read_mp4_info(str(out))
    assert info["n_frames"] == 3 and info["size"] == (256, 64)  # 5 inputs - 2 history; input | output
    assert "done: 3 generated" in printed and "frames/s" in printed and "latency" in printed


def test_an_edge_run_streams_from_rgb_frames(tmp_path, capsys) -> None:
    flags = ["--label_nc", "0", "--input_nc", "1", "--ngf", "8", "--n_downsample_G", "2", "--n_blocks", "1",
             "--loadSize", "128", "--gpu_ids", "-1", "--no_first_img"]
    write_checkpoints(["--name", "edges", "--checkpoints_dir", str(tmp_path), *flags])
    out = tmp_path / "edges.mp4"
    code = stream.main(["--name", "edges", "--checkpoints_dir", str(tmp_path), "--input", str(VIDEO), "--derive",
                        "edges", "--size", "128", "--output", str(out), "--", *flags])
    assert code == 0, capsys.readouterr()
    info = read_mp4_info(str(out))
    assert info["n_frames"] == 3 and info["size"] == (256, 64)  # 128x72 Canny map loads as 128x64: input | output


def test_missing_camera_display_and_run_are_one_line(tmp_path, capsys, monkeypatch) -> None:
    def failure(argv: list[str], *expected: str) -> None:
        assert stream.main(argv) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("stream: error: "), err
        for text in expected:
            assert text in err[0], err

    flags = ["--label_nc", "0", "--input_nc", "1", "--ngf", "8", "--n_downsample_G", "2", "--n_blocks", "1",
             "--loadSize", "128", "--gpu_ids", "-1", "--no_first_img"]
    write_checkpoints(["--name", "edges", "--checkpoints_dir", str(tmp_path), *flags])
    base = ["--name", "edges", "--checkpoints_dir", str(tmp_path)]
    failure([*base, "--camera", "9", "--derive", "edges", "--", *flags], "no camera 9", "--input")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    failure([*base, "--camera", "0", "--show", "--", *flags], "--show needs a display", "--output")
    failure(["--name", "nobody", "--checkpoints_dir", str(tmp_path), "--input", str(VIDEO), "--", *flags], "nobody")
    tiny_setup(tmp_path / "labels")
    failure(["--name", "tiny", "--checkpoints_dir", str(tmp_path / "labels" / "ck"), "--camera", "0", "--",
             *TINY_FLAGS, "--no_first_img"], "reads label maps", "--input")
    short = tmp_path / "two"
    short.mkdir()
    for i in range(2):
        Image.fromarray(np.zeros((72, 128, 3), np.uint8)).save(short / f"{i}.png")
    failure([*base, "--input", str(short), "--derive", "edges", "--output", str(tmp_path / "x.mp4"), "--", *flags],
            "2 input frame(s)", "3")
    assert not (tmp_path / "x.mp4").exists()


def test_ctrl_c_ends_a_stream_and_keeps_its_video(tmp_path, capsys, monkeypatch) -> None:
    """A camera stream ends with Ctrl-C: the frames generated so far are a complete mp4, exit 130, one line."""
    tiny_setup(tmp_path)
    data, out = tmp_path / "data", tmp_path / "stream.mp4"
    step = stream.Synthesizer.step
    outputs = []

    def interrupted_after_two_outputs(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        if len(outputs) == 2:
            raise KeyboardInterrupt
        result = step(self, *args, **kwargs)
        if result is not None:
            outputs.append(result)
        return result

    monkeypatch.setattr(stream.Synthesizer, "step", interrupted_after_two_outputs)
    code = stream.main(["--name", "tiny", "--checkpoints_dir", str(tmp_path / "ck"), "--input",
                        str(data / "test_A" / "seq_a"), "--instance", str(data / "test_inst" / "seq_a"), "--real",
                        str(data / "test_B" / "seq_a"), "--output", str(out), "--", *TINY_FLAGS])
    err = capsys.readouterr().err
    assert code == 130 and "Traceback" not in err
    assert err.strip().splitlines()[-1] == f"stream: interrupted (Ctrl-C); the 2 frames generated so far are in {out}"
    assert read_mp4_info(str(out))["n_frames"] == 2
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp")) == []  # no temporary mp4 left


def test_an_output_that_cannot_be_written_is_one_line(tmp_path, capsys) -> None:
    """A folder as --output (it was a traceback and a left-over temporary mp4) or an unwritable one (ffmpeg's
    multi-line report): one line naming --output, nothing left behind."""
    tiny_setup(tmp_path)
    data = tmp_path / "data"
    argv = ["--name", "tiny", "--checkpoints_dir", str(tmp_path / "ck"), "--input", str(data / "test_A" / "seq_a"),
            "--instance", str(data / "test_inst" / "seq_a"), "--real", str(data / "test_B" / "seq_a")]
    outputs = [(str(data), f"stream: error: --output {data} is a folder; give the mp4 to write")]
    if Path("/proc/self").is_dir():
        outputs.append(("/proc/self/stream.mp4", "stream: error: cannot write --output /proc/self/stream.mp4 ("))
    before = sorted(tmp_path.rglob("*"))
    for output, message in outputs:
        assert stream.main([*argv, "--output", output, "--", *TINY_FLAGS]) == 1
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert sorted(tmp_path.rglob("*")) == before
