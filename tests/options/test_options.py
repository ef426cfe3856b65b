"""Options: reference flag names/defaults, help text, validation, saving."""
import json
import math
import subprocess
import sys

import pytest

from data.modes import mode_names
from options import OptionsError, TestOptions, TrainOptions, choices
from options.base_options import format_options, options_to_json

# Values the reference wrote back into its namespace after parsing; here they stay as given and are
# derived where needed (n_gpus_gen -1 = all GPUs; feat_num forced to 16 by the face single-frame G).
DERIVED_IN_REFERENCE = {"n_gpus_gen", "feat_num"}


def manifests(reference_dir):
    return sorted((reference_dir / "manifests").glob("[a-e]*.json"))


def parse(argv, train=True):
    return (TrainOptions() if train else TestOptions()).parse(argv, save=False, verbose=False)


def test_every_manifest_parses_to_reference_namespace(reference_dir):
    files = manifests(reference_dir)
    assert len(files) == 6
    for path in files:
        manifest = json.loads(path.read_text())
        opt = parse(manifest["argv"], train=manifest["mode"] == "train")
        ours = options_to_json(opt)
        reference = manifest["parsed_options"]
        missing = sorted(set(reference) - set(ours))
        assert not missing, f"{path.name}: flags missing: {missing}"
        differing = {k: (ours[k], v) for k, v in reference.items() if ours[k] != v and k not in DERIVED_IN_REFERENCE}
        assert not differing, f"{path.name}: {differing}"


def test_defaults_match_reference_without_flags(reference_dir):
    """With no flags, every reference key has the reference default (manifest values minus its argv)."""
    manifest = json.loads((reference_dir / "manifests" / "c_label2city_256_g1_train.json").read_text())
    given = {arg.lstrip("-") for arg in manifest["argv"] if arg.startswith("--")}
    ours = options_to_json(parse([]))
    assert len([k for k in manifest["parsed_options"]]) == 88
    for key, value in manifest["parsed_options"].items():
        if key in given or key in DERIVED_IN_REFERENCE:
            continue
        assert ours[key] == value, key
    assert ours["n_gpus_gen"] == -1 and ours["fg_labels"] == [26] and ours["gpu_ids"] == [0]
    test_keys = {"results_dir", "how_many", "use_real_img", "start_frame", "ntest", "aspect_ratio"}
    test_opt = options_to_json(parse([], train=False))
    assert test_keys <= set(test_opt)
    assert (test_opt["how_many"], test_opt["results_dir"], test_opt["ntest"]) == (300, "./results/", "inf")
    # the reference's test.py overrides, as defaults
    assert (test_opt["nThreads"], test_opt["serial_batches"], test_opt["no_flip"], test_opt["dataset_mode"]) == (
        1, True, True, "test")
    assert parse(["--nThreads", "4"], train=False).nThreads == 4


@pytest.mark.parametrize("script", ["train.py", "test.py"])
def test_help_lists_every_reference_flag(script, reference_dir):
    manifest = json.loads((reference_dir / "manifests" / "a_label2city_2048_test.json").read_text())
    out = subprocess.run([sys.executable, script, "--help"], capture_output=True, text=True, check=True).stdout
    keys = set(manifest["parsed_options"]) - {"isTrain"}
    if script == "train.py":
        keys -= {"results_dir", "how_many", "use_real_img", "start_frame", "ntest", "aspect_ratio"}
        keys |= set(json.loads((reference_dir / "manifests" / "c_label2city_256_g1_train.json").read_text())
                    ["parsed_options"]) - {"isTrain"}
    for key in keys:
        assert f"--{key} " in out or f"--{key}\n" in out, f"--{key} missing from {script} --help"
    assert "no-op" in out
    # flags are listed in sections, one per concern
    for section in ("run and experiment:", "dataset:", "input frames:", "networks:", "optical flow:",
                    "devices and precision:"):
        assert f"\n{section}\n" in out, section
    assert ("\ndiscriminators and losses:\n" in out) == (script == "train.py")
    assert ("\ninference:\n" in out) == (script == "test.py")


def test_list_and_inf_types():
    opt = parse(["--gpu_ids", "-1", "--fg_labels", "24,26", "--label_nc", "35", "--fg", "--max_dataset_size", "7"])
    assert opt.gpu_ids == [] and opt.fg_labels == [24, 26] and opt.max_dataset_size == 7
    assert math.isinf(parse([]).max_dataset_size)


@pytest.mark.parametrize("argv, message", [
    (["--resize_or_crop", "scaleWidth_and_crop", "--loadSize", "256", "--fineSize", "512"], "--fineSize 512 >"),
    (["--resize_or_crop", "randomScaleHeight", "--loadSize", "256", "--fineSize", "512"], "--fineSize 512 >"),
    (["--loadSize", "224", "--n_downsample_G", "4", "--n_scales_spatial", "3"], "not divisible by 2^(n_downsample_G"),
    (["--resize_or_crop", "stretch"], "--resize_or_crop 'stretch'"),
    (["--batchSize", "0"], "--batchSize must be >= 1"),
    (["--n_frames_total", "-3"], "--n_frames_total must be >= 1"),
    (["--niter", "-1"], "--niter must be >= 0"),
    (["--n_frames_G", "1"], "--n_frames_G must be >= 2"),
    (["--fg"], "--fg needs semantic labels"),
    (["--label_nc", "20", "--fg"], "--fg_labels 26"),
    (["--label_nc", "300"], "at most 256"),
    (["--n_frames_D", "1"], "--n_frames_D must be >= 2"),
    (["--lr", "0"], "--lr must be > 0"),
    (["--continue_train", "--load_pretrain", "checkpoints/x"], "pass only one"),
    (["--fp16", "--bf16"], "pass only one of them"),
])
def test_bad_values_raise_clear_errors(argv, message):
    with pytest.raises(OptionsError) as error:
        parse(argv)
    assert message in str(error.value)


