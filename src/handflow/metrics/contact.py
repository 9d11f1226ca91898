"""Contact and penetration between two closed hand meshes, per pair.

Penetration volume is the volume of the boolean intersection of the two
wrist-sealed meshes, computed by manifold3d (exact on watertight input). The
seed uses trimesh booleans on MANO's open meshes and counts any failure as zero
penetration; here a mesh that manifold3d rejects raises, naming the sample.

Penetration depth: for each vertex of one hand inside the other (exact winding
number test), its distance to the nearest vertex of the other hand (MANO's
vertex spacing is 2-4 mm, so this slightly overestimates the distance to the
surface); the sample's depth is the largest over both directions. Contact: the
meshes intersect or their closest vertices are nearer than a threshold. The seed
does not implement depth or contact (paper Table 3b's PenDist and ProxRatio);
these are our definitions.
"""

from __future__ import annotations

from dataclasses import dataclass

import manifold3d
import numpy as np
from scipy.spatial import cKDTree

from handflow.errors import ComputationError
from handflow.geometry.penetration import inside


class PenetrationError(ComputationError):
    pass


def _manifold(verts: np.ndarray, faces: np.ndarray, what: str) -> manifold3d.Manifold:
    mesh = manifold3d.Manifold(
        manifold3d.Mesh64(vert_properties=np.ascontiguousarray(verts, np.float64), tri_verts=np.ascontiguousarray(faces, np.uint64))
    )
    if mesh.status() != manifold3d.Error.NoError:
        raise PenetrationError(f"{what}: not a closed manifold mesh ({mesh.status()})")
    return mesh


def intersection(va: np.ndarray, fa: np.ndarray, vb: np.ndarray, fb: np.ndarray, what: str = "pair") -> manifold3d.Manifold:
    """The solid shared by two closed meshes."""
    if not (np.isfinite(va).all() and np.isfinite(vb).all()):
        raise PenetrationError(f"{what}: non-finite vertices")
    both = _manifold(va, fa, what) ^ _manifold(vb, fb, what)
    if both.status() != manifold3d.Error.NoError:
        raise PenetrationError(f"{what}: boolean intersection failed ({both.status()})")
    return both


@dataclass(frozen=True)
class PairContact:
    volume_cm3: float
    depth_cm: float
    min_distance_mm: float


def pair_contact(va: np.ndarray, fa: np.ndarray, vb: np.ndarray, fb: np.ndarray, what: str = "pair") -> PairContact:
    """Contact measures of two sealed meshes in metres.

    A vertex inside the other mesh lies inside the intersection solid, so only
    vertices within that solid's bounding box go through the exact inside test.
    """
    solid = intersection(va, fa, vb, fb, what)
    volume = float(solid.volume())
    tree_a, tree_b = cKDTree(va), cKDTree(vb)
    depth = 0.0
    if volume > 0:
        lo, hi = np.array(solid.bounding_box()[:3]), np.array(solid.bounding_box()[3:])
        for points, other, faces, tree in ((va, vb, fb, tree_b), (vb, va, fa, tree_a)):
            box = np.flatnonzero(np.all((points >= lo) & (points <= hi), axis=1))
            hit = box[inside(points[box], other, faces)] if len(box) else box
            if len(hit):
                depth = max(depth, float(tree.query(points[hit])[0].max()))
    gap = float(tree_b.query(va)[0].min())
    return PairContact(volume * 1e6, depth * 100.0, gap * 1000.0)
