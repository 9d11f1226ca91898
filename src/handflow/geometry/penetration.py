"""Inside tests and cheap collision proxies for closed hand meshes.

`winding_numbers` is the exact generalized winding number (Jacobson et al. 2013)
of query points against a closed triangle mesh: 1 inside, 0 outside. It is
written in numpy because the alternatives measured in
shared/reference/deps-hand-model-rendering.md are either not installable here
(pysdf, open3d without libusb) or need an extra large wheel (igl) for a dozen
lines of arithmetic; it is chunked so memory stays bounded.

Nothing here knows a hand: the hand's bone capsules are in `handflow.hand.bones`.
"""

from __future__ import annotations

import numpy as np


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


def point_segment_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N,) distance of each point to the segment a-b."""
    ab = b - a
    t = np.clip(((p - a) @ ab) / max(float(ab @ ab), 1e-18), 0.0, 1.0)
    return np.linalg.norm(p - (a + t[:, None] * ab), axis=1)
