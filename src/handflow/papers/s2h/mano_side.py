"""The MANO domain ("MixHand"): MANO as a 21-joint hand in the seed's order, and InterHand2.6M fits as contiguous runs.

MANO's rest rotations are identity, as a BVH's: a hand of shape `betas` is its regressed
rest joints (the tips from the model's tip vertices) as offsets, and a pose is the 15
local axis-angle rotations of the fit (InterHand2.6M's `hand_pose` is the pose minus the
mean; the mean is added back, the seed's "stored 48-d + pose_mean"). Runs as the seed's
`convert_interhand_bvh`: frames of one sequence split where the frame index jumps by more
than the sequence's first step or the right hand is missing; runs of one frame dropped.
The split's subjects are the InterHand2.6M split's (train / val / test subjects differ).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from handflow.datasets.interhand.preprocessed import read_preprocessed
from handflow.papers.s2h.axes import joint_axes
from handflow.papers.s2h.hand import FINGERS, N_JOINTS, PARENTS
from handflow.storage.hdf5_files import texts

MANO_FINGER = {"Index": 0, "Middle": 1, "Pinky": 2, "Ring": 3, "Thumb": 4}  # MANO's 16 joints: wrist, then 3 per finger
OPENPOSE_FINGER = {"Thumb": 0, "Index": 1, "Middle": 2, "Ring": 3, "Pinky": 4}
SEED_FROM_OPENPOSE = np.array([0] + [1 + 4 * OPENPOSE_FINGER[f] + j for f in FINGERS for j in range(4)])
SEED_FROM_MANO16 = np.array([1 + 3 * MANO_FINGER[f] + j for f in FINGERS for j in range(3)])  # the 15 rotating joints


@dataclass(frozen=True)
class ManoHand:
    offsets: np.ndarray  # (21, 3) cm
    axes: np.ndarray  # (21, 3, 3)
    vertices: np.ndarray  # (778, 3) cm at rest, wrist at the origin
    faces: np.ndarray
    weights: np.ndarray  # (778, 21)


def mano_hand(model, betas: np.ndarray) -> ManoHand:
    """The right MANO hand of shape `betas` (10,) at rest (flat pose), in the seed's joint order, centimetres."""
    with torch.no_grad():
        out = model(torch.zeros(1, 3), -model.layer.hand_mean[None], torch.as_tensor(betas[None], dtype=torch.float32), torch.zeros(1, 3))
    joints = out.joints_openpose()[0].double().numpy()[SEED_FROM_OPENPOSE] * 100.0
    verts = out.vertices[0].double().numpy() * 100.0 - joints[0]
    joints = joints - joints[0]
    w16 = model.layer.lbs_weights.double().numpy()
    weights = np.zeros((len(w16), N_JOINTS))
    weights[:, 0] = w16[:, 0]
    weights[:, [1 + 4 * f + j for f in range(5) for j in range(3)]] = w16[:, SEED_FROM_MANO16]
    offsets = joints - joints[np.maximum(PARENTS, 0)]
    offsets[0] = 0.0
    axes, _ = joint_axes(joints, verts, weights)
    return ManoHand(offsets, axes, verts, np.asarray(model.faces.numpy()), weights)


def local_rotations(hand_pose: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """(F, 21, 3, 3) local rotations in the seed's order from (F, 45) poses minus the mean (wrist and tips identity)."""
    aa = (hand_pose + mean).reshape(len(hand_pose), 15, 3)
    out = np.broadcast_to(np.eye(3), (len(hand_pose), N_JOINTS, 3, 3)).copy()
    rot = Rotation.from_rotvec(aa[:, SEED_FROM_MANO16 - 1].reshape(-1, 3)).as_matrix().reshape(len(hand_pose), 15, 3, 3)
    out[:, [1 + 4 * f + j for f in range(5) for j in range(3)]] = rot
    return out


@dataclass(frozen=True)
class ManoRun:
    subject: int
    name: str  # <capture>_<first frame>_<last frame>, the seed's file stem
    hand_pose: np.ndarray  # (T, 45) minus the mean
    betas: np.ndarray  # (T, 10)


def interhand_runs(path: Path) -> tuple[list[ManoRun], dict[int, np.ndarray]]:
    """The right hand's contiguous runs (two frames or more) of one preprocessed InterHand2.6M split, and every subject's
    mean shape over its valid frames (a subject whose frames make no run still has a hand)."""
    cols = read_preprocessed(path, ["capture", "frame_idx", "subject", "seq_name", "right/hand_pose", "right/shape", "right/valid"]).arrays
    cols["seq_name"] = np.array(texts(cols["seq_name"]))
    runs = []
    valid = cols["right/valid"]
    shapes = {
        int(sub): cols["right/shape"][valid & (cols["subject"] == sub)].astype(np.float64).mean(0)
        for sub in np.unique(cols["subject"][valid])
    }
    seqs = cols["seq_name"]
    for seq in dict.fromkeys(seqs):
        idx = np.flatnonzero(seqs == seq)
        idx = idx[np.argsort(cols["frame_idx"][idx], kind="stable")]
        frames = cols["frame_idx"][idx]
        step = int(np.diff(frames)[0]) if len(frames) > 1 else 1
        cuts = np.flatnonzero((np.diff(frames) > step) | ~cols["right/valid"][idx][1:] | ~cols["right/valid"][idx][:-1]) + 1
        for piece in np.split(np.arange(len(idx)), cuts):
            part = piece[cols["right/valid"][idx[piece]]]
            if len(part) < 2:
                continue
            rows = idx[part]
            name = f"{int(cols['capture'][rows[0]])}_{frames[part[0]]}_{frames[part[-1]]}"
            pose, shape = cols["right/hand_pose"][rows].astype(np.float64), cols["right/shape"][rows].astype(np.float64)
            runs.append(ManoRun(int(cols["subject"][rows[0]]), name, pose, shape))
    return runs, shapes
