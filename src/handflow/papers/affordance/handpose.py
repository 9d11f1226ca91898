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

from pathlib import Path

import numpy as np
import torch

from handflow.diffusion import resize_images, to_tensor
from handflow.errors import InputError
from handflow.papers.affordance.networks import HandPoseNet
from handflow.papers.affordance.pair_data import read_pairs_file

JOINT_SCALE = 10.0  # 3D targets in decimetres (metres x 10): order-one numbers for the regression


def pose_targets(pairs: Path, model_dir: Path, size: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Crops (N, 3, S, S), 2D joints in crop NDC (N, 21, 2) and wrist-relative 3D joints in decimetres (N, 21, 3)."""
    from handflow.hand.model import create

    raw = read_pairs_file(pairs, ("hoi", "kps2d", "pose", "beta", "trans"))
    if "pose" not in raw:
        raise InputError(pairs, "pose", "missing: the pairs carry no hand labels (kps2d, pose, beta, trans)")
    hoi, kps, pose, beta, trans = (raw[k] for k in ("hoi", "kps2d", "pose", "beta", "trans"))
    hand = create(model_dir, "right")
    mean = hand.layer.hand_mean.detach()
    f = lambda a: torch.as_tensor(a, dtype=torch.float32)  # noqa: E731
    with torch.no_grad():
        joints = hand(f(pose[:, :3]), f(pose[:, 3:]) - mean, f(beta), f(trans)).joints_openpose()
    rel = (joints - joints[:, :1]) * JOINT_SCALE
    ndc = f(kps) / hoi.shape[1] * 2 - 1
    return to_tensor(resize_images(hoi, size)), ndc, rel


@torch.no_grad()
def held_out_accuracy(net: HandPoseNet, ckpt: dict, pairs: Path, model_dir: Path) -> dict[str, float]:
    """Wrist-relative MPJPE (mm) and 2D error (% of the crop) on held-out real crops, beside the training mean pose's."""
    images, kps, rel = pose_targets(pairs, model_dir, net.cfg.image_size)
    pred_kps, pred_rel = net(images)
    mm = lambda a: float(((a - rel).norm(dim=-1)).mean() * 100.0)  # noqa: E731 - decimetres -> mm
    px = lambda a: float(((a - kps).norm(dim=-1)).mean() * 50.0)  # noqa: E731 - NDC -> % of the crop side
    mean_rel, mean_kps = ckpt["mean_joints"][None], ckpt["mean_kps"][None]
    return {
        "mpjpe_mm": mm(pred_rel),
        "mean_pose_mpjpe_mm": mm(mean_rel),
        "kps_error_pct": px(pred_kps),
        "mean_kps_error_pct": px(mean_kps),
        "n": float(len(images)),
    }


@torch.no_grad()
def predict_kps(net: HandPoseNet, images: np.ndarray) -> np.ndarray:
    """(N, 21, 2) joints in pixels of the given (N, S, S, 3) uint8 images."""
    side = images.shape[1]
    kps, _ = net(to_tensor(resize_images(images, net.cfg.image_size)))
    return ((kps + 1) / 2 * side).numpy()
