"""The table's measurements: FID/KID and H-FID/H-KID of every image row, and the downstream pose metrics.

Image rows (section B4): clean-fid's definitions on EfficientNet-Lite0's ImageNet features
(`judging`; the seed: Inception pool3, 2048-d, which no package ships): FID = ||mu1 - mu2||^2
+ Tr(S1 + S2 - 2 (S1 S2)^1/2); KID = the unbiased MMD^2 with the cubic kernel (x.y / d + 1)^3
averaged over 100 subsets of min(N1, N2, 1000). H-variants (`produce_masks.py`): every image
multiplied by its person mask (background black), the mask from the same judge (MediaPipe
Pose's segmentation) for generated and reference images alike, as the seed runs Mask R-CNN
on both; an image without a person is all black. The reference set is `web_ref`; each generated row is sampled `n_seeds` times
(its ± is over those), the floor (`web_holdout`, the same distribution) is one value.

Pose rows (SPIN/DAPA's evaluation): PCK@0.1 = share of GT-visible joints within 0.1 x the side
of the person-centred crop the seed evaluates in (`eval_diffusion.py`: 0.1 x 224 px of SPIN's
crop), per image, then over images, x 100 (an image with no visible joint counts 0). The crop
is SPIN's eval box: a square of 1.2 x the larger side of the visible ground-truth keypoints'
box (`crop_side`), so the threshold follows the person's size, not the frame's (0.1 of the
frame side was about 1.8x more lenient relative to the body at the demo's framing);
MPJPE = mean joint error after centring both at the pelvis (mid-hips), mm; PA-MPJPE = the
same after a similarity Procrustes alignment (roma's Umeyama). All on `real_test`.
"""

from __future__ import annotations

import numpy as np
import roma
import torch

from handflow.errors import ComputationError
from handflow.metrics.generative import frechet_distance, kernel_distance
from handflow.papers.dhpc.skeleton import HIPS

KID_SUBSETS, KID_SUBSET_SIZE, KID_DEGREE = 100, 1000, 3  # clean-fid's compute_kid defaults


def image_metrics(feats: np.ndarray, ref: np.ndarray, masked: np.ndarray, ref_masked: np.ndarray, rng: np.random.Generator) -> dict:
    kid = lambda a, b: kernel_distance(a, b, KID_SUBSETS, KID_SUBSET_SIZE, KID_DEGREE, rng)[0]  # noqa: E731
    return {
        "fid": frechet_distance(feats, ref),
        "kid": kid(feats, ref),
        "h_fid": frechet_distance(masked, ref_masked),
        "h_kid": kid(masked, ref_masked),
    }


CROP_MARGIN = 1.2  # SPIN's eval crops: 1.2 x the keypoint box's larger side


def crop_side(gt: np.ndarray) -> np.ndarray:
    """(N, 14, 3) GT pixels + visibility -> (N,) side of each image's person-centred square crop, pixels (0 when
    fewer than two joints are visible: no box, so no joint can count)."""
    visible = gt[..., 2] > 0
    lo = np.where(visible[..., None], gt[..., :2], np.inf).min(1)
    hi = np.where(visible[..., None], gt[..., :2], -np.inf).max(1)
    side = CROP_MARGIN * (hi - lo).max(-1)
    return np.where(visible.sum(1) >= 2, side, 0.0)


def pck(pred_uv: np.ndarray, gt: np.ndarray, threshold: float = 0.1) -> float:
    """(N, 14, 2) predicted pixels, (N, 14, 3) GT pixels + visibility -> PCK x 100, relative to each person's crop."""
    if len(gt) == 0 or pred_uv.shape != gt[..., :2].shape:
        raise ComputationError(f"PCK: {pred_uv.shape} predicted and {gt.shape} ground-truth keypoints")
    visible = gt[..., 2] > 0
    reach = threshold * crop_side(gt)[:, None]
    hit = (np.linalg.norm(pred_uv - gt[..., :2], axis=-1) < reach) & visible
    per_image = np.where(visible.any(1), hit.sum(1) / np.maximum(visible.sum(1), 1), 0.0)
    return float(per_image.mean() * 100.0)


def mpjpe(pred: np.ndarray, gt: np.ndarray) -> tuple[float, float]:
    """(N, 14, 3) mm -> (MPJPE, PA-MPJPE) in mm, pelvis-centred."""
    if len(pred) == 0 or pred.shape != gt.shape:
        raise ComputationError(f"MPJPE: {pred.shape} predicted and {gt.shape} ground-truth joints")
    for name, joints in (("predicted", pred), ("ground-truth", gt)):
        if not np.isfinite(joints).all():
            raise ComputationError(
                f"MPJPE: NaN or inf in the {name} joints (image {int(np.flatnonzero(~np.isfinite(joints).all((1, 2)))[0])})"
            )
    centre = lambda k: k - k[:, list(HIPS)].mean(1, keepdims=True)  # noqa: E731
    p, g = centre(pred), centre(gt)
    err = np.linalg.norm(p - g, axis=-1).mean()
    pt, gtt = torch.as_tensor(p), torch.as_tensor(g)
    rot, trans, scale = roma.rigid_points_registration(pt, gtt, compute_scaling=True)
    aligned = scale[:, None, None] * pt @ rot.transpose(1, 2) + trans[:, None]
    return float(err), float((aligned - gtt).norm(dim=-1).mean())
