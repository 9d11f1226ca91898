"""The trainer contract (handflow.training): every paper's trainer, through one test.

For each trainer at a tiny size: a run killed after a checkpoint and started again ends
in the same model file and loss curve, byte for byte, as an uninterrupted run; the
restart resumes from the checkpoint (it does not start over); a damaged checkpoint is
one clear error naming the file, with no model written; the model file loads back
through its paper's one loader (`networks.load_network`) by its kind, and is refused as
another kind. A new paper adds its trainer to TRAINERS.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from handflow.errors import InputError
from handflow.training import Trainer, fit


def _ihg_denoiser(model: str) -> Callable[[dict], Trainer]:
    def make(fx: dict) -> Trainer:
        from handflow.papers.interhandgen.diffusion import ScheduleConfig
        from handflow.papers.interhandgen.networks import DenoiserConfig
        from handflow.papers.interhandgen.train import DenoiserTrainer, TrainConfig, architecture

        pairs = fx["smoke_pairs"]
        network = DenoiserConfig(**architecture(model), width=32, embed_dim=16, n_layers=3, skips=(1,), transformer_layers=1, n_heads=2)
        train = TrainConfig(
            batch_size=8, steps=6, lr=1e-3, lr_decay=0.9, lr_decay_every=3, grad_clip=4.0, p_uncond=0.1, checkpoint_every=2, log_every=1
        )
        return DenoiserTrainer(model, pairs / "pairs.h5", pairs / "stats.json", network, ScheduleConfig(), train, True, 0)

    return make


def _ihg_features(fx: dict) -> Trainer:
    from handflow.papers.interhandgen.representation import TwoHandDecoder
    from handflow.papers.interhandgen.train import FeaturesConfig, FeatureTrainer

    # logs and checkpoints every 2
    cfg = FeaturesConfig(feature_dim=8, width=8, points_per_hand=32, centres=8, group_size=4, mix_prob=0.5, steps=40, batch_size=8, lr=1e-3)
    return FeatureTrainer(fx["smoke_pairs"] / "pairs.h5", TwoHandDecoder(fx["hands32"]), cfg, True, 0)


def _digit(use_segmentation: bool) -> Callable[[dict], Trainer]:
    def make(fx: dict) -> Trainer:
        from handflow.papers.digit.dataset import SplitStores
        from handflow.papers.digit.networks import DigitConfig
        from handflow.papers.digit.train import DigitTrainer, TrainConfig

        network = DigitConfig(
            width=4,
            modules=(1, 1, 1),
            blocks=1,
            seg_fusion_channels=8,
            unet_channels=(8, 8, 8, 8),
            head_channels=8,
            use_segmentation=use_segmentation,
        )
        train = TrainConfig(lr=1e-4, lr_decay_step=4, batch_size=2, steps=6, checkpoint_every=2, log_every=1)
        return DigitTrainer("seg" if use_segmentation else "noseg", SplitStores(*fx["digit_stores"]), network, train, 0)

    return make


def _affordance(kind: str) -> Callable[[dict], Trainer]:
    def make(fx: dict) -> Trainer:
        from handflow.papers.affordance import networks as nets
        from handflow.papers.affordance import train as tr

        cfg = tr.TrainConfig(lr=1e-3, batch_size=4, steps=6, checkpoint_every=2, log_every=1, grad_clip=1.0)
        pairs = fx["hoi4d_pairs"]
        if kind == "layout":
            return tr.LayoutTrainer(kind, pairs["train"], nets.LayoutNetConfig(32, (8, 16), 2, 1), cfg, 0.1, 0)
        if kind == "content":
            return tr.ContentTrainer(kind, pairs["train"], nets.ContentNetConfig(32, (8, 16), 1, (False, True)), cfg, True, 0)
        if kind == "upsampler":
            return tr.UpsamplerTrainer(kind, pairs["train"], nets.UpsamplerConfig(8, 1, 2), 32, cfg, 0)
        return tr.HandPoseTrainer(pairs["train"], fx["model_dir"], nets.HandPoseConfig(32, (8, 16)), cfg, 0)

    return make


def _s2h(kind: str) -> Callable[[dict], Trainer]:
    def make(fx: dict) -> Trainer:
        from handflow.papers.s2h.networks import DecoderConfig
        from handflow.papers.s2h.train import RetargetTrainer, TrainConfig

        cfg = TrainConfig(
            lr=1e-3,
            batch_size=4,
            steps=6,
            window=4,
            stride=2,
            checkpoint_every=2,
            log_every=1,
            grad_clip=0.5,
            lambda_rf=1.0,
            lambda_rp=1.0,
            lambda_anat=0.1,
            rf_unweighted=0.05,
        )
        return RetargetTrainer(kind, fx["s2h_mixhand"], DecoderConfig(16, 8, 2), cfg, 0)

    return make


def _dhpc(kind: str) -> Callable[[dict], Trainer]:
    def make(fx: dict) -> Trainer:
        from handflow.papers.dhpc import networks as nets
        from handflow.papers.dhpc import train as tr
        from handflow.training import TrainSection

        renders = fx["dhpc_renders"]
        cfg = TrainSection(lr=1e-3, batch_size=4, steps=6, checkpoint_every=2, log_every=1, grad_clip=1.0)
        conv = nets.ConvConfig(16, (8, 16), 16)
        if kind in ("t2i", "depth"):
            return tr.DiffusionTrainer(renders, nets.TextToImageConfig(16, (8, 16), 16, 12, depth_channel=kind == "depth"), cfg, 0.1, 0)
        if kind == "hmr":
            return tr.HMRTrainer(renders, conv, cfg, tr.HMRLoss(5.0, 1.0, 0.1, 1.0, 0.4), 0, fx["dhpc_body"])
        if kind == "mask":
            return tr.MaskTrainer(renders, conv, cfg, 0.2, 0)
        return tr.PriorTrainer(renders, nets.PriorConfig(4, 16), cfg, 0.01, 0)

    return make


TRAINERS = {
    "interhandgen-cascade": _ihg_denoiser("cascade"),
    "interhandgen-joint": _ihg_denoiser("joint"),
    "interhandgen-separate": _ihg_denoiser("cascade_separate"),
    "interhandgen-noattn": _ihg_denoiser("cascade_noattn"),
    "interhandgen-features": _ihg_features,
    "digit-seg": _digit(True),
    "digit-noseg": _digit(False),
    "affordance-layout": _affordance("layout"),
    "affordance-content": _affordance("content"),
    "affordance-upsampler": _affordance("upsampler"),
    "affordance-handpose": _affordance("handpose"),
    "s2h-asrn": _s2h("asrn"),
    "s2h-dm": _s2h("dm"),
    # one diffusion trainer class: its depth variant runs every line the text-only one does
    **{f"dhpc-{kind}": _dhpc(kind) for kind in ("depth", "hmr", "mask", "prior")},
}
FIXTURES = {
    "interhandgen": ("smoke_pairs", "hands32"),
    "digit": ("digit_stores",),
    "affordance": ("hoi4d_pairs", "model_dir"),
    "s2h": ("s2h_mixhand",),
    "dhpc": ("dhpc_renders", "dhpc_body"),
}


@pytest.fixture(scope="session")
def hands32(model_dir):
    from handflow.hand.model import create_pair

    return create_pair(model_dir)


@pytest.fixture(params=sorted(TRAINERS))
def make_trainer(request) -> Callable[[], Trainer]:
    names = FIXTURES[request.param.split("-")[0]]
    fx = {name: request.getfixturevalue(name) for name in names}
    return lambda: TRAINERS[request.param](fx)


class Killed(Exception):
    pass


def _loads_by_kind(model_file: Path, kind: str, paper: str) -> None:
    """The model file loads back through its paper's one loader by its kind, and is refused as any other kind."""
    networks = importlib.import_module(f"handflow.papers.{paper}.networks")
    model, ckpt = networks.load_network(model_file, kind)
    assert ckpt["kind"] == kind and not model.training
    other = next(k for k in networks.NETWORKS if k != kind)
    with pytest.raises(InputError, match=rf"model\.pt: kind: a '{kind}' network, expected '{other}'"):
        networks.load_network(model_file, other)


