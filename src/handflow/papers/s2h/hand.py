"""The 21-joint hand of the seed, read out of any BVH skeleton, and its forward kinematics over all frames at once.

Order as the seed (reference A3): wrist, then Middle, Ring, Pinky, Index, Thumb, each
joint 1, 2, 3 and the tip; the 20 finger joints are finger-major (index 1 + 4 f + j).
A Mixamo hand is `RightHand`, `RightHand<Finger>1..3` and the tip `RightHand<Finger>4`
(or, where a rig has no fourth bone, the End Site of the third). The wrist's own rotation
is set to identity and the wrist sits at the origin: all geometry is in the wrist frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from handflow.errors import InputError
from handflow.papers.s2h.bvh import Motion, bare_name

FINGERS = ("Middle", "Ring", "Pinky", "Index", "Thumb")
N_JOINTS = 21
PARENTS = np.array([-1] + [0 if j == 0 else 1 + 4 * f + j - 1 for f in range(5) for j in range(4)])
TIPS = np.array([1 + 4 * f + 3 for f in range(5)])
NON_TIPS = np.array([1 + 4 * f + j for f in range(5) for j in range(3)])  # the 15 rotating finger joints, finger-major


def mixamo_names(side: str = "Right") -> list[str]:
    return [f"{side}Hand", *(f"{side}Hand{finger}{j}" for finger in FINGERS for j in range(1, 5))]


@dataclass(frozen=True)
class HandMotion:
    """A hand's rest offsets (21, 3) in the parent's frame and its local rotations (F, 21, 3, 3), wrist rotation identity."""

    offsets: np.ndarray
    rotations: np.ndarray
    frame_time: float


def hand_of(motion: Motion, source: str, side: str = "Right") -> HandMotion:
    """The seed's hand out of a BVH motion: every one of its joints present, no unknown joint under the hand."""
    sk = motion.skeleton
    bare = [bare_name(n) for n in sk.names]
    wanted = mixamo_names(side)
    if wanted[0] not in bare:
        raise InputError(source, f"joint {wanted[0]}", "missing: not a hand skeleton of this side")
    wrist = bare.index(wanted[0])
    under = _descendants(sk.parents, wrist)
    extra = sorted(bare[j] for j in under if bare[j] not in wanted)
    if extra:
        raise InputError(source, f"joint {extra[0]}", f"not one of the seed's hand joints ({len(extra)} extra under {wanted[0]})")
    offsets, rotations = np.zeros((N_JOINTS, 3)), np.broadcast_to(np.eye(3), (motion.n_frames, N_JOINTS, 3, 3)).copy()
    local = motion.local_rotations()
    for k, name in enumerate(wanted[1:], start=1):
        parent_name = wanted[PARENTS[k]]
        if name in bare:
            j = bare.index(name)
            if sk.parents[j] < 0 or bare[sk.parents[j]] != parent_name:
                raise InputError(source, f"joint {name}", f"its parent is not {parent_name}")
            offsets[k] = sk.offsets[j]
            if k not in TIPS:
                rotations[:, k] = local[:, j]
        elif k in TIPS and bare.index(parent_name) in sk.end_sites:
            offsets[k] = sk.end_sites[bare.index(parent_name)]
        else:
            raise InputError(source, f"joint {name}", "missing")
    return HandMotion(offsets, rotations, motion.frame_time)


def _descendants(parents: np.ndarray, root: int) -> list[int]:
    out, frontier = [], [root]
    while frontier:
        frontier = [c for c in range(len(parents)) if parents[c] in frontier]
        out += frontier
    return out


def forward_kinematics(offsets: np.ndarray, rotations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(F, 21, 3) joint positions and (F, 21, 3, 3) global rotations; offsets (21, 3) or (F, 21, 3).

    Vectorised over frames: one loop over the 21 joints (parents before children), never over frames.
    """
    n = rotations.shape[0]
    offsets = np.broadcast_to(offsets, (n, N_JOINTS, 3))
    pos = np.zeros((n, N_JOINTS, 3))
    glob = np.empty_like(rotations)
    glob[:, 0] = rotations[:, 0]
    for j in range(1, N_JOINTS):
        p = PARENTS[j]
        glob[:, j] = glob[:, p] @ rotations[:, j]
        pos[:, j] = pos[:, p] + np.einsum("fab,fb->fa", glob[:, p], offsets[:, j])
    return pos, glob


def skin(verts: np.ndarray, weights: np.ndarray, rest: np.ndarray, pos: np.ndarray, glob: np.ndarray) -> np.ndarray:
    """Linear blend skinning: (V, 3) vertices of a mesh whose (21, 3) joints sit at `rest`, to the joints posed at `pos`
    with global rotations `glob` (one frame), weighted by (V, 21) `weights`."""
    moved = np.einsum("kab,vb->vka", glob, verts) + (pos - np.einsum("kab,kb->ka", glob, rest))[None]
    return np.einsum("vk,vka->va", weights, moved)
