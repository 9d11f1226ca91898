"""Stage 4: our evaluation network, a PointNet on two-hand vertices trained to regress the 42 joints.

The seed's evaluator (a PointNet++ regressor, 256-D penultimate features) has no
released weights or training script (its issue #12), so its FHID/KHID cannot be
reproduced; we train our own on the training split and compare methods within
our protocol only. Inputs as the seed's: vertices x10 (decimetres, canonical
frame, no centring) with a one-hot side label (left [0, 1], right [1, 0]).
Differences: a plain PointNet (shared MLP, max pool) instead of PointNet++ MSG,
and a fixed, evenly spaced vertex subset instead of random farthest-point
sampling, so features are deterministic. The feature is the penultimate layer
before its ReLU, as the seed's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from handflow.config import Section
from handflow.errors import InputError
from handflow.papers.interhandgen.dataset import read_pairs
from handflow.papers.interhandgen.representation import TwoHandDecoder
from handflow.training import LoopSettings, Trainer, TrainState, file_digest, load_model

N_JOINTS = 42
SCALE = 10.0  # metres -> decimetres, as the seed
REPORTED_SEED_MPJPE_MM = 1.49  # the seed's evaluator on real data (its authors)


@dataclass(frozen=True)
class FeaturesConfig(Section):
    """params `interhandgen.features`."""

    feature_dim: int
    width: int
    points_per_hand: int  # evenly spaced vertices per hand (0: all)
    steps: int
    batch_size: int
    lr: float


@dataclass(frozen=True)
class FeatureNetConfig(Section):
    """The network a features file holds."""

    n_left: int  # points of the left hand, first
    n_right: int
    width: int
    feature_dim: int


class PointNetRegressor(nn.Module):
    def __init__(self, cfg: FeatureNetConfig) -> None:
        super().__init__()
        width = cfg.width
        side = torch.zeros(cfg.n_left + cfg.n_right, 2)
        side[: cfg.n_left, 1] = 1.0
        side[cfg.n_left :, 0] = 1.0
        self.register_buffer("side", side)
        self.point_mlp = nn.Sequential(
            nn.Conv1d(5, width // 2, 1), nn.ReLU(), nn.Conv1d(width // 2, width, 1), nn.ReLU(), nn.Conv1d(width, 4 * width, 1)
        )
        self.global_mlp = nn.Sequential(nn.ReLU(), nn.Linear(4 * width, 2 * width), nn.ReLU(), nn.Linear(2 * width, cfg.feature_dim))
        self.head = nn.Sequential(nn.ReLU(), nn.Linear(cfg.feature_dim, N_JOINTS * 3))

    def features(self, points: torch.Tensor) -> torch.Tensor:
        """(B, feature_dim) from (B, P, 3) points in metres, left hand's first."""
        x = torch.cat([points * SCALE, self.side.expand(len(points), -1, -1)], dim=2).transpose(1, 2)
        return self.global_mlp(self.point_mlp(x).max(dim=2).values)

    def forward(self, points: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(points)).view(-1, N_JOINTS, 3) / SCALE


def vertex_subset(n_left: int, n_right: int, per_hand: int) -> np.ndarray:
    """Evenly spaced vertex ids of each hand (all when per_hand is 0 or too large)."""
    pick = lambda n: np.arange(n) if per_hand <= 0 or per_hand >= n else np.linspace(0, n - 1, per_hand).round().astype(int)  # noqa: E731
    return np.r_[pick(n_left), n_left + pick(n_right)]