def _kill_after_first_checkpoint(trainer: Trainer) -> Callable[[int, float], None]:
    every = -(-trainer.loop.checkpoint_every // trainer.loop.log_every) * trainer.loop.log_every

    def on_log(step: int, loss: float) -> None:
        if step == every + trainer.loop.log_every:  # one log after the first checkpoint, before the next
            raise Killed

    return on_log


def test_killed_and_resumed_equals_uninterrupted(make_trainer, tmp_path, caplog, request):
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    first = make_trainer()
    fit(first, straight / "ck", straight / "model.pt", straight / "loss.tsv")
    _loads_by_kind(straight / "model.pt", first.kind, request.node.callspec.params["make_trainer"].split("-")[0])

    trainer = make_trainer()
    with pytest.raises(Killed):
        fit(trainer, killed / "ck", killed / "model.pt", killed / "loss.tsv", on_log=_kill_after_first_checkpoint(trainer))
    assert not (killed / "model.pt").exists() and not (killed / "loss.tsv").exists()
    with caplog.at_level(logging.INFO, logger="handflow.training"):
        fit(make_trainer(), killed / "ck", killed / "model.pt", killed / "loss.tsv")
    assert any("resumed from" in r.getMessage() for r in caplog.records), "the restart must resume, not start over"
    for name in ("model.pt", "loss.tsv"):
        assert (killed / name).read_bytes() == (straight / name).read_bytes(), name


def test_damaged_checkpoint_is_one_clear_error_and_no_model(make_trainer, tmp_path):
    trainer = make_trainer()
    with pytest.raises(Killed):
        fit(trainer, tmp_path / "ck", tmp_path / "model.pt", tmp_path / "loss.tsv", on_log=_kill_after_first_checkpoint(trainer))
    checkpoint = tmp_path / "ck" / "last.pt"
    data = checkpoint.read_bytes()
    checkpoint.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError) as err:
        fit(make_trainer(), tmp_path / "ck", tmp_path / "model.pt", tmp_path / "loss.tsv")
    assert str(err.value).startswith(f"{checkpoint}: corrupted checkpoint")
    assert "\n" not in str(err.value)
    assert not (tmp_path / "model.pt").exists() and not Path(tmp_path / "loss.tsv").exists()


