"""models/export.py and scripts/export.py: the generator step through torch.export gives PyTorch's frames."""
from __future__ import annotations

import os

import torch

from tests.helpers import load_script
from tests.test_test_py import TINY_FLAGS, tiny_setup

export = load_script("scripts/export.py")


def test_the_exported_step_matches_eager_and_is_written_only_when_it_does(tmp_path, capsys, monkeypatch) -> None:
    tiny_setup(tmp_path)
    out = tmp_path / "step.pt2"
    run = ["--name", "tiny", "--checkpoints_dir", str(tmp_path / "ck")]
    argv = [*run, "--width", "128", "--height", "64", "--output", str(out), *TINY_FLAGS]
    assert export.main(argv) == 0
    printed = capsys.readouterr().out
    difference = float(printed.split("largest difference to PyTorch ")[1].split()[0])
    assert out.is_file() and difference <= 1e-4
    program = torch.export.load(str(out)).module()
    synth = export.Synthesizer.from_run("tiny", str(tmp_path / "ck"), flags=["--no_first_img", *TINY_FLAGS])
    labels, instances, prev = export.example_inputs(synth, 128, 64, seed=5)
    with torch.no_grad():
        eager = export.GeneratorStep(synth.model)(labels, instances, *prev)
        exported = program(labels, instances, *prev)
    assert len(exported) == 1 + 2 and exported[0].shape == (1, 3, 64, 128)  # the frame + 2 scales of history
    assert max(float((a - b).abs().max()) for a, b in zip(eager, exported, strict=True)) <= 1e-4

    assert export.main([*run, "--width", "100", "--height", "64", "--output", str(tmp_path / "bad.pt2"),
                        *TINY_FLAGS]) == 1
    assert "must be multiples of 8" in capsys.readouterr().err and not (tmp_path / "bad.pt2").exists()
    monkeypatch.setattr(export, "TOLERANCE", -1.0)  # as if the program computed something else
    before = sorted(tmp_path.rglob("*"))
    assert export.main([*run, "--width", "128", "--height", "64", "--output", str(tmp_path / "new" / "off.pt2"),
                        *TINY_FLAGS]) == 1
    assert "nothing written" in capsys.readouterr().err
    assert sorted(tmp_path.rglob("*")) == before  # no file, no temporary, not even the folder it made
    (tmp_path / "folder").mkdir()
    before = sorted(tmp_path.rglob("*"))
    assert export.main([*run, "--width", "128", "--height", "64", "--output", str(tmp_path / "folder"),
                        *TINY_FLAGS]) == 1
    assert f"--output {tmp_path / 'folder'} is a folder; give the file to write" in capsys.readouterr().err
    if os.path.isdir("/proc/self"):  # Linux: nobody may create files there
        assert export.main([*run, "--width", "128", "--height", "64", "--output", "/proc/self/step.pt2",
                            *TINY_FLAGS]) == 1
        err = capsys.readouterr().err
        assert "export: error: cannot write --output /proc/self/step.pt2 (" in err and "Traceback" not in err
    assert sorted(tmp_path.rglob("*")) == before
