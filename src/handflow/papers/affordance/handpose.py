"""The 3D hand of a synthesised image: a hand-pose network trained on the embedded renders (FrankMocap's role in the seed).

The seed lifts each synthesised hand to MANO with FrankMocap (a pretrained network and the
MANO model, neither available here). This network regresses, from a 64 px HOI crop, the 21
joints' 2D positions in the crop (NDC) and their 3D positions relative to the wrist in the
camera frame (decimetres), supervised by the pairs' own labels: `kps2D` and the MANO
parameters of the pose pickle posed by the project's hand model. What replaces what: the
joints, not a MANO fit (no pose prior, no mesh), so the figure overlays the predicted
skeleton rather than FrankMocap's rendered mesh. Its accuracy on held-out real crops is
reported beside the trivial baseline (the training set's mean pose) before any synthesised
hand is read with it. No flip augmentation: a flipped right hand is a left hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import torch
from torch import nn

from handflow.config import Section
from handflow.errors import InputError
from handflow.papers.affordance.train import TrainConfig, _adamw, _resize_all, _to_tensor
from handflow.training import LoopSettings, Trainer, TrainState, file_digest

JOINT_SCALE = 10.0  # 3D targets in decimetres (metres x 10): order-one numbers for the regression


@dataclass(frozen=True)
class HandPoseConfig(Section):
    """params `affordance.handpose.network`."""

    image_size: int
    channels: tuple[int, ...]


class HandPoseNet(nn.Module):
    def __init__(self, cfg: HandPoseConfig) -> None:
        super().__init__()
        self.cfg = cfg
        layers, c_in = [], 3
        for c in cfg.channels:
            layers += [nn.Conv2d(c_in, c, 3, 2, 1), nn.GroupNorm(min(8, c), c), nn.SiLU(), nn.Conv2d(c, c, 3, 1, 1), nn.SiLU()]
            c_in = c
        self.trunk = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(2), nn.Flatten())
        self.head = nn.Sequential(nn.Linear(4 * c_in, 256), nn.SiLU(), nn.Linear(256, 21 * 5))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 21, 2) joints in crop NDC and (B, 21, 3) wrist-relative joints in decimetres."""
        out = self.head(self.trunk(x)).reshape(-1, 21, 5)
        return out[..., :2], out[..., 2:]


def pose_targets(pairs: Path, model_dir: Path, size: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Crops (N, 3, S, S), 2D joints in crop NDC (N, 21, 2) and wrist-relative 3D joints in decimetres (N, 21, 3)."""
    from handflow.hand.model import create

    with h5py.File(pairs, "r") as h5:
        try:
            hoi, kps, pose, beta, trans = (h5[k][()] for k in ("hoi", "kps2d", "pose", "beta", "trans"))
        except KeyError as exc:
            raise InputError(pairs, str(exc).split("'")[1] if "'" in str(exc) else None, "missing") from None
    hand = create(model_dir, "right")
    mean = hand.layer.hand_mean.detach()
    f = lambda a: torch.as_tensor(a, dtype=torch.float32)  # noqa: E731
    with torch.no_grad():
        joints = hand(f(pose[:, :3]), f(pose[:, 3:]) - mean, f(beta), f(trans)).joints_openpose()
    rel = (joints - joints[:, :1]) * JOINT_SCALE
    ndc = f(kps) / hoi.shape[1] * 2 - 1
    return _to_tensor(_resize_all(hoi, size)), ndc, rel


class HandPoseTrainer(Trainer):
    """L1 on the 2D joints (NDC) plus L1 on the wrist-relative 3D joints (decimetres)."""

    def __init__(self, pairs: Path, model_dir: Path, network: HandPoseConfig, cfg: TrainConfig, seed: int) -> None:
        self.pairs, self.model_dir, self.network_cfg, self.cfg, self.seed = pairs, model_dir, network, cfg, seed
        self.loop = LoopSettings(cfg.steps, cfg.checkpoint_every, cfg.log_every, cfg.grad_clip)
        self.images, self.kps, self.joints = pose_targets(pairs, model_dir, network.image_size)

    def build(self, device: torch.device) -> TrainState:
        self.device = device
        model = HandPoseNet(self.network_cfg).to(device)
        opt, sched = _adamw(model, self.cfg)
        return TrainState(model, opt, sched, torch.Generator().manual_seed(self.seed))

    def loss(self, state: TrainState) -> torch.Tensor:
        g, n = state.generator, self.cfg.batch_size
        idx = torch.randint(0, len(self.images), (n,), generator=g)
        x = self.images[idx] + 0.05 * torch.randn(n, 3, 1, 1, generator=g)  # a colour cast per image
        kps, rel = state.model(x.to(self.device))
        return (kps - self.kps[idx].to(self.device)).abs().mean() + (rel - self.joints[idx].to(self.device)).abs().mean()

    def identity(self) -> list:
        return [
            self.network_cfg.to_dict(),
            self.cfg.to_dict(),
            self.seed,
            file_digest(self.pairs),
            file_digest(self.model_dir / "MANO_RIGHT.npz"),
        ]

    def export(self, state: TrainState) -> dict:
        return {"config": self.network_cfg.to_dict(), "mean_joints": self.joints.mean(0), "mean_kps": self.kps.mean(0)}


@torch.no_grad()
def held_out_accuracy(net: HandPoseNet, ckpt: dict, pairs: Path, model_dir: Path) -> dict[str, float]:
    """Wrist-relative MPJPE (mm) and 2D error (% of the crop) on held-out real crops, beside the training mean pose's."""
    images, kps, rel = pose_targets(pairs, model_dir, net.cfg.image_size)
    pred_kps, pred_rel = net(images)
    mm = lambda a: float(((a - rel).norm(dim=-1)).mean() * 100.0)  # noqa: E731 - decimetres -> mm
    px = lambda a: float(((a - kps).norm(dim=-1)).mean() * 50.0)  # noqa: E731 - NDC -> % of the crop side
    mean_rel, mean_kps = ckpt["mean_joints"][None], ckpt["mean_kps"][None]
    return {"mpjpe_mm": mm(pred_rel), "mean_pose_mpjpe_mm": mm(mean_rel), "kps_error_pct": px(pred_kps), "mean_kps_error_pct": px(mean_kps),
            "n": float(len(images))}  # fmt: skip


@torch.no_grad()
def predict_kps(net: HandPoseNet, images: np.ndarray) -> np.ndarray:
    """(N, 21, 2) joints in pixels of the given (N, S, S, 3) uint8 images."""
    side = images.shape[1]
    kps, _ = net(_to_tensor(_resize_all(images, net.cfg.image_size)))
    return ((kps + 1) / 2 * side).numpy()
