"""Trainer: losses equal the models' parity path, bf16 on CPU, exact resume, lenient pretrained loading."""
import copy

import pytest
import torch

import train
from data import create_dataloader, create_dataset
from models.discriminator_model import DiscriminatorModel
from models.generator_model import GeneratorModel
from models.temporal_sampling import TemporalFrameHistory
from models.trainer import Trainer, split_clip
from options import TrainOptions
from options.run_folder import RunFolder

TINY = ["--label_nc", "35", "--use_instance", "--fg", "--loadSize", "64", "--ngf", "8", "--ndf", "8",
        "--n_blocks", "2", "--n_downsample_G", "2", "--num_D", "1", "--no_vgg", "--flow_net", "dis",
        "--gpu_ids", "-1", "--nThreads", "0"]
CPU = torch.device("cpu")


def parse(dataroot, tmp_path, *extra):
    argv = TINY + ["--dataroot", str(dataroot), "--checkpoints_dir", str(tmp_path / "checkpoints")] + list(extra)
    return TrainOptions().parse(argv, save=False, verbose=False)


def first_batch(opt):
    return next(iter(create_dataloader(opt, create_dataset(opt))))


def test_losses_equal_the_models_parity_path(dataroot, tmp_path):
    """One chunk (4 frames): the trainer's losses are the ones the models give with the same weights."""
    opt = parse(dataroot, tmp_path, "--n_frames_total", "4", "--max_frames_per_gpu", "4")
    trainer = Trainer(opt, CPU)
    trainer.set_epoch(1)
    model_g, model_d = GeneratorModel(opt), DiscriminatorModel(opt)
    model_g.load_state_dict(copy.deepcopy(trainer.model_g.state_dict()))
    model_d.load_state_dict(copy.deepcopy(trainer.model_d.state_dict()))
    torch.manual_seed(0)
    data = first_batch(opt)
    label, real, inst = split_clip(data, CPU)
    out = model_g(label, real, inst, None)
    flow_ref, conf_ref = trainer.flow_fp32(out.real_image, out.real_prev_image)
    losses = model_d.image_losses(out, flow_ref, conf_ref)
    groups = TemporalFrameHistory(2, 3).update(out.real_image, out.fake_image, flow_ref, conf_ref,
                                               trainer.flow_fp32)
    losses_t = [model_d.temporal_losses(s, **g) for s, g in enumerate(groups) if g is not None]
    totals = model_d.total_losses(losses, losses_t)

    result = trainer.train_item(data).losses
    for name, value in losses.items():
        assert result[name].item() == pytest.approx(value.item(), rel=1e-5, abs=1e-6), name
    for name, value in losses_t[0].items():
        assert result[f"{name}0"].item() == pytest.approx(value.item(), rel=1e-5, abs=1e-6), name
    assert result["loss_G"].item() == pytest.approx(totals["loss_G"].item(), rel=1e-5)
    assert result["loss_D"].item() == pytest.approx(totals["loss_D"].item(), rel=1e-5)
    # the update happened after the losses: every optimizer moved its networks
    for label_name, net in trainer.networks().items():
        if label_name == "D_T1":  # 4 frames are too few for the second temporal scale (spacing 3)
            continue
        before = (model_g.networks() | model_d.networks())[label_name].state_dict()
        changed = any(not torch.equal(before[k], v) for k, v in net.state_dict().items() if v.is_floating_point())
        assert changed, f"{label_name} was not updated"


def test_bf16_autocast_trains_on_cpu(dataroot, tmp_path):
    opt = parse(dataroot, tmp_path, "--n_frames_total", "4", "--max_frames_per_gpu", "2", "--bf16")
    trainer = Trainer(opt, CPU)
    trainer.set_epoch(1)
    before = {k: v.clone() for k, v in trainer.model_g.state_dict().items()}
    conv_dtypes = []
    trainer.model_g.generators[0].model_down_seg[1].register_forward_hook(
        lambda module, args, output: conv_dtypes.append(output.dtype))
    result = trainer.train_item(first_batch(opt))
    assert all(torch.isfinite(v) and v.dtype == torch.float32 for v in result.losses.values())
    assert conv_dtypes and set(conv_dtypes) == {torch.bfloat16}  # autocast was active
    assert result.visuals["flow_ref"].dtype == torch.float32  # flow estimation stays in fp32
    after = trainer.model_g.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before if before[k].is_floating_point())
    assert all(p.dtype == torch.float32 for p in trainer.model_g.parameters())  # master weights stay fp32


