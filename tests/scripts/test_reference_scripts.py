"""The reference vid2vid's script names: the download entries (help, checksum refusal, offline report, against a
local server and closed ports, never the internet) and the shell recipes (every one runs with a stand-in python
that records its command line, whose flags must then parse with our TrainOptions / TestOptions)."""
from __future__ import annotations

import importlib
import io
import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest
from http_file_server import FileServer, closed_port_url  # tests/util is on sys.path (tests/conftest.py)

from options import TestOptions, TrainOptions

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = REPO_ROOT / "scripts"
EIGHT_GPUS = "0,1,2,3,4,5,6,7"
WRONG_SHA256 = "0" * 64


@dataclass(frozen=True)
class Download:
    """One download script: where its file goes and which module's Google Drive link it uses."""

    script: str  # path under scripts/
    file_name: str  # what it downloads
    drive_id: str
    dest_flag: str  # the flag choosing where the file goes
    model: tuple[str, ...] = ()  # the generic download_models.py needs --model

    @property
    def module(self) -> ModuleType:
        return importlib.import_module("scripts." + self.script.removesuffix(".py").replace("/", "."))

    @property
    def prog(self) -> str:
        return self.script.removesuffix(".py")

    def argv(self, tmp_path: Path) -> tuple[list[str], Path]:
        """The flags placing the file under ``tmp_path``, and the path the file would get."""
        if self.dest_flag == "--out":
            destination = tmp_path / "out" / self.file_name
            return ["--out", str(destination)], destination
        folder = tmp_path / "dest"
        return [*self.model, self.dest_flag, str(folder)], folder / self.file_name


FLOWNET2 = ("FlowNet2_checkpoint.pth.tar", "1E8re-b6csNuo-abg1vJKCDjCzlIam50F", "--out")
DOWNLOADS = [
    Download("download_datasets.py", "datasets.zip", "1rPcbnanuApZeo2uc7h55OneBkbcFCnnf", "--datasets_dir"),
    Download("download_flownet2.py", *FLOWNET2),
    Download("download_models_flownet2.py", *FLOWNET2),
    Download("download_models.py", "models.zip", "1MKtImgtnGC28EPU7Nh9DfFpHW6okNVkl", "--checkpoints_dir",
             model=("--model", "label2city")),
    Download("street/download_models.py", "models.zip", "1MKtImgtnGC28EPU7Nh9DfFpHW6okNVkl", "--checkpoints_dir"),
    Download("street/download_models_g1.py", "models_g1.zip", "1QoE1p3QikxNVbbTBWWRDtIspg-RcLE8y",
             "--checkpoints_dir"),
    Download("face/download_models.py", "models_face.zip", "10LvNw-2lrh-6sPGkWbQDfHspkqz5AKxb", "--checkpoints_dir"),
]
IDS = [download.script for download in DOWNLOADS]

# Every recipe of the reference's scripts/{street,face,pose} folders, by the names it used.
RECIPES = {
    "street": ["test_2048.sh", "test_g1_1024.sh", "train_1024.sh", "train_2048.sh", "train_2048_crop.sh",
               "train_512.sh", "train_512_bs.sh", "train_512_bs6.sh", "train_512_no_fg.sh", "train_g1_1024.sh",
               "train_g1_256.sh", "train_g1_512.sh"],
    "face": ["test_512.sh", "test_g1_256.sh", "test_g1_512.sh", "train_512.sh", "train_512_bs7.sh",
             "train_g1_256.sh", "train_g1_512.sh"],
    "pose": ["test_1024p.sh", "test_256p.sh", "test_512p.sh", "test_g1_1024p.sh", "test_g1_256p.sh",
             "test_g1_512p.sh", "train_1024p.sh", "train_256p.sh", "train_512p.sh", "train_g1_1024p.sh",
             "train_g1_256p.sh", "train_g1_512p.sh"],
}
RECIPE_PATHS = [f"{folder}/{name}" for folder, names in RECIPES.items() for name in names]


