"""Twist, bend and splay axes of every finger joint, from the rest pose and the skinned finger's own shape.

The seed annotates them by hand in a GUI (reference A2): 360 rays cast around the finger
from its distal joint, splay taken 90 degrees from the widest diameter, then adjusted by
eye. Here, per joint: twist is the bone's direction to its child at rest; splay (the axis a
finger spreads about) starts as the back-of-hand normal (the seed's "+y up") laid across
the twist; the finger's own geometry then sets its roll where it can be trusted: the
skinned vertices the bone drives most (weight > 0.5), projected across the twist, have
principal axes width (first) and thickness (second); when the section is clearly flat
(width/thickness >= `ROUND`) and its thickness axis lies within `TRUST_DEG` of the palm's
normal, that axis is the splay. bend = splay x twist and splay is re-made twist x bend, so
the frame is orthonormal and right-handed by construction ([t, b, s] has determinant +1).

Why the palm normal decides and the mesh only refines: measured on anny's characters and
MANO, the section's thickness axis agrees with the palm normal within a few degrees on the
middle and distal phalanges, but not at the knuckle (the section takes in palm tissue:
70-90 degrees off) nor on MANO's coarse mesh (up to 85 degrees off); a pure mesh rule gave
axes 71 degrees apart on the same joint of two characters (`tests/test_s2h_motion.py`).
The thumb, whose nail faces partly sideways, gets the same convention (palm normal across
its twist): consistent across hands, not its anatomical axis. Tips reuse their third
joint's frame, as the seed's Mixamo files.
"""

from __future__ import annotations

import numpy as np

from handflow.papers.s2h.hand import FINGERS, N_JOINTS, PARENTS

ROUND = 1.15  # width / thickness below which a cross-section is taken as round
TRUST_DEG = 20.0  # the section's thickness axis refines the splay only this near the palm normal
MIN_VERTICES = 12
MIDDLE1, INDEX1, PINKY1, THUMB = 1, 1 + 4 * FINGERS.index("Index"), 1 + 4 * FINGERS.index("Pinky"), FINGERS.index("Thumb")


def children_of(joint: int) -> int:
    return int(np.flatnonzero(PARENTS == joint)[0])


def palm_normal(rest: np.ndarray, side: str = "Right") -> np.ndarray:
    """The back-of-hand normal of a (21, 3) rest pose: (Index1 - wrist) x (Pinky1 - wrist), negated for the right hand."""
    n = np.cross(rest[INDEX1] - rest[0], rest[PINKY1] - rest[0])
    n = -n if side == "Right" else n
    return n / np.linalg.norm(n)


def _section_axes(points: np.ndarray, twist: np.ndarray) -> tuple[np.ndarray, float] | None:
    """(thickness direction, width / thickness) of points projected across `twist`; None when too few."""
    if len(points) < MIN_VERTICES:
        return None
    flat = points - np.outer(points @ twist, twist)
    flat -= flat.mean(0)
    w, v = np.linalg.eigh(flat.T @ flat / len(flat))  # ascending: v[:, 0] ~ along twist (zero variance)
    if w[1] <= 1e-12:
        return None
    return v[:, 1], float(np.sqrt(w[2] / w[1]))


def joint_axes(
    rest: np.ndarray, vertices: np.ndarray | None = None, weights: np.ndarray | None = None, side: str = "Right"
) -> tuple[np.ndarray, np.ndarray]:
    """(21, 3, 3) frames with columns (twist, bend, splay) in the wrist frame at rest, and (21,) whether the splay came
    from the mesh (True) or the palm normal (False). `weights` (V, 21): each vertex's skin weight per hand joint. The
    wrist row is the identity."""
    up = palm_normal(rest, side)
    frames = np.broadcast_to(np.eye(3), (N_JOINTS, 3, 3)).copy()
    from_mesh = np.zeros(N_JOINTS, bool)
    for f in range(5):
        for j in range(3):
            k = 1 + 4 * f + j
            twist = rest[children_of(k)] - rest[k]
            twist /= np.linalg.norm(twist)
            splay = up - (up @ twist) * twist
            if np.linalg.norm(splay) < 1e-6:  # the palm normal along the bone: any perpendicular
                splay = np.cross(twist, np.eye(3)[np.argmin(np.abs(twist))])
            splay /= np.linalg.norm(splay)
            if vertices is not None and weights is not None:
                section = _section_axes(vertices[weights[:, k] > 0.5], twist)
                if section is not None and section[1] >= ROUND and abs(section[0] @ splay) >= np.cos(np.radians(TRUST_DEG)):
                    refined = section[0] - (section[0] @ twist) * twist
                    splay, from_mesh[k] = np.sign(refined @ splay) * refined / np.linalg.norm(refined), True
            bend = np.cross(splay, twist)
            bend /= np.linalg.norm(bend)
            frames[k] = np.stack([twist, bend, np.cross(twist, bend)], axis=1)
        frames[1 + 4 * f + 3] = frames[1 + 4 * f + 2]
        from_mesh[1 + 4 * f + 3] = from_mesh[1 + 4 * f + 2]
    return frames, from_mesh