def test_fp16_on_cpu_names_bf16(dataroot, tmp_path):
    with pytest.raises(ValueError, match="--bf16"):
        Trainer(parse(dataroot, tmp_path, "--fp16"), CPU)


def test_gradient_checkpointing_gives_the_same_update(dataroot, tmp_path):
    results = []
    for extra in ([], ["--grad_checkpoint_G"]):
        opt = parse(dataroot, tmp_path, "--n_frames_total", "2", "--max_frames_per_gpu", "2", *extra)
        trainer = Trainer(opt, CPU)
        trainer.set_epoch(1)
        torch.manual_seed(0)
        trainer.train_item(first_batch(opt))
        results.append({k: v for k, v in trainer.model_g.state_dict().items() if "running" not in k
                        and "num_batches" not in k})
    for key, value in results[0].items():
        torch.testing.assert_close(results[1][key], value, rtol=1e-4, atol=1e-5, msg=key)


def test_continue_train_equals_an_uninterrupted_run(dataroot, tmp_path):
    """3 epochs x 2 sequences; one run is stopped mid-epoch 2 (after 3 steps) and resumed."""
    common = ["--n_frames_total", "4", "--max_frames_per_gpu", "2", "--niter", "1", "--niter_decay", "2",
              "--print_freq", "100", "--display_freq", "100", "--save_latest_freq", "100", "--no_html", "--seed", "7"]
    assert train.train(parse(dataroot, tmp_path, "--name", "whole", *common)) == 0
    assert train.train(parse(dataroot, tmp_path, "--name", "split", *common), max_steps=3) == 0
    stopped = torch.load(RunFolder.of(parse(dataroot, tmp_path, "--name", "split")).training_state_file("latest"),
                         weights_only=True)
    assert (stopped["epoch"], stopped["epoch_iter"], stopped["total_steps"]) == (2, 1, 3)
    assert train.train(parse(dataroot, tmp_path, "--name", "split", "--continue_train", *common)) == 0

    whole, split = (torch.load(RunFolder.of(parse(dataroot, tmp_path, "--name", n)).training_state_file("latest"),
                               weights_only=True) for n in ("whole", "split"))
    assert (split["epoch"], split["epoch_iter"], split["total_steps"]) == (4, 0, 6)
    assert (whole["epoch"], whole["total_steps"]) == (4, 6)
    for label, state in whole["networks"].items():
        for key, value in state.items():
            torch.testing.assert_close(split["networks"][label][key], value, rtol=1e-4, atol=1e-6,
                                       msg=f"{label}.{key}")
    for name, optimizer in whole["optimizers"].items():
        assert split["optimizers"][name]["param_groups"][0]["lr"] == optimizer["param_groups"][0]["lr"]
        for index, slot in optimizer["state"].items():
            assert split["optimizers"][name]["state"][index]["step"] == slot["step"]
            torch.testing.assert_close(split["optimizers"][name]["state"][index]["exp_avg"], slot["exp_avg"],
                                       rtol=1e-4, atol=1e-7)
    assert whole["optimizers"]["G"]["param_groups"][0]["lr"] == pytest.approx(0.0001)  # epoch 3: half decayed


def test_load_pretrain_reports_partial_load(dataroot, tmp_path):
    opt1 = parse(dataroot, tmp_path, "--name", "coarse")
    first = Trainer(opt1, CPU)
    RunFolder.of(opt1).save("latest", first.network_writers("latest"), {"epoch": 1, "epoch_iter": 0, "total_steps": 0})
    opt2 = parse(dataroot, tmp_path, "--name", "fine", "--n_scales_spatial", "2", "--n_blocks_local", "1",
                 "--loadSize", "128", "--load_pretrain", str(tmp_path / "checkpoints" / "coarse"))
    second = Trainer(opt2, CPU)
    report = second.load_pretrained(opt2.load_pretrain, "latest")
    g0 = next(line for line in report if line.startswith("G0:"))
    total = len(second.model_g.generators[0].state_dict())
    assert f"loaded {total}/{total}" in g0
    assert any(line.startswith("G1: no latest_net_G1.pth") for line in report)
    for key, value in first.model_g.generators[0].state_dict().items():
        assert torch.equal(second.model_g.generators[0].state_dict()[key], value)
    with pytest.raises(FileNotFoundError, match="G0"):
        second.load_pretrained(str(tmp_path / "nowhere"), "latest")