@torch.no_grad()
def decode_pairs(decoder: TwoHandDecoder, pairs: np.ndarray, batch: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """Vertices (N, V, 3) and joints (N, 42, 3) of raw pairs, float32."""
    verts, joints = [], []
    for start in range(0, len(pairs), batch):
        x = torch.as_tensor(pairs[start : start + batch])
        out = decoder(x[:, 0], x[:, 1])
        verts.append(out.vertices.float().numpy())
        joints.append(out.joints.float().numpy())
    dim = decoder.left.n_vertices + decoder.right.n_vertices
    return (np.concatenate(verts) if verts else np.zeros((0, dim, 3), np.float32)), (
        np.concatenate(joints) if joints else np.zeros((0, 42, 3))
    )


class FeatureTrainer(Trainer):
    """The evaluation network, regressing the 42 joints from the vertices of training pairs (and their mirrored scenes)."""

    def __init__(self, train_pairs: Path, decoder: TwoHandDecoder, cfg: FeaturesConfig, swap_augmentation: bool, seed: int) -> None:
        self.pairs, self.cfg, self.swap, self.seed = train_pairs, cfg, swap_augmentation, seed
        log_every = max(1, cfg.steps // 20)
        self.loop = LoopSettings(cfg.steps, log_every, log_every)
        sets = [read_pairs(train_pairs)] + ([read_pairs(train_pairs, "pairs_swapped")] if swap_augmentation else [])
        verts, joints = decode_pairs(decoder, np.concatenate(sets))
        self.ids = vertex_subset(decoder.left.n_vertices, decoder.right.n_vertices, cfg.points_per_hand)
        n_left = int((self.ids < decoder.left.n_vertices).sum())
        self.network = FeatureNetConfig(n_left, len(self.ids) - n_left, cfg.width, cfg.feature_dim)
        self.x, self.y = torch.as_tensor(verts[:, self.ids]), torch.as_tensor(joints)

    def build(self, device: torch.device) -> TrainState:
        self.x, self.y = self.x.to(device), self.y.to(device)
        net = PointNetRegressor(self.network).to(device)
        opt = torch.optim.Adam(net.parameters(), lr=self.cfg.lr)
        lr_schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=self.cfg.steps)
        return TrainState(net, opt, lr_schedule, torch.Generator().manual_seed(self.seed))

    def loss(self, state: TrainState) -> torch.Tensor:
        idx = torch.randint(0, len(self.x), (min(self.cfg.batch_size, len(self.x)),), generator=state.generator).to(self.x.device)
        return nn.functional.mse_loss(state.model(self.x[idx]) * SCALE, self.y[idx] * SCALE)

    def identity(self) -> list:
        return [self.cfg.to_dict(), self.swap, self.seed, file_digest(self.pairs)]

    def export(self, state: TrainState) -> dict:
        return {"config": self.network.to_dict(), "vertex_ids": torch.as_tensor(self.ids)}

    def summary(self, state: TrainState) -> dict[str, float]:
        return {"n_train": float(len(self.x))}


def joint_error_mm(features: Path, test_pairs: Path, decoder: TwoHandDecoder) -> tuple[float, int]:
    """Joint error (mm) of a trained feature network on the test pairs, and their number."""
    extractor = FeatureExtractor(features)
    verts, joints = decode_pairs(decoder, read_pairs(test_pairs))
    with torch.no_grad():
        pred = extractor.net(torch.as_tensor(verts[:, extractor.ids])).numpy()
    return float(np.linalg.norm(pred - joints, axis=-1).mean() * 1000.0), len(verts)


class FeatureExtractor:
    """Features of two-hand vertex sets from a trained network file."""

    def __init__(self, path: Path) -> None:
        self.net, ckpt = load_model(path, FeatureNetConfig, PointNetRegressor, ("vertex_ids",))
        self.ids = ckpt["vertex_ids"].numpy()
        self.source = path

    @torch.no_grad()
    def __call__(self, verts: np.ndarray, batch: int = 1024) -> np.ndarray:
        if verts.ndim != 3 or verts.shape[1] <= self.ids.max():
            raise InputError(self.source, "vertex_ids", f"vertices of shape {verts.shape} do not fit this network")
        out = [
            self.net.features(torch.as_tensor(verts[s : s + batch, self.ids], dtype=torch.float32)).numpy()
            for s in range(0, len(verts), batch)
        ]
        return np.concatenate(out).astype(np.float64)
