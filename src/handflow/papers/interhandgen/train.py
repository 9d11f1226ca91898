"""Training: a denoiser (the cascade, one shared network in two roles; its two architecture ablations; the joint one),
and the evaluation network (stage 4, see `features`).

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
from torch import nn

from handflow.checkpoints import file_digest
from handflow.config import Section
from handflow.errors import InputError
from handflow.papers.interhandgen.dataset import read_pairs
from handflow.papers.interhandgen.diffusion import ScheduleConfig, cascade_loss, joint_loss
from handflow.papers.interhandgen.features import decode_pairs, vertex_subset
from handflow.papers.interhandgen.networks import (
    SCALE,
    DenoiserConfig,
    FeatureNetConfig,
    SetAbstractionRegressor,
    build_denoiser,
    n_parameters,
)
from handflow.papers.interhandgen.representation import DIM, HAND_DIMS, Normalizer, TwoHandDecoder
from handflow.papers.interhandgen.variants import MODELS
from handflow.training import LoopSettings, Trainer, TrainSection, TrainState


@dataclass(frozen=True, kw_only=True)
class TrainConfig(TrainSection):
    """params `interhandgen.train`, shared by the cascade and the joint baseline."""

    grad_clip: float
    lr_decay: float  # multiplied every lr_decay_every steps (the seed: every 20 epochs)
    lr_decay_every: int
    p_uncond: float  # add-hand examples trained without their condition (see diffusion.py)


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
        self.kind, self.pairs, self.stats = model, pairs, stats
        self.network, self.schedule, self.cfg, self.swap, self.seed = network, schedule, train, swap_augmentation, seed
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
        if MODELS[self.kind].cascade:
            return cascade_loss(state.model, self.sched, x[:, 0], x[:, 1], self.cfg.p_uncond, gen)
        return joint_loss(state.model, self.sched, x[:, 0], x[:, 1], gen)

    def identity(self) -> list:
        return [
            self.kind,
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
            "config": self.network.to_dict(),
            "schedule": self.schedule.to_dict(),
            "normalizer": {"mean": n.mean.tolist(), "std": n.std.tolist()},
        }

    def summary(self, state: TrainState) -> dict[str, float]:
        return {"n_pairs": float(self.views.shape[1]), "n_parameters": float(n_parameters(state.model))}


@dataclass(frozen=True)
class FeaturesConfig(Section):
    """params `interhandgen.features`."""

    feature_dim: int
    width: int
    points_per_hand: int  # evenly spaced vertices per hand (0: all)
    centres: int  # groups of the set abstraction
    group_size: int  # vertices per group
    mix_prob: float  # share of training rows whose hands come from two different pairs
    steps: int
    batch_size: int
    lr: float


class FeatureTrainer(Trainer):
    """The evaluation network, regressing the 42 joints from the vertices of training pairs (and their mirrored scenes)."""

    kind = "features"

    @property
    def loop(self) -> LoopSettings:
        """Its own section has no checkpoint or log period: twenty of each per run."""
        every = max(1, self.settings.steps // 20)
        return LoopSettings(self.settings.steps, every, every)

    def __init__(self, train_pairs: Path, decoder: TwoHandDecoder, cfg: FeaturesConfig, swap_augmentation: bool, seed: int) -> None:
        self.pairs, self.settings, self.swap, self.seed = train_pairs, cfg, swap_augmentation, seed
        sets = [read_pairs(train_pairs)] + ([read_pairs(train_pairs, "pairs_swapped")] if swap_augmentation else [])
        verts, joints = decode_pairs(decoder, np.concatenate(sets))
        self.ids = vertex_subset(decoder.left.n_vertices, decoder.right.n_vertices, cfg.points_per_hand)
        n_left = int((self.ids < decoder.left.n_vertices).sum())
        if not cfg.group_size <= cfg.centres <= len(self.ids):
            raise InputError("params/interhandgen.yaml", "features.centres", f"need group_size <= centres <= {len(self.ids)} points")
        self.network = FeatureNetConfig(n_left, len(self.ids) - n_left, cfg.width, cfg.feature_dim, cfg.centres, cfg.group_size)
        self.x, self.y = torch.as_tensor(verts[:, self.ids]), torch.as_tensor(joints, dtype=torch.float32)

    def build(self, device: torch.device) -> TrainState:
        self.x, self.y = self.x.to(device), self.y.to(device)
        net = SetAbstractionRegressor(self.network, self.x.mean(0).cpu().numpy()).to(device)
        opt = torch.optim.Adam(net.parameters(), lr=self.settings.lr)
        lr_schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=self.settings.steps)
        return TrainState(net, opt, lr_schedule, torch.Generator().manual_seed(self.seed))

    def loss(self, state: TrainState) -> torch.Tensor:
        batch, g = min(self.settings.batch_size, len(self.x)), state.generator
        idx = torch.randint(0, len(self.x), (batch,), generator=g)
        # recombined rows: the left hand of pair idx with the right hand of pair other
        other = torch.where(
            torch.rand(batch, generator=g) < self.settings.mix_prob, torch.randint(0, len(self.x), (batch,), generator=g), idx
        )
        idx, other, n_left = idx.to(self.x.device), other.to(self.x.device), self.network.n_left
        x = torch.cat([self.x[idx, :n_left], self.x[other, n_left:]], 1)
        y = torch.cat([self.y[other, :21], self.y[idx, 21:]], 1)  # joints: right 0-20, left 21-41
        return nn.functional.mse_loss(state.model(x) * SCALE, y * SCALE)

    def identity(self) -> list:
        return [self.settings.to_dict(), self.swap, self.seed, file_digest(self.pairs)]

    def export(self, state: TrainState) -> dict:
        return {"config": self.network.to_dict(), "vertex_ids": torch.as_tensor(self.ids)}

    def summary(self, state: TrainState) -> dict[str, float]:
        return {"n_train": float(len(self.x))}
