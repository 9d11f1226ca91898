"""Inside tests and cheap collision proxies for closed hand meshes.

`winding_numbers` is the exact generalized winding number (Jacobson et al. 2013)
of query points against a closed triangle mesh: 1 inside, 0 outside. It is
written in numpy because the alternatives measured in
shared/reference/deps-hand-model-rendering.md are either not installable here
(pysdf, open3d without libusb) or need an extra large wheel (igl) for a dozen
lines of arithmetic; it is chunked so memory stays bounded.

`BoneSpheres` approximates a posed hand by spheres strung along its bones, with
radii measured on the mesh itself (so it works for the open model and MANO alike);
sphere-sphere distances give contact and clearance in microseconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from handflow.hand.joints import FINGERS, IH26M_NAMES


def winding_numbers(points: np.ndarray, verts: np.ndarray, faces: np.ndarray, chunk: int = 256) -> np.ndarray:
    """(N,) generalized winding number of each point w.r.t. the closed mesh (verts, faces)."""
    tri = np.asarray(verts, np.float64)[faces]  # (F, 3, 3)
    out = np.empty(len(points))
    for start in range(0, len(points), chunk):
        p = np.asarray(points[start : start + chunk], np.float64)[:, None, None, :]
        d = tri[None] - p  # (n, F, 3, 3)
        a, b, c = d[:, :, 0], d[:, :, 1], d[:, :, 2]
        la, lb, lc = (np.linalg.norm(x, axis=-1) for x in (a, b, c))
        det = np.einsum("nfi,nfi->nf", a, np.cross(b, c))
        den = la * lb * lc + (a * b).sum(-1) * lc + (b * c).sum(-1) * la + (c * a).sum(-1) * lb
        out[start : start + chunk] = np.arctan2(det, den).sum(1) / (2 * np.pi)
    return out


def inside(points: np.ndarray, verts: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(N,) bool: points inside the closed mesh. Points outside its bounding box are outside: only the rest are integrated."""
    points = np.asarray(points)
    box = np.all((points >= verts.min(0)) & (points <= verts.max(0)), axis=1)
    out = np.zeros(len(points), bool)
    if box.any():
        out[box] = winding_numbers(points[box], verts, faces) > 0.5
    return out


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
        seg_d = np.stack([_point_segment_distance(verts, joints[a], joints[b]) for a, b in BONE_PAIRS], axis=1)
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


def _point_segment_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ab = b - a
    t = np.clip(((p - a) @ ab) / max(float(ab @ ab), 1e-18), 0.0, 1.0)
    return np.linalg.norm(p - (a + t[:, None] * ab), axis=1)
