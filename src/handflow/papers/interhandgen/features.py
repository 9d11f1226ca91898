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

import json
from pathlib import Path

import numpy as np
import torch
from torch import nn

from handflow.errors import InputError
from handflow.papers.interhandgen.dataset import read_pairs
from handflow.papers.interhandgen.representation import TwoHandDecoder
from handflow.storage.atomic import atomic_write_text
from handflow.training import LoopConfig, TrainState, file_digest, fingerprint, load_torch, save_torch, train

N_JOINTS = 42
SCALE = 10.0  # metres -> decimetres, as the seed


class PointNetRegressor(nn.Module):
    def __init__(self, n_left: int, n_right: int, width: int, feature_dim: int) -> None:
        super().__init__()
        side = torch.zeros(n_left + n_right, 2)
        side[:n_left, 1] = 1.0
        side[n_left:, 0] = 1.0
        self.register_buffer("side", side)
        self.point_mlp = nn.Sequential(
            nn.Conv1d(5, width // 2, 1), nn.ReLU(), nn.Conv1d(width // 2, width, 1), nn.ReLU(), nn.Conv1d(width, 4 * width, 1)
        )
        self.global_mlp = nn.Sequential(nn.ReLU(), nn.Linear(4 * width, 2 * width), nn.ReLU(), nn.Linear(2 * width, feature_dim))
        self.head = nn.Sequential(nn.ReLU(), nn.Linear(feature_dim, N_JOINTS * 3))

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


def train_feature_net(
    train_pairs: Path,
    test_pairs: Path,
    decoder: TwoHandDecoder,
    p: dict,
    seed: int,
    checkpoint_dir: Path,
    out: Path,
    report: Path,
    provenance: dict[str, str],
    on_log=None,
) -> dict[str, float]:
    f = p["features"]
    train_sets = [read_pairs(train_pairs)] + ([read_pairs(train_pairs, "pairs_swapped")] if p["dataset"]["swap_augmentation"] else [])
    verts, joints = decode_pairs(decoder, np.concatenate(train_sets))
    ids = vertex_subset(decoder.left.n_vertices, decoder.right.n_vertices, f["points_per_hand"])
    n_left = int((ids < decoder.left.n_vertices).sum())
    x, y = torch.as_tensor(verts[:, ids]), torch.as_tensor(joints)
    torch.manual_seed(seed)
    net = PointNetRegressor(n_left, len(ids) - n_left, f["width"], f["feature_dim"])
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(net.parameters(), lr=f["lr"])
    lr_schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=f["steps"])
    batch = min(f["batch_size"], len(x))

    def loss_fn() -> torch.Tensor:
        idx = torch.randint(0, len(x), (batch,), generator=gen)
        return nn.functional.mse_loss(net(x[idx]) * SCALE, y[idx] * SCALE)

    log_every = max(1, f["steps"] // 20)
    run_id = fingerprint("features", f, p["dataset"], seed, file_digest(train_pairs))
    train(TrainState(net, opt, lr_schedule, gen), LoopConfig(f["steps"], log_every, log_every, checkpoint_dir, run_id), loss_fn, on_log)
    test_verts, test_joints = decode_pairs(decoder, read_pairs(test_pairs))
    with torch.no_grad():
        pred = net(torch.as_tensor(test_verts[:, ids])).numpy()
    mpjpe = float(np.linalg.norm(pred - test_joints, axis=-1).mean() * 1000.0)
    save_torch(
        {
            "state_dict": net.state_dict(),
            "vertex_ids": torch.as_tensor(ids),
            "n_left": n_left,
            "width": f["width"],
            "feature_dim": f["feature_dim"],
        },
        out,
    )
    metrics = {
        **provenance,
        "test_mpjpe_mm": mpjpe,
        "n_train": len(x),
        "n_test": len(test_verts),
        "feature_dim": f["feature_dim"],
        "reported_seed_mpjpe_mm": 1.49,
        "note": "the seed's evaluator (PointNet++, unreleased) reports 1.49 mm on real data",
    }
    atomic_write_text(report, json.dumps(metrics, indent=2))
    return {"test_mpjpe_mm": mpjpe}


class FeatureExtractor:
    def __init__(self, path: Path) -> None:
        ckpt = load_torch(path, ("state_dict", "vertex_ids", "n_left", "width", "feature_dim"))
        self.ids = ckpt["vertex_ids"].numpy()
        try:
            self.net = PointNetRegressor(ckpt["n_left"], len(self.ids) - ckpt["n_left"], ckpt["width"], ckpt["feature_dim"])
            self.net.load_state_dict(ckpt["state_dict"])
        except RuntimeError as exc:
            raise InputError(path, "state_dict", f"does not match the network ({str(exc).splitlines()[0][:120]})") from None
        self.net.eval()
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
