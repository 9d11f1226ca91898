"""Preprocessing: per time step two-hand MANO parameters and joints, into HDF5.

The equivalent of IntagHand's `anno/*.pkl` that InterHandGen and Semantics2Hands
read, with three deliberate differences: one row per capture time step rather
than per camera image (the fits are in world space, so IntagHand's per-image
rows are exact duplicates across cameras), every hand kept with a validity flag
rather than only interacting frames with both fits (consumers filter), and no
image-darkness filter (it needs the RGB images; consumers can filter on
`image_mean` from the images stage later).

Canonical frame: the capture's world frame, in metres (MANO's unit). Joints are
in InterHand2.6M's order (right 0-20, left 21-41, wrist last per hand). Per hand:
`global_orient` and `hand_pose` are axis-angle with the pose *minus the mean*
(NeuralAnnot's convention, i.e. smplx `flat_hand_mean=False`), `pca` the same pose
in the model's full 45-component PCA basis (IntagHand's `pose`), `root_rotmat`
the global rotation (IntagHand's `R`), `trans` smplx `transl`, `joints` the 21
joints of the fitted mesh, and `fit_error_mm` the mean distance between those and
the annotated joints over valid joints (DIGIT's meta dict uses it to flag bad fits).
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import torch

from handflow.datasets.interhand.reader import HAND_TYPES, InterHandSplit
from handflow.geometry.rotations import axis_angle_to_matrix_np
from handflow.hand.model import HandModel
from handflow.storage.atomic import atomic_path

SIDES = ("right", "left")
HAND_TYPE_CODES = {name: i for i, name in enumerate(HAND_TYPES)}  # -1: unknown
SCHEMA_VERSION = 2  # 2: hand_type_valid per time step


def preprocess_split(
    root: Path, split: str, hands: dict[str, HandModel], out: Path, batch_size: int, provenance: dict[str, str]
) -> dict[str, float]:
    data = InterHandSplit(root, split)
    keys = sorted(data.steps)
    steps = [data.steps[k] for k in keys]
    n = len(steps)
    subjects = {}
    for img in data.images:
        subjects[(img["capture"], img["frame_idx"])] = int(img.get("subject", -1))
    joints_world = np.stack([s.joints_world for s in steps]) / 1000.0 if n else np.zeros((0, 42, 3))
    joint_valid = np.stack([s.joint_valid for s in steps]) if n else np.zeros((0, 42), bool)
    metrics: dict[str, float] = {"time_steps": float(n), "images": float(len(data))}
    with atomic_path(out) as tmp, h5py.File(tmp, "w") as h5:
        h5.attrs.update(
            {
                **provenance,
                "split": split,
                "schema_version": SCHEMA_VERSION,
                "units": "metres",
                "frame": "capture world frame",
                "joint_order": "InterHand2.6M (right 0-20, left 21-41)",
            }
        )
        h5["capture"] = np.array([s.capture for s in steps], np.int32)
        h5["frame_idx"] = np.array([s.frame_idx for s in steps], np.int32)
        h5["subject"] = np.array([subjects.get(k, -1) for k in keys], np.int32)
        h5["seq_name"] = np.array([s.seq_name for s in steps], dtype=h5py.string_dtype())
        h5["hand_type"] = np.array([HAND_TYPE_CODES.get(s.hand_type, -1) for s in steps], np.int8)
        # an image annotation's hand_type_valid, per time step: any of its images (IntagHand keeps only such frames)
        typed = {(rec.capture, rec.frame_idx) for rec in data if rec.hand_type_valid}
        h5["hand_type_valid"] = np.array([k in typed for k in keys], bool)
        h5["hand_type"].attrs["codes"] = ", ".join(f"{i}={t}" for t, i in HAND_TYPE_CODES.items()) + ", -1=unknown"
        h5["joints_world"] = joints_world.astype(np.float32)
        h5["joint_valid"] = joint_valid
        for side in SIDES:
            metrics.update(_write_hand(h5, side, steps, hands[side], joints_world, joint_valid, batch_size))
    return metrics


def _write_hand(h5, side, steps, model: HandModel, joints_world, joint_valid, batch_size) -> dict[str, float]:
    n = len(steps)
    fits = [s.mano[side] for s in steps]
    valid = np.array([f is not None for f in fits], bool)
    zeros = {"global_orient": np.zeros(3), "hand_pose": np.zeros(45), "shape": np.zeros(10), "trans": np.zeros(3)}
    cols = {k: np.stack([getattr(f, k) if f is not None else z for f in fits]) if n else np.zeros((0, *z.shape)) for k, z in zeros.items()}
    joints = np.zeros((n, 21, 3))
    with torch.no_grad():
        for start in range(0, n, batch_size):
            sl = slice(start, start + batch_size)
            dtype = model.layer.v_template.dtype
            out = model(*(torch.as_tensor(cols[k][sl], dtype=dtype) for k in ("global_orient", "hand_pose", "shape", "trans")))
            joints[sl] = out.joints.double().numpy()
        pca = model.pose_to_pca(torch.as_tensor(cols["hand_pose"], dtype=model.hands_components.dtype)).numpy() if n else np.zeros((0, 45))
    off = 0 if side == "right" else 21
    gt, gt_valid = joints_world[:, off : off + 21], joint_valid[:, off : off + 21]
    dist = np.linalg.norm(joints - gt, axis=-1) * 1000.0
    with np.errstate(invalid="ignore"):
        err = (dist * gt_valid).sum(1) / gt_valid.sum(1)
    err = np.where(valid & (gt_valid.sum(1) > 0), err, np.nan)
    g = h5.create_group(side)
    g["valid"] = valid
    for key in ("global_orient", "hand_pose", "shape", "trans"):
        g[key] = cols[key].astype(np.float32)
    g["pca"] = pca.astype(np.float32)
    g["root_rotmat"] = axis_angle_to_matrix_np(cols["global_orient"]).astype(np.float32) if n else np.zeros((0, 3, 3))
    g["joints"] = joints.astype(np.float32)
    g["fit_error_mm"] = err.astype(np.float32)
    finite = err[np.isfinite(err)]
    return {f"{side}_fits": float(valid.sum()), f"{side}_fit_error_mm_median": float(np.median(finite)) if len(finite) else float("nan")}