@pytest.fixture(autouse=True)
def no_internet(monkeypatch: pytest.MonkeyPatch) -> None:
    """Point every Google Drive link at a closed local port: a test must never download from the internet."""
    for module in ("scripts.download_datasets", "scripts.download_flownet2", "scripts.download_models"):
        monkeypatch.setattr(importlib.import_module(module), "google_drive_url", closed_port_url)


# ---------------------------------------------------------------------------------------------- downloads
@pytest.mark.parametrize("download", DOWNLOADS, ids=IDS)
def test_every_download_script_answers_help_from_any_folder(download: Download, tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, str(SCRIPTS / download.script), "--help"], capture_output=True,
                            text=True, cwd=tmp_path, timeout=120)  # not the repo root: sys.path is the script's job
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: ") and "--url" in result.stdout and "--sha256" in result.stdout
    assert download.dest_flag in result.stdout


@pytest.mark.parametrize("download", DOWNLOADS, ids=IDS)
def test_wrong_checksum_removes_the_download_and_fails(download: Download, server: FileServer, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture) -> None:
    server.files[download.file_name] = b"these bytes are not the published file"
    flags, destination = download.argv(tmp_path)
    code = download.module.main([*flags, "--url", f"{server.url}/files/{download.file_name}",
                                 "--sha256", WRONG_SHA256])
    assert code == 1
    err = capsys.readouterr().err
    (line,) = [line for line in err.splitlines() if ": error: " in line]  # besides the progress bar
    assert line.startswith(f"{download.prog}: error: ") and "Traceback" not in err
    assert f"{download.file_name}: SHA-256 mismatch, expected {WRONG_SHA256}" in line
    assert "the download was removed" in line
    assert not destination.exists() and not list(tmp_path.rglob("*.part")), "a refused file must not be kept"
    assert server.requests_to(f"/files/{download.file_name}"), "the mirror was not asked"


