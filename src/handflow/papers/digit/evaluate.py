"""DIGIT evaluation: predictions back to camera space, then MPJPE, MRRPE, handedness and part-segmentation mIoU.

Heatmap coordinates go to crop pixels (x4), through the inverse crop map to image
pixels; depth is z = (z_hm / 64 x 2 - 1) x 200 mm plus the hand's absolute root depth,
then the camera back-projects. The seed takes the root depths from RootNet
(unreleased for our data); we use the ground-truth root depths (its `trans_test='gt'`
option), so MPJPE measures the 2.5D pose, not absolute depth, and MRRPE uses the
ground-truth right root depth with the predicted relative depth, as the seed does.

Each metric carries its standard error from a bootstrap over the test images: the noise
of the test set's sampling, against which a difference between two models is judged.

Every row also has the 2D joint error in pixels of the seed's 256 px crop, over valid
joints: the column on which an off-the-shelf hand landmarker no one here trained (MediaPipe
Hands, `evaluate_landmarker`) sits beside our models and the mean pose. It sees the same
crops and reports, per hand it finds, 21 landmarks and a side; a ground-truth hand it does
not find counts in *hands found*, not in the 2D error.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import torch

from handflow.errors import ComputationError
from handflow.hand.joints import OPENPOSE_TO_IH26M
from handflow.metrics.pose import confusion, handedness_accuracy, miou_of_confusion, mpjpe, mrrpe
from handflow.metrics.uncertainty import bootstrap_se
from handflow.papers.digit.annotations import read_annotations
from handflow.papers.digit.dataset import BBOX_3D_MM, HEATMAP, INPUT, WRISTS, DigitSamples, _affine
from handflow.papers.digit.networks import Digit


@torch.no_grad()
def predict(model: Digit, data: DigitSamples, batch: int = 16) -> dict[str, np.ndarray]:
    """The model's outputs on every sample, computed on the model's device (fp32), returned as host arrays."""
    device = next(model.parameters(), torch.empty(0)).device  # a parameter-free model (the tests' oracle): the CPU
    outs: dict[str, list[np.ndarray]] = {"joints": [], "rel_root_depth": [], "hand_prob": [], "segm": [], "mask": []}
    for start in range(0, len(data), batch):
        samples = torch.utils.data.default_collate([data[i] for i in range(start, min(start + batch, len(data)))])
        out = {k: v.cpu() for k, v in model(samples["image"].to(device)).items()}
        outs["joints"].append(out["joints"].numpy())
        outs["rel_root_depth"].append(out["rel_root_depth"].numpy())
        outs["hand_prob"].append(out["hand_logits"].sigmoid().numpy())
        outs["mask"].append(samples["mask"].numpy())
        if "segm_logits" in out:
            outs["segm"].append(out["segm_logits"].argmax(1).numpy().astype(np.uint8))
    return {k: np.concatenate(v) for k, v in outs.items() if v}


def _backproject(uv: np.ndarray, z: np.ndarray, focal: np.ndarray, princpt: np.ndarray) -> np.ndarray:
    return np.concatenate([(uv - princpt) / focal * z[..., None], z[..., None]], -1)


ANNOTATION_KEYS = ("crop_box", "joints_cam", "joints_img", "joint_valid", "hand_type", "hand_type_valid", "root_depth", "focal", "princpt")


def crop_pixels(uv: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """(N, J, 2) image pixels -> pixels of each image's unaugmented 256 px crop (the seed's input)."""
    out = np.empty_like(uv, dtype=np.float64)
    for i, box in enumerate(boxes):
        out[i] = np.c_[uv[i], np.ones(uv.shape[1])] @ _affine(box.astype(np.float64), INPUT, 1.0, 0.0, False).T
    return out


def joint_error_px(pred: np.ndarray, gt: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """(N, 42) 2D errors in crop pixels; NaN where the joint is not valid or not predicted."""
    err = np.linalg.norm(pred - gt, axis=-1)
    return np.where(valid & np.isfinite(err), err, np.nan)


def _mean_error(err: np.ndarray) -> float:
    return float(np.nanmean(err)) if np.isfinite(err).any() else float("nan")


def _summary(scores: Callable[[np.ndarray], dict[str, float]], n: int, n_boot: int) -> dict:
    if n < 2:
        raise ComputationError(f"DIGIT evaluation: {n} test image(s); at least 2 are needed for a value with its standard error")
    whole = scores(np.arange(n))
    se = bootstrap_se(scores, n, n_boot)
    # no value (no frame to measure) is null in the JSON, never NaN
    return {"n_images": n, "metrics": {k: {"mean": v if np.isfinite(v) else None, "se": se.get(k), "n": n} for k, v in whole.items()}}


def evaluate(model: Digit, data: DigitSamples, annotations: Path, n_boot: int = 200) -> dict:
    """Metrics on a split read without augmentation (`data.augment` must be None), each with its bootstrap s.e. over images.

    Returns {"n_images", "metrics": {name: {"mean": value on the whole set, "se": ..., "n": ...}}}; a
    metric with no frame to measure (e.g. interacting MPJPE without interacting images) has mean None.
    MRRPE follows the seed: the right root at its (ground-truth) absolute depth, the left root
    at that depth plus the predicted relative root depth, both back-projected from the
    predicted 2D roots.
    """
    if len(data) < 2:
        raise ComputationError(f"DIGIT evaluation: {len(data)} test image(s) in {annotations}; at least 2 are needed")
    pred = predict(model, data)
    ann = read_annotations(annotations, ANNOTATION_KEYS)
    n = len(pred["joints"])
    uv = np.empty((n, 42, 2))
    for i in range(n):
        inverse = cv2.invertAffineTransform(_affine(ann["crop_box"][i].astype(np.float64), INPUT, 1.0, 0.0, False))
        crop_px = pred["joints"][i, :, :2] * INPUT / HEATMAP
        uv[i] = np.c_[crop_px, np.ones(42)] @ inverse.T
    root = np.nan_to_num(ann["root_depth"].astype(np.float64))  # invalid roots: their joints are invalid anyway
    rel_mm = (pred["joints"][..., 2] / HEATMAP * 2 - 1) * (BBOX_3D_MM / 2)
    z = rel_mm + np.repeat(root, 21, axis=1)
    focal, princpt = ann["focal"][:, None].astype(np.float64), ann["princpt"][:, None].astype(np.float64)
    cam = _backproject(uv, z, focal, princpt)
    gt, valid, hand_type = ann["joints_cam"].astype(np.float64), ann["joint_valid"], ann["hand_type"]
    both = (hand_type == 2) & valid[:, WRISTS[0]] & valid[:, WRISTS[1]]
    rel_pred = (pred["rel_root_depth"] / HEATMAP * 2 - 1) * (BBOX_3D_MM / 2)
    right = _backproject(uv[:, WRISTS[0]], root[:, 0], focal[:, 0], princpt[:, 0])
    left = _backproject(uv[:, WRISTS[1]], root[:, 0] + rel_pred, focal[:, 0], princpt[:, 0])
    rel_err = (left - right, gt[:, WRISTS[1]] - gt[:, WRISTS[0]])
    types = np.stack([np.isin(hand_type, (0, 2)), np.isin(hand_type, (1, 2))], 1).astype(float)
    err2d = joint_error_px(crop_pixels(uv, ann["crop_box"]), crop_pixels(ann["joints_img"][..., :2], ann["crop_box"]), valid.astype(bool))
    # per-image confusion of the part masks (zero where the image's fit is flagged), summed per resample
    conf = None
    if "segm" in pred:
        empty = np.zeros((33, 33), np.int64)
        conf = np.stack([confusion(p, m) if ok else empty for p, m, ok in zip(pred["segm"], pred["mask"], data.segm_valid, strict=True)])

    def scores(idx: np.ndarray) -> dict[str, float]:
        out = {f"mpjpe_{k}": v for k, v in mpjpe(cam[idx], gt[idx], valid[idx], hand_type[idx]).items()}
        out["mrrpe"] = mrrpe(rel_err[0][idx], rel_err[1][idx], both[idx])
        out["handedness_accuracy"] = handedness_accuracy(pred["hand_prob"][idx], types[idx], ann["hand_type_valid"][idx].astype(bool))
        out["kp2d_error_px"] = _mean_error(err2d[idx])
        if conf is not None:
            out["segm_miou"] = miou_of_confusion(conf[idx].sum(0))
        return out

    return _summary(scores, n, n_boot)


def mean_pose(train_annotations: Path) -> np.ndarray:
    """(42, 3) mm: each joint's mean offset from its own hand's wrist over the training images where both are valid."""
    ann = read_annotations(train_annotations, ANNOTATION_KEYS)
    joints, valid = ann["joints_cam"].astype(np.float64), ann["joint_valid"].astype(bool)
    offsets = np.zeros((42, 3))
    for hand, wrist in enumerate(WRISTS):
        block = slice(21 * hand, 21 * hand + 21)
        rel = joints[:, block] - joints[:, wrist : wrist + 1]
        ok = valid[:, block] & valid[:, wrist : wrist + 1]
        offsets[block] = (rel * ok[..., None]).sum(0) / np.maximum(ok.sum(0), 1)[:, None]
    return offsets


def evaluate_mean_pose(train_annotations: Path, test_annotations: Path, n_boot: int = 200) -> dict:
    """The trivial baseline: the training set's mean pose placed at each test image's true wrists.

    Only the MPJPE columns mean something for it (its roots are the truth; it predicts no
    handedness or mask): a model that does not beat it has learned nothing of the pose.
    """
    offsets = mean_pose(train_annotations)
    ann = read_annotations(test_annotations, ANNOTATION_KEYS)
    gt, valid, hand_type = ann["joints_cam"].astype(np.float64), ann["joint_valid"], ann["hand_type"]
    wrists = np.repeat(gt[:, list(WRISTS)], 21, axis=1)
    pred = wrists + offsets[None]
    focal, princpt = ann["focal"][:, None].astype(np.float64), ann["princpt"][:, None].astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):  # invalid joints may sit at depth 0; they are masked
        uv = pred[..., :2] / pred[..., 2:] * focal + princpt
    err2d = joint_error_px(crop_pixels(uv, ann["crop_box"]), crop_pixels(ann["joints_img"][..., :2], ann["crop_box"]), valid.astype(bool))

    def scores(idx: np.ndarray) -> dict[str, float]:
        out = {f"mpjpe_{k}": v for k, v in mpjpe(pred[idx], gt[idx], valid[idx], hand_type[idx]).items()}
        return {**out, "kp2d_error_px": _mean_error(err2d[idx])}

    return _summary(scores, len(gt), n_boot)


def evaluate_landmarker(judge, stores, n_boot: int = 200) -> dict:
    """The off-the-shelf row: a hand landmarker (`handflow.judges.hands`) on the test crops, 2D only.

    Its landmarks are mapped to InterHand2.6M's joint order; each hand it finds fills the
    ground truth's block of its side (the best-scoring one if it finds two of a side).
    Handedness: its [right found, left found] against the truth's, as the models' outputs.
    """
    data = stores.samples(None, INPUT)
    if len(data) < 2:
        raise ComputationError(f"DIGIT evaluation: {len(data)} test image(s) in {stores.annotations}; at least 2 are needed")
    ann = read_annotations(stores.annotations, ANNOTATION_KEYS)
    n = len(data)
    pred = np.full((n, 42, 2), np.nan)
    found = np.zeros((n, 2), bool)  # [right, left]
    for i in range(n):
        crop = np.round(data[i]["image"].numpy().transpose(1, 2, 0) * 255).astype(np.uint8)
        for hand in judge(crop[None])[0]:
            k = 0 if hand.side == "right" else 1
            if not found[i, k]:
                found[i, k] = True
                pred[i, 21 * k : 21 * (k + 1)] = hand.landmarks[OPENPOSE_TO_IH26M]
    valid = ann["joint_valid"].astype(bool)
    err2d = joint_error_px(pred, crop_pixels(ann["joints_img"][..., :2], ann["crop_box"]), valid)
    types = np.stack([np.isin(ann["hand_type"], (0, 2)), np.isin(ann["hand_type"], (1, 2))], 1)
    present = types & np.stack([valid[:, WRISTS[0]], valid[:, WRISTS[1]]], 1)  # a hand the truth has in view

    def scores(idx: np.ndarray) -> dict[str, float]:
        hands = present[idx]
        return {
            "kp2d_error_px": _mean_error(err2d[idx]),
            "hands_found": float(found[idx][hands].mean()) if hands.any() else float("nan"),
            "handedness_accuracy": handedness_accuracy(
                found[idx].astype(float), types[idx].astype(float), ann["hand_type_valid"][idx].astype(bool)
            ),
        }

    return _summary(scores, n, n_boot) | {"judge": judge.provenance()}
