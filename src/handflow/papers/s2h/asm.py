"""The anatomy-based semantic matrix (ASM) and the bs-rotations (reference A3, A4), vectorised over frames.

ASM, finger part: A_f[i, j] = F_i^T (p_j - p_i) for the 20 finger joints, F_i the joint's
global twist/bend/splay frame (global rotation x its rest axes); palm part: A_p[i, k] =
F_i^T (a_k - p_i) against 9 palm anchors (1/3 and 2/3 of the way from the wrist to each of
the Middle, Ring, Pinky, Index knuckles, and the midpoint of the wrist and Thumb1). Both are
divided by the frame's wrist-to-Middle1 length. Metrics and losses read directions only.

bs-rotation: a joint's local rotation as the deviation from the canonical flat hand, in its
own twist/bend/splay axes: bs = T^-1 R_rest^-1 R T with T the rest axes (columns t, b, s),
R_rest the local rotation that lays the hand flat (fingers on the palm plane; the four
fingers parallel to the wrist-to-Middle1 direction), R the motion's local rotation.
Inverse: R = R_rest T bs T^-1. Euler XYZ of bs reads (twist, bend, splay).
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from handflow.papers.s2h.axes import MIDDLE1, THUMB, children_of, palm_normal
from handflow.papers.s2h.hand import FINGERS, N_JOINTS, NON_TIPS, PARENTS, forward_kinematics

FINGER_JOINTS = np.arange(1, N_JOINTS)  # the 20 rows of the ASM
KNUCKLES = [1 + 4 * FINGERS.index(f) for f in ("Middle", "Ring", "Pinky", "Index")]


def palm_anchors(pos: np.ndarray) -> np.ndarray:
    """(F, 9, 3) anchors of (F, 21, 3) joint positions."""
    wrist = pos[:, :1]
    knuckles = pos[:, KNUCKLES]
    thirds = np.stack([2 / 3 * wrist + 1 / 3 * knuckles, 1 / 3 * wrist + 2 / 3 * knuckles], axis=2).reshape(len(pos), 8, 3)
    thumb = 0.5 * (pos[:, 0] + pos[:, 1 + 4 * THUMB])
    return np.concatenate([thirds, thumb[:, None]], axis=1)


def asm(pos: np.ndarray, glob: np.ndarray, axes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(F, 20, 20, 3) finger part and (F, 20, 9, 3) palm part of posed joints (F, 21, 3), global rotations (F, 21, 3, 3)
    and rest axes (21, 3, 3), normalised by each frame's wrist-to-Middle1 length."""
    frames = glob[:, FINGER_JOINTS] @ axes[FINGER_JOINTS]  # (F, 20, 3, 3) columns t, b, s in the wrist frame
    p = pos[:, FINGER_JOINTS]
    scale = np.linalg.norm(pos[:, MIDDLE1] - pos[:, 0], axis=-1)[:, None, None, None]
    finger = np.einsum("fiab,fija->fijb", frames, p[:, None, :, :] - p[:, :, None, :]) / scale
    anchors = palm_anchors(pos)
    palm = np.einsum("fiab,fika->fikb", frames, anchors[:, None, :, :] - p[:, :, None, :]) / scale
    return finger, palm


def directions(part: np.ndarray) -> np.ndarray:
    """Unit vectors of an ASM part; the zero diagonal stays zero (as torch's F.normalize, the seed's)."""
    norm = np.linalg.norm(part, axis=-1, keepdims=True)
    return part / np.maximum(norm, 1e-12)


def _align(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The smallest rotation taking direction a to direction b."""
    a, b = a / np.linalg.norm(a), b / np.linalg.norm(b)
    axis, c = np.cross(a, b), float(a @ b)
    s = np.linalg.norm(axis)
    if s < 1e-12:
        if c > 0:
            return np.eye(3)
        perp = np.cross(a, np.eye(3)[np.argmin(np.abs(a))])
        return Rotation.from_rotvec(np.pi * perp / np.linalg.norm(perp)).as_matrix()
    return Rotation.from_rotvec(axis / s * np.arctan2(s, c)).as_matrix()


def canonical_rest(offsets: np.ndarray, side: str = "Right") -> np.ndarray:
    """(21, 3, 3) local rotations that lay a hand with these rest offsets flat (reference A3)."""
    rest, _ = forward_kinematics(offsets, np.broadcast_to(np.eye(3), (1, N_JOINTS, 3, 3)))
    rest = rest[0]
    n = palm_normal(rest, side)
    ahead = rest[MIDDLE1] - rest[0]
    ahead -= (ahead @ n) * n
    glob = np.broadcast_to(np.eye(3), (N_JOINTS, 3, 3)).copy()
    local = glob.copy()
    for k in range(1, N_JOINTS):
        if k in NON_TIPS:
            bone = rest[children_of(k)] - rest[k]
            on_palm = bone - (bone @ n) * n
            target = on_palm if k >= 1 + 4 * THUMB else ahead
            glob[k] = _align(bone, target)
        else:
            glob[k] = glob[PARENTS[k]]
        local[k] = glob[PARENTS[k]].T @ glob[k]
    return local


def to_bs(rotations: np.ndarray, rest_local: np.ndarray, axes: np.ndarray) -> np.ndarray:
    """(F, 15, 3, 3) bs-rotations of the 15 rotating finger joints from local rotations (F, 21, 3, 3)."""
    t = axes[NON_TIPS]
    return np.swapaxes(t, -1, -2) @ np.swapaxes(rest_local[NON_TIPS], -1, -2) @ rotations[:, NON_TIPS] @ t


def from_bs(bs: np.ndarray, rest_local: np.ndarray, axes: np.ndarray) -> np.ndarray:
    """(F, 21, 3, 3) local rotations (wrist and tips identity) from (F, 15, 3, 3) bs-rotations."""
    t = axes[NON_TIPS]
    out = np.broadcast_to(np.eye(3), (len(bs), N_JOINTS, 3, 3)).copy()
    out[:, NON_TIPS] = rest_local[NON_TIPS] @ t @ bs @ np.swapaxes(t, -1, -2)
    return out