# Trainers whose loss calls the model's methods, not its forward: compile leaves them eager. Diffusion-HPC's pose prior
# is a two-layer VAE whose loss calls `encode` and `decode`; there is nothing for a compiler to gain on it.
NOT_COMPILED = {"dhpc-prior"}
# DIGIT's no-segmentation ablation is the same network less the segmentation branch (8 s of tracing in a suite
# with a 20-minute budget): the seg network's graph holds every module it has.
COMPILE_CHECKED = sorted(set(TRAINERS) - {"digit-noseg"})


@pytest.mark.parametrize("make_trainer", COMPILE_CHECKED, indirect=True)
def test_the_network_compiles_as_one_graph_and_computes_the_same_loss(make_trainer, request):
    """`global.compile` (handflow.compute.Compute.prepare) compiles the model in place: every paper's network must trace
    without a graph break (fullgraph) and, run through the traced graph, give the eager loss. Dynamo's eager backend:
    the capture is what can fail; code generation (inductor) is the GPU session's to measure."""
    import torch
    from torch._dynamo.utils import counters

    losses = []
    for compiled in (False, True):
        trainer = make_trainer()
        torch.manual_seed(trainer.seed)
        state = trainer.build(torch.device("cpu"))
        if compiled:
            torch._dynamo.reset()
            counters.clear()
            state.model.compile(fullgraph=True, backend="eager")
        losses.append(trainer.loss(state).detach())
    expected_graphs = 0 if request.node.callspec.params["make_trainer"] in NOT_COMPILED else 1
    assert min(counters["stats"]["unique_graphs"], 1) == expected_graphs, "the loss did (not) call the compiled model"
    torch.testing.assert_close(losses[1], losses[0])


class _Scripted(Trainer):
    """A one-weight model whose validation score is scripted per checkpoint: the contract must keep the best one."""

    kind, seed = "toy", 0

    def __init__(self, scores: list[float]) -> None:
        from handflow.training import TrainSection

        self.cfg = TrainSection(lr=0.1, batch_size=1, steps=8, checkpoint_every=2, log_every=1)
        self.scores, self.seen = list(scores), []
        self.validation_metric = "scripted"

    def build(self, device):
        import torch

        from handflow.training import TrainState

        model = torch.nn.Linear(1, 1, bias=False)
        opt = torch.optim.SGD(model.parameters(), lr=self.cfg.lr)
        return TrainState(model, opt, torch.optim.lr_scheduler.LambdaLR(opt, lambda _: 1.0), torch.Generator().manual_seed(0))

    def loss(self, state):
        return (state.model.weight - 10.0).pow(2).sum()

    def validate(self, state):
        self.seen.append(float(state.model.weight))
        return self.scores[len(self.seen) - 1]

    def identity(self):
        return [self.scores]

    def export(self, state):
        return {"config": {}}


def test_the_model_file_keeps_the_best_validated_checkpoint(tmp_path):
    """Checkpoints at steps 2, 4, 6, 8 scored 3, 1, 2, 5: the file holds step 4's weights and says so."""
    import torch

    trainer = _Scripted([3.0, 1.0, 2.0, 5.0])
    metrics = fit(trainer, tmp_path / "ck", tmp_path / "m.pt", tmp_path / "l.tsv")
    saved = torch.load(tmp_path / "m.pt", weights_only=False)
    assert saved["selected"] == {"step": 4, "metric": "scripted", "score": 1.0} and metrics["selected_step"] == 4.0
    assert float(saved["state_dict"]["weight"]) == pytest.approx(trainer.seen[1]) != pytest.approx(trainer.seen[-1])
