"""Two-hand pose metrics as InterNet and DIGIT evaluate them (DIGIT reference section 5).

MPJPE: each hand is aligned at its own wrist (pred and ground truth), per-joint
errors in mm are averaged per joint over the frames of a bucket where that joint is
valid (single-hand frames, interacting frames, all), and the metric is the mean of
the 42 per-joint means. The seed's mean includes both wrists, at 0 mm by
construction, which lowers it by about 2/42; `include_wrists=False` gives the
mean over the 40 others. MRRPE: the error of the left-minus-right root vector on
interacting frames with both roots valid. Handedness: both outputs right (right
present, left present) at 0.5. Segmentation: mean IoU over the non-background classes
present in prediction or ground truth, accumulated over the whole set (the seed
has the function but never calls it).
"""

from __future__ import annotations

import numpy as np

from handflow.errors import ComputationError

WRISTS = (20, 41)


def _root_aligned(joints: np.ndarray) -> np.ndarray:
    out = joints.copy()
    out[:, :21] -= joints[:, WRISTS[0] : WRISTS[0] + 1]
    out[:, 21:] -= joints[:, WRISTS[1] : WRISTS[1] + 1]
    return out


def bucket_rows(hand_type: np.ndarray) -> dict[str, np.ndarray]:
    """Frames of each MPJPE bucket: all, single (hand type 0 right or 1 left), interacting (2)."""
    return {"all": np.ones(len(hand_type), bool), "single": np.isin(hand_type, (0, 1)), "interacting": hand_type == 2}


def validity_mask(valid: np.ndarray) -> np.ndarray:
    """A joint validity mask as booleans: bools, or the 0/1 numbers the annotation files store (`joint_valid` is float)."""
    valid = np.asarray(valid)
    if valid.dtype == bool:
        return valid
    if valid.dtype.kind not in "iuf" or not np.isin(valid, (0, 1)).all():
        raise ComputationError(f"MPJPE: a validity mask holds 0 and 1 (or booleans); got {valid.dtype} values other than those")
    return valid == 1


def _check_pose_inputs(pred: np.ndarray, gt: np.ndarray, valid: np.ndarray, hand_type: np.ndarray) -> None:
    n = len(gt)
    if n == 0:
        raise ComputationError("MPJPE: no frames to measure")
    if pred.shape != (n, 42, 3) or gt.shape != (n, 42, 3) or valid.shape != (n, 42) or hand_type.shape != (n,):
        raise ComputationError(f"MPJPE: shapes pred {pred.shape}, gt {gt.shape}, valid {valid.shape}, hand_type {hand_type.shape} disagree")
    if not (np.isfinite(pred[valid]).all() and np.isfinite(gt[valid]).all()):
        raise ComputationError("MPJPE: NaN or inf in a valid joint's coordinates")
    if not np.isin(hand_type, (0, 1, 2)).all():
        raise ComputationError("MPJPE: hand types must be 0 (right), 1 (left) or 2 (interacting)")


def mpjpe(pred: np.ndarray, gt: np.ndarray, valid: np.ndarray, hand_type: np.ndarray, include_wrists: bool = True) -> dict[str, float]:
    """{"all", "single", "interacting"}: mm, from (N, 42, 3) camera-space joints in mm.

    `valid` (N, 42): booleans or the annotation files' 0/1 numbers. A bucket with no valid joint
    is NaN (no frame to measure: the evaluation writes null); bad input (no frames, disagreeing
    shapes, a mask value other than 0/1, NaN in a valid joint) raises ComputationError.
    """
    valid = validity_mask(valid)
    _check_pose_inputs(pred, gt, valid, hand_type)
    with np.errstate(invalid="ignore"):  # invalid joints may hold NaN; they are masked below
        err = np.linalg.norm(_root_aligned(pred) - _root_aligned(gt), axis=-1)
    err = np.where(valid, err, 0.0)
    buckets = bucket_rows(hand_type)
    joints = np.arange(42) if include_wrists else np.setdiff1d(np.arange(42), WRISTS)
    out = {}
    for name, rows in buckets.items():
        v = valid[rows][:, joints]
        counts = v.sum(0)
        per_joint = (err[rows][:, joints] * v).sum(0) / np.maximum(counts, 1)
        out[name] = float(per_joint[counts > 0].mean()) if (counts > 0).any() else float("nan")
    return out


def mrrpe(pred_left_minus_right: np.ndarray, gt_left_minus_right: np.ndarray, mask: np.ndarray) -> float:
    """Mean error (mm) of the relative root position over the masked frames."""
    if not mask.any():
        return float("nan")
    return float(np.linalg.norm(pred_left_minus_right[mask] - gt_left_minus_right[mask], axis=-1).mean())


def handedness_accuracy(prob: np.ndarray, gt: np.ndarray, valid: np.ndarray) -> float:
    """Share of valid frames whose [right, left] presence is right on both outputs."""
    if not valid.any():
        return float("nan")
    return float(((prob[valid] > 0.5) == (gt[valid] > 0.5)).all(1).mean())


def confusion(pred: np.ndarray, gt: np.ndarray, n_classes: int = 33) -> np.ndarray:
    """(n_classes, n_classes) pixel counts, rows ground truth, columns prediction."""
    flat = gt.ravel().astype(np.int64) * n_classes + pred.ravel()
    return np.bincount(flat, minlength=n_classes**2).reshape(n_classes, n_classes)


def miou_of_confusion(conf: np.ndarray) -> float:
    """Mean IoU over the non-background classes that occur in prediction or ground truth."""
    inter = np.diag(conf)[1:].astype(np.float64)
    union = (conf.sum(0) + conf.sum(1) - np.diag(conf))[1:]
    return float((inter[union > 0] / union[union > 0]).mean()) if (union > 0).any() else float("nan")


def segmentation_miou(pred: np.ndarray, gt: np.ndarray, n_classes: int = 33) -> float:
    """Mean IoU over the non-background classes that occur in prediction or ground truth, accumulated over the whole set."""
    return miou_of_confusion(confusion(pred, gt, n_classes))
