"""`global.device` and `global.precision` (handflow.compute): the device paths run on the CPU, bf16 is applied where it is
asked for and nowhere else, fp32 takes exactly the steps it always took."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import torch

from handflow.compute import CPU, Compute
from handflow.papers.interhandgen.apg import ApgConfig
from handflow.papers.interhandgen.diffusion import CascadeSampler, Guidance, JointSampler, ScheduleConfig
from handflow.papers.interhandgen.networks import Denoiser, DenoiserConfig
from handflow.papers.interhandgen.representation import DIM, Normalizer, TwoHandDecoder
from handflow.papers.interhandgen.train import DenoiserTrainer, TrainConfig, architecture
from handflow.params import load_params
from handflow.training import fit
from tests.conftest import PIPELINE_ENV, copy_project, run_ok

BF16 = Compute(torch.device("cpu"), "bf16")
SMALL = {"width": 64, "embed_dim": 32, "n_layers": 3, "skips": (1,), "transformer_layers": 1, "n_heads": 2}


def _sampler(kind, hands, compute: Compute, apg: bool = True):
    torch.manual_seed(0)
    model = Denoiser(DenoiserConfig(**architecture(kind), **SMALL))
    normalizer = Normalizer(np.zeros(DIM), np.full(DIM, 0.1))
    schedule = ScheduleConfig(sampling_steps=6)
    if kind == "joint":
        return JointSampler(model, normalizer, schedule, compute)
    guidance = Guidance(0.1, ApgConfig() if apg else None)
    return CascadeSampler(model, normalizer, TwoHandDecoder(hands), schedule, guidance, compute=compute)


def _draw(sampler, seed: int = 1) -> torch.Tensor:
    anchor, add = sampler.sample(8, torch.Generator().manual_seed(seed))
    return torch.stack([anchor, add], 1)


@pytest.mark.parametrize("kind", ["cascade", "joint"])
def test_fp32_compute_samples_the_same_bytes_and_bf16_only_the_network_passes(hands, kind):
    default = _draw(_sampler(kind, hands, CPU))
    explicit = _draw(_sampler(kind, hands, Compute(torch.device("cpu"), "fp32")))
    assert torch.equal(default, explicit), "fp32 enters no autocast: the same bytes"
    half = _draw(_sampler(kind, hands, BF16))
    assert half.dtype == default.dtype == torch.float64 and torch.isfinite(half).all()
    assert not torch.equal(half, default), "bf16 was asked for: the network's passes ran in it"
    # the same noise and the same network: bf16 rounding moves samples a little, not to another sample
    assert (half - default).abs().max() < 0.25 * default.abs().max()


def test_apg_steps_in_float64_under_bf16(hands):
    """APG's hand geometry is float64: autocast leaves it alone, so its gradient step is the fp32 path's given the same x0."""
    fp32, half = _sampler("cascade", hands, CPU), _sampler("cascade", hands, BF16)
    x0 = torch.randn(4, DIM, generator=torch.Generator().manual_seed(2)) * 0.3
    anchor = fp32.normalizer.denormalize(torch.zeros(4, DIM, dtype=torch.float64))
    v_left, j_left = fp32.decoder.hand(fp32.decoder.left, anchor)
    with BF16.autocast():
        stepped = half._apg(x0, 5, v_left, j_left)
    torch.testing.assert_close(stepped, fp32._apg(x0, 5, v_left, j_left))


def _trainer(smoke_pairs, steps: int = 4) -> DenoiserTrainer:
    train = TrainConfig(
        lr=1e-3, batch_size=8, steps=steps, checkpoint_every=2, log_every=1, grad_clip=1.0, lr_decay=0.5, lr_decay_every=100, p_uncond=0.1
    )
    network = DenoiserConfig(**architecture("cascade"), **SMALL)
    return DenoiserTrainer("cascade", smoke_pairs / "pairs.h5", smoke_pairs / "stats.json", network, ScheduleConfig(), train, True, 0)


def test_bf16_training_runs_and_is_another_run_than_fp32(smoke_pairs, tmp_path):
    curves = {}
    for name, compute in (("fp32", CPU), ("bf16", BF16)):
        out = tmp_path / name
        metrics = fit(_trainer(smoke_pairs), out / "ck", out / "m.pt", out / "loss.tsv", compute=compute)
        assert np.isfinite(metrics["final_loss"])
        curves[name] = (out / "loss.tsv").read_text()
        fingerprint = torch.load(out / "m.pt", weights_only=False)["fingerprint"]
        curves[name + "_fingerprint"] = fingerprint
    assert curves["fp32"] != curves["bf16"], "bf16 autocast changed the forward passes"
    assert curves["fp32_fingerprint"] != curves["bf16_fingerprint"], "a bf16 checkpoint is never resumed by an fp32 run"
    # fp32 keeps the fingerprint it had before precision existed: its checkpoints still resume
    again = fit(_trainer(smoke_pairs), tmp_path / "again" / "ck", tmp_path / "again" / "m.pt", tmp_path / "again" / "l.tsv")
    assert torch.load(tmp_path / "again" / "m.pt", weights_only=False)["fingerprint"] == curves["fp32_fingerprint"]
    assert np.isfinite(again["final_loss"])


def test_compiled_training_and_sampling_keep_the_files_and_are_another_run(smoke_pairs, hands, tmp_path, monkeypatch):
    """`global.compile`: the model compiled in place (its state dict keeps its keys, so a compiled run's model file loads
    wherever an eager one does), a compiled run is another run's checkpoints, and the compiled graph computes what eager
    does. Dynamo's eager backend stands in for inductor, whose code generation is a GPU measurement, not a CPU test."""
    eager_compile = torch.nn.Module.compile
    monkeypatch.setattr(torch.nn.Module, "compile", lambda self: eager_compile(self, fullgraph=True, backend="eager"))
    compiled = Compute(torch.device("cpu"), "fp32", compile=True)
    files = {}
    for name, compute in (("eager", CPU), ("compiled", compiled)):
        fit(_trainer(smoke_pairs), tmp_path / name / "ck", tmp_path / name / "m.pt", tmp_path / name / "loss.tsv", compute=compute)
        files[name] = torch.load(tmp_path / name / "m.pt", weights_only=False)
    assert files["eager"]["fingerprint"] != files["compiled"]["fingerprint"], "a compiled checkpoint is never resumed eagerly"
    assert files["eager"]["state_dict"].keys() == files["compiled"]["state_dict"].keys()
    for key, value in files["eager"]["state_dict"].items():
        torch.testing.assert_close(files["compiled"]["state_dict"][key], value)
    torch.testing.assert_close(_draw(_sampler("cascade", hands, compiled)), _draw(_sampler("cascade", hands, CPU)))
    # on the CPU nothing goes channels-last: prepare moves a convolutional network and leaves its memory as it was
    conv = CPU.prepare(torch.nn.Conv2d(3, 4, 3))
    assert not CPU.channels_last and conv.weight.is_contiguous()


