"""A posed hand as spheres strung along its bones: contact and clearance between two hands in microseconds.

Radii are measured on the mesh itself (so it works for the open model and MANO alike);
the bones are pairs of InterHand2.6M joints of one hand.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from handflow.geometry.penetration import point_segment_distance
from handflow.hand.joints import FINGERS, IH26M_NAMES


def _bone_pairs() -> list[tuple[int, int]]:
    """Joint index pairs (InterHand2.6M order, one hand) spanned by spheres."""
    idx = {n: i for i, n in enumerate(IH26M_NAMES)}
    pairs = []
    for f in FINGERS:
        pairs += [(idx[f"{f}1"], idx[f"{f}2"]), (idx[f"{f}2"], idx[f"{f}3"]), (idx[f"{f}3"], idx[f"{f}4"])]
    for f in FINGERS:
        pairs.append((idx["wrist"], idx[f"{f}1"]))
    pairs.append((idx["index1"], idx["pinky1"]))
    return pairs


BONE_PAIRS = _bone_pairs()


@dataclass(frozen=True)
class BoneSpheres:
    """Spheres along each bone of one hand; radii fixed per model, centres follow the joints."""

    radii: np.ndarray  # (S,)
    pair_index: np.ndarray  # (S,) which BONE_PAIRS entry a sphere lies on
    t: np.ndarray  # (S,) position along that bone in [0, 1]

    @staticmethod
    def fit(verts: np.ndarray, joints: np.ndarray, per_bone: int = 6) -> BoneSpheres:
        """Radii from the rest mesh: for each bone, the median distance of its nearest vertices."""
        radii, pair_index, ts = [], [], []
        seg_d = np.stack([point_segment_distance(verts, joints[a], joints[b]) for a, b in BONE_PAIRS], axis=1)
        owner = seg_d.argmin(axis=1)
        for k, _ in enumerate(BONE_PAIRS):
            own = seg_d[owner == k, k]
            r = float(np.median(own)) if len(own) else float(np.median(seg_d[:, k]))
            for t in np.linspace(0.0, 1.0, per_bone):
                radii.append(r)
                pair_index.append(k)
                ts.append(t)
        return BoneSpheres(np.array(radii), np.array(pair_index), np.array(ts))

    def centres(self, joints: np.ndarray) -> np.ndarray:
        """(..., S, 3) sphere centres for joints (..., 21, 3) of one hand."""
        a = joints[..., [BONE_PAIRS[k][0] for k in self.pair_index], :]
        b = joints[..., [BONE_PAIRS[k][1] for k in self.pair_index], :]
        return a + self.t[:, None] * (b - a)

    def clearance(self, joints_a: np.ndarray, other: BoneSpheres, joints_b: np.ndarray) -> float:
        """Smallest surface gap between the two hands' spheres (negative: overlap)."""
        ca, cb = self.centres(joints_a), other.centres(joints_b)
        d = np.linalg.norm(ca[:, None] - cb[None], axis=-1) - self.radii[:, None] - other.radii[None]
        return float(d.min())
