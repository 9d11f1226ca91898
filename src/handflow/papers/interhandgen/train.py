"""Stage 2: train a denoiser: the cascade (one shared network, two roles), its two architecture ablations, or the joint one.

The seed's settings at the paper scale: Adam 1e-3, batch 256, gradient-norm clip 4,
learning rate x0.9 every 20 epochs, 80 epochs. Batches are drawn with replacement
from a seeded generator, and each pair is swapped (the mirrored scene) with
probability 1/2 per sample (the seed flips one coin per batch).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from handflow.config import Section
from handflow.errors import InputError
from handflow.papers.interhandgen.dataset import read_pairs
from handflow.papers.interhandgen.diffusion import ScheduleConfig, cascade_loss, joint_loss
from handflow.papers.interhandgen.model import DenoiserConfig, build_denoiser, n_parameters
from handflow.papers.interhandgen.representation import DIM, HAND_DIMS, Normalizer
from handflow.papers.interhandgen.variants import MODELS
from handflow.training import LoopSettings, Trainer, TrainState, file_digest, load_model


@dataclass(frozen=True)
class TrainConfig(Section):
    """params `interhandgen.train`, shared by the cascade and the joint baseline."""

    batch_size: int
    steps: int
    lr: float
    lr_decay: float  # multiplied every lr_decay_every steps (the seed: every 20 epochs)
    lr_decay_every: int
    grad_clip: float
    p_uncond: float  # add-hand examples trained without their condition (see diffusion.py)
    checkpoint_every: int
    log_every: int


def architecture(model: str) -> dict:
    """What the model trained fixes beyond params `interhandgen.model`: input and condition sizes (the cascade's one hand
    given the anchor, or both hands at once) and the architecture ablations (variants.MODELS)."""
    m = MODELS[model]
    dims = {"x_dim": DIM, "c_dim": HAND_DIMS} if m.cascade else {"x_dim": HAND_DIMS + DIM, "c_dim": 0}
    return {**dims, "shared": m.shared, "self_attention": m.self_attention}


class DenoiserTrainer(Trainer):
    def __init__(
        self,
        model: str,
        pairs: Path,
        stats: Path,
        network: DenoiserConfig,
        schedule: ScheduleConfig,
        train: TrainConfig,
        swap_augmentation: bool,
        seed: int,
    ) -> None:
        self.model, self.pairs, self.stats = model, pairs, stats
        self.network, self.schedule, self.cfg, self.swap, self.seed = network, schedule, train, swap_augmentation, seed
        self.loop = LoopSettings(train.steps, train.checkpoint_every, train.log_every, train.grad_clip)
        self.normalizer = Normalizer.load(stats)
        raw = [read_pairs(pairs)] + ([read_pairs(pairs, "pairs_swapped")] if swap_augmentation else [])
        self.views = torch.as_tensor(np.stack([self.normalizer.normalize(r) for r in raw]), dtype=torch.float32)  # (views, N, 2, 64)
        if self.views.shape[1] < 2:
            raise InputError(pairs, "pairs", f"{self.views.shape[1]} training pairs; at least 2 are needed")
        self.sched = schedule.training()

    def build(self, device: torch.device) -> TrainState:
        self.views = self.views.to(device)
        net = build_denoiser(self.network).to(device)
        opt = torch.optim.Adam(net.parameters(), lr=self.cfg.lr, betas=(0.9, 0.999), eps=1e-8)
        lr_schedule = torch.optim.lr_scheduler.StepLR(opt, step_size=self.cfg.lr_decay_every, gamma=self.cfg.lr_decay)
        return TrainState(net, opt, lr_schedule, torch.Generator().manual_seed(self.seed))

    def loss(self, state: TrainState) -> torch.Tensor:
        n_views, n = self.views.shape[:2]
        batch, gen = min(self.cfg.batch_size, n), state.generator
        idx = torch.randint(0, n, (batch,), generator=gen)
        view = torch.randint(0, n_views, (batch,), generator=gen)
        x = self.views[view, idx]
        if MODELS[self.model].cascade:
            return cascade_loss(state.model, self.sched, x[:, 0], x[:, 1], self.cfg.p_uncond, gen)
        return joint_loss(state.model, self.sched, x[:, 0], x[:, 1], gen)

    def identity(self) -> list:
        return [
            self.model,
            self.network.to_dict(),
            self.schedule.to_dict(),
            self.cfg.to_dict(),
            self.swap,
            self.seed,
            file_digest(self.pairs),
            file_digest(self.stats),
        ]

    def export(self, state: TrainState) -> dict:
        n = self.normalizer
        return {
            "model": self.model,
            "config": self.network.to_dict(),
            "schedule": self.schedule.to_dict(),
            "normalizer": {"mean": n.mean.tolist(), "std": n.std.tolist()},
        }

    def summary(self, state: TrainState) -> dict[str, float]:
        return {"n_pairs": float(self.views.shape[1]), "n_parameters": float(n_parameters(state.model))}


def load_denoiser(path: Path, model: str | None = None) -> tuple[torch.nn.Module, Normalizer, ScheduleConfig]:
    """A trained denoiser with its normalisation and schedule; `model`: the one it must be (variants.MODELS)."""
    net, ckpt = load_model(path, DenoiserConfig, build_denoiser, ("model", "schedule", "normalizer"))
    if model is not None and ckpt["model"] != model:
        raise InputError(path, "model", f"{ckpt['model']!r}, expected {model!r}")
    normalizer = Normalizer(np.asarray(ckpt["normalizer"]["mean"]), np.asarray(ckpt["normalizer"]["std"]))
    return net, normalizer, ScheduleConfig.from_dict(ckpt["schedule"], path, "schedule")