def test_a_stage_given_cpu_and_bf16_runs(smoke_build, tmp_path):
    """`interhandgen sample` through the command line with `global.precision: bf16`: it runs and says where it ran."""
    a, _ = smoke_build
    project = copy_project(tmp_path / "p")  # the params and workflow files; the built models are read from A
    glob = project / "params/global.yaml"
    glob.write_text(glob.read_text().replace("precision: fp32", "precision: bf16", 1))
    assert load_params(project).get("global.precision") == "bf16"
    out, log = tmp_path / "full_bf16.h5", tmp_path / "sample.log"
    cmd = ["python", "-m", "handflow", "--project", str(project), "interhandgen", "sample", "--row", "full"]
    cmd += ["--model", str(a / "models/interhandgen/cascade.pt"), "--hand-model", str(a / "data/hand_model")]
    cmd += ["--out", str(out), "--log", str(log)]
    run_ok(cmd, tmp_path, PIPELINE_ENV)
    assert "runs on cpu" in log.read_text() and "forward passes on cpu bf16" in log.read_text()
    with h5py.File(out, "r") as bf16, h5py.File(a / "data/samples/interhandgen/full.h5", "r") as fp32:
        assert bf16["params"].shape == fp32["params"].shape and np.isfinite(bf16["params"][()]).all()
        assert not np.array_equal(bf16["params"][()], fp32["params"][()]), "the sampler's passes ran in bf16"


def test_the_dense_apg_path_is_the_bucketed_one(hands):
    """The GPU's sync-free APG (every vertex, candidates as a mask) gives the CPU path's loss and gradient."""
    from handflow.papers.interhandgen.apg import PenetrationLoss

    decoder = TwoHandDecoder(hands)
    g = torch.Generator().manual_seed(4)
    x = torch.zeros(6, DIM, dtype=torch.float64)
    x[:, :45] = 0.3 * torch.randn(6, 45, generator=g, dtype=torch.float64)  # varied poses
    x[:, 55], x[:, 59] = 1.0, 1.0  # identity rot6d
    x[:, 61:64] = 0.02 * torch.randn(6, 3, generator=g, dtype=torch.float64)  # overlapping placements, some more than others
    with torch.no_grad():
        v_left, j_left = decoder.hand(decoder.left, _identity().expand(6, -1))  # the anchor at the origin, flat
    losses, grads = {}, {}
    for dense in (False, True):
        raw = x.clone().requires_grad_(True)
        v_right, j_right = decoder.hand(decoder.right, raw)
        loss = PenetrationLoss(hands["left"], hands["right"], rho=0.05, weight=1000.0, margin=0.005, dense=dense)
        losses[dense] = loss(v_left, j_left, v_right, j_right)
        (grads[dense],) = torch.autograd.grad(losses[dense].sum(), raw)
    assert (losses[False] > 0).sum() >= 3, "the test pairs must penetrate"
    torch.testing.assert_close(losses[True], losses[False])
    torch.testing.assert_close(grads[True], grads[False])


def _identity() -> torch.Tensor:
    x = torch.zeros(1, DIM, dtype=torch.float64)
    x[:, 55], x[:, 59] = 1.0, 1.0
    return x