@pytest.mark.parametrize("download", DOWNLOADS, ids=IDS)
def test_offline_lists_each_source_then_the_steps_by_hand(download: Download, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture) -> None:
    flags, destination = download.argv(tmp_path)
    mirror = closed_port_url(f"mirror/{download.file_name}")
    assert download.module.main([*flags, "--url", mirror]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[0].startswith(f"{download.prog}: error: download failed: this machine cannot reach ")
    assert lines[0].endswith("(offline or blocked); sources tried:")
    # one line per source, in the order tried: the mirror, then the (here closed) Google Drive link
    assert lines[1] == f"  {mirror}: connection refused"
    assert lines[2].startswith("  http://127.0.0.1:") and lines[2].endswith(f"/{download.drive_id}: connection refused")
    by_hand = "\n".join(lines[3:])
    assert lines[3].startswith("by hand: ") and f"download {download.file_name} from " in lines[3]
    assert f"https://drive.google.com/file/d/{download.drive_id}/view" in lines[3]
    assert f"put it at {destination} and run this script again" in by_hand
    datasets = download.script == "download_datasets.py"
    assert len(lines) == 3 + 2 + datasets  # headline, two sources, two by-hand lines (+ the offline alternative)
    if datasets:
        assert lines[-1].startswith("offline instead: python scripts/make_sample_dataset.py")
    assert not destination.exists()


def test_datasets_zip_is_unpacked_but_never_mixed_into_existing_folders(server: FileServer, tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture) -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zip_file:
        zip_file.writestr("Cityscapes/test_A/seq/000000.png", b"label")
        zip_file.writestr("face/train_img/seq/00000.png", b"frame")
    server.files["datasets.zip"] = archive.getvalue()
    datasets = tmp_path / "datasets"
    (datasets / "Cityscapes").mkdir(parents=True)  # e.g. the synthetic sample dataset
    module = importlib.import_module("scripts.download_datasets")
    argv = ["--datasets_dir", str(datasets), "--url", f"{server.url}/files/datasets.zip"]
    assert module.main(argv) == 1
    (line,) = [line for line in capsys.readouterr().err.splitlines() if ": error: " in line]
    assert f"{datasets / 'Cityscapes'} already exist(s)" in line and "--merge" in line
    assert (datasets / "datasets.zip").is_file() and not (datasets / "face").exists()
    assert module.main([*argv, "--merge"]) == 0
    assert (datasets / "Cityscapes" / "test_A" / "seq" / "000000.png").read_bytes() == b"label"
    assert (datasets / "face" / "train_img" / "seq" / "00000.png").is_file()
    assert not (datasets / "datasets.zip").exists()
    assert len(server.requests_to("/files/datasets.zip")) == 1, "the kept zip must be reused, not fetched again"


# ---------------------------------------------------------------------------------------------- recipes
@pytest.fixture
def recorder(tmp_path: Path) -> tuple[Path, Path]:
    """A stand-in python for the recipes (PYTHON=...): it writes its folder and arguments and exits."""
    stub = tmp_path / "python"
    stub.write_text('#!/usr/bin/env bash\npwd > "$RECORD.cwd"\nprintf \'%s\\0\' "$@" > "$RECORD"\n')
    stub.chmod(0o755)
    return stub, tmp_path / "argv"


def run_recipe(recipe: str, recorder: tuple[Path, Path], *extra: str) -> tuple[Path, list[str]]:
    stub, record = recorder
    env = {**os.environ, "PYTHON": str(stub), "RECORD": str(record)}
    result = subprocess.run(["bash", str(SCRIPTS / recipe), *extra], capture_output=True, text=True, env=env,
                            cwd=record.parent, timeout=30)  # not the repo root: the recipe must cd there itself
    assert result.returncode == 0, result.stderr
    argv = record.read_bytes().decode().split("\0")[:-1]
    return Path(Path(f"{record}.cwd").read_text().strip()), argv


def parse_flags(entry: str, flags: list[str]):  # noqa: ANN201 (an argparse namespace)
    options = TrainOptions() if entry == "train.py" else TestOptions()
    return options.parse(flags, save=False, verbose=False)


def test_the_recipe_folders_hold_the_reference_names() -> None:
    for folder, names in RECIPES.items():
        assert sorted(path.name for path in (SCRIPTS / folder).glob("*.sh")) == sorted(names), folder


@pytest.mark.parametrize("recipe", RECIPE_PATHS)
def test_recipe_runs_from_the_root_and_its_flags_parse(recipe: str, recorder: tuple[Path, Path]) -> None:
    text = (SCRIPTS / recipe).read_text()
    assert text.startswith("#!/usr/bin/env bash\n") and '\nsource "$(dirname "${BASH_SOURCE[0]}")/../recipe.sh"' in text
    assert "set -euo pipefail" in (SCRIPTS / "recipe.sh").read_text()  # the shared part (root, Python, launch)
    assert os.access(SCRIPTS / recipe, os.X_OK)
    entry = "train.py" if recipe.split("/")[1].startswith("train") else "test.py"
    cwd, argv = run_recipe(recipe, recorder)
    assert cwd == REPO_ROOT
    start = argv.index(entry)
    flags = argv[start + 1:]
    multi_gpu = f"--gpu_ids {EIGHT_GPUS}" in " ".join(flags)
    # the reference's eight GPUs get one process each (torchrun); everything else is one plain process
    assert argv[:start] == (["-m", "torch.distributed.run", "--standalone", "--nproc_per_node=8"] if multi_gpu else [])
    opt = parse_flags(entry, flags)
    assert opt.name == flags[flags.index("--name") + 1]

    # Appended flags come last and win: the CPU smoke-test form, always a single process.
    _, argv = run_recipe(recipe, recorder, "--gpu_ids", "-1", "--name", "smoke")
    assert argv[0] == entry and argv[-4:] == ["--gpu_ids", "-1", "--name", "smoke"]
    opt = parse_flags(entry, argv[1:])
    assert opt.gpu_ids == [] and opt.name == "smoke"
    if multi_gpu:  # an appended GPU list sets the number of processes
        _, argv = run_recipe(recipe, recorder, "--gpu_ids=0,1")
        assert argv[:4] == ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