def test_bad_test_values():
    with pytest.raises(OptionsError, match="--batchSize 2"):
        parse(["--batchSize", "2"], train=False)
    with pytest.raises(OptionsError, match="--how_many must be >= 1"):
        parse(["--how_many", "0"], train=False)


def test_reference_scripts_substring_modes_accepted():
    opt = parse(["--resize_or_crop", "ScaleHeight_and_scaledCrop", "--loadSize", "384", "--fineSize", "256"])
    assert opt.resize_or_crop == "ScaleHeight_and_scaledCrop"
    parse(["--loadSize", "2048", "--fineSize", "1024", "--resize_or_crop", "crop", "--n_scales_spatial", "3"])
    parse(["--loadSize", "896", "--n_scales_spatial", "3", "--n_downsample_G", "2"])


def test_cli_error_is_one_line_and_saves_nothing(tmp_path):
    result = subprocess.run([sys.executable, "train.py", "--batchSize", "0", "--checkpoints_dir", str(tmp_path)],
                            capture_output=True, text=True)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1] == "train.py: error: --batchSize must be >= 1, got 0"
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_options_saved_as_txt_and_json(tmp_path, capsys):
    opt = TrainOptions().parse(["--name", "run1", "--checkpoints_dir", str(tmp_path), "--label_nc", "35"])
    printed = capsys.readouterr().out
    assert "label_nc: 35" in printed
    folder = tmp_path / "run1"
    assert "label_nc: 35" in (folder / "opt.txt").read_text()
    saved = json.loads((folder / "opt.json").read_text())
    assert saved["label_nc"] == 35 and saved["max_dataset_size"] == "inf" and saved["isTrain"] is True
    assert sorted(p.name for p in folder.iterdir()) == ["opt.json", "opt.txt"]
    assert opt.name == "run1"


@pytest.mark.parametrize("flag, value, allowed", [
    ("--netG", "global", choices.NETG_CHOICES),
    ("--norm", "group", choices.NORM_TYPES),
    ("--gan_mode", "wgan", choices.GAN_MODES),
    ("--flow_net", "pwcnet", choices.FLOW_NETS),
])
def test_closed_choices_fail_at_parse_time(flag, value, allowed, tmp_path, capsys):
    """A value outside a closed set stops the script with argparse's exit code 2 and one line naming the flag
    and every allowed value, before anything is written."""
    with pytest.raises(SystemExit) as stop:
        TrainOptions().parse_cli([flag, value, "--checkpoints_dir", str(tmp_path)])
    assert stop.value.code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert "error: argument " + flag in last and repr(value) in last
    assert all(repr(choice) in last for choice in allowed), last
    assert list(tmp_path.iterdir()) == []


def test_every_listed_choice_parses():
    for name, values in (("netG", choices.NETG_CHOICES), ("norm", choices.NORM_TYPES),
                         ("gan_mode", choices.GAN_MODES), ("flow_net", choices.FLOW_NETS)):
        for value in values:
            assert getattr(parse([f"--{name}", value]), name) == value
    for mode in mode_names():
        assert parse(["--dataset_mode", mode], train=False).dataset_mode == mode
    assert {"folders", "temporal", "test", "face", "pose"} <= set(mode_names())  # the reference's spellings


def test_unknown_dataset_mode_fails_at_parse_time(tmp_path, capsys):
    """The open set of registered dataset modes is checked at parse time too: exit 2, one line, nothing written."""
    with pytest.raises(SystemExit) as stop:
        TrainOptions().parse_cli(["--dataset_mode", "aligned", "--checkpoints_dir", str(tmp_path)])
    assert stop.value.code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert "--dataset_mode 'aligned' is not a dataset mode" in last
    assert all(name in last for name in mode_names()), last
    assert list(tmp_path.iterdir()) == []


def test_every_choice_is_accepted_by_the_code_that_acts_on_it(tmp_path):
    """Each allowed value works where it is used (models/ imports the same tuples from options/choices.py)."""
    from models.flow import build_flow_estimator
    from models.networks.blocks import get_norm_layer
    from models.networks.losses import GANLoss

    for norm in choices.NORM_TYPES:
        assert callable(get_norm_layer(norm))
    for mode in choices.GAN_MODES:
        assert GANLoss(mode).gan_mode == mode
    for name in choices.FLOW_NETS:  # known names reach their loader (flownet2/raft: no weight files here)
        try:
            build_flow_estimator(name, flownet_checkpoint=tmp_path / "none", raft_weights=tmp_path / "none")
        except FileNotFoundError as error:
            assert "not found" in str(error)


def test_options_banner_is_ours():
    text = format_options(parse(["--name", "run7"]))
    lines = text.splitlines()
    assert lines[0] == f"# train.py settings of run 'run7' ({len(lines) - 2} values, sorted by name)"
    assert lines[-1] == "# end of train.py settings"
    assert lines[1:-1] == sorted(lines[1:-1]) and "name: run7" in lines
    assert format_options(parse([], train=False)).splitlines()[-1] == "# end of test.py settings"
