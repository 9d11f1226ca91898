"""Derivation of the open default hand model, in MANO's file format.

MANO cannot be redistributed, so the embedded default needs a hand of its own
that `smplx.MANO` loads unchanged. This module derives one procedurally and
reproducibly (`python -m handflow hand build-open`); the derived files are
committed under `assets/open_hand/` (CC0, see the LICENSE there) so that no run
needs the derivation's extra dependencies (scikit-image, fast-simplification).

What it builds, in MANO's conventions (16 joints: wrist, index, middle, pinky,
ring, thumb; right hand; metres; palm facing -y, fingers along +x, thumb at -z):

* a surface: the zero set of a smooth union of tapered capsules (phalanges),
  a rounded box (palm), a thenar pad and a forearm stub, extracted with marching
  cubes and decimated to MANO's size (about 800 vertices). The stub leaves the
  sampling grid, so the mesh is open at the wrist exactly like MANO; the sidecar
  holds the faces that seal it.
* linear blend skinning weights from distance to each bone, a joint regressor
  (each joint is the mean of the vertex ring around it, so joints follow shape),
* 10 shape directions with a meaning each (size, finger length, palm width, ...),
* posedirs: a knuckle-bulge corrective, linear in (R - I), that pushes vertices
  near a bent joint outward by up to `BULGE` metres (MANO's posedirs are learned
  from scans; ours are a documented hand-made approximation),
* a pose space: joint-limited articulations drawn from grasp families, whose
  PCA gives `hands_components`/`hands_mean`, and whose coefficients are kept as
  `hands_coeffs` (MANO ships its training poses under the same key).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from handflow.geometry.mesh import vertex_normals
from handflow.geometry.rotations import axis_angle_to_matrix_np, matrix_to_axis_angle_np

PARENTS = np.array([-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 0, 10, 11, 0, 13, 14])
# MANO joint ids of each finger's three joints, in MANO's joint order.
FINGER_JOINTS = {
    "index": (1, 2, 3),
    "middle": (4, 5, 6),
    "pinky": (7, 8, 9),
    "ring": (10, 11, 12),
    "thumb": (13, 14, 15),
}
TIP_ORDER = ("thumb", "index", "middle", "ring", "pinky")
BULGE = 0.0025
GRID_STEP = 0.0018
WRIST_CUT_X = -0.005
TARGET_VERTICES = 800
N_POSE_SAMPLES = 1554  # as many as MANO's hands_coeffs


@dataclass(frozen=True)
class Finger:
    base: tuple[float, float, float]
    splay_deg: float
    droop_deg: float
    lengths: tuple[float, float, float]
    radii: tuple[float, float, float, float]


FINGERS = {
    "index": Finger((0.086, 0.002, -0.025), -8.0, -2.0, (0.040, 0.024, 0.021), (0.0098, 0.0086, 0.0076, 0.0066)),
    "middle": Finger((0.091, 0.003, -0.004), -1.0, -2.0, (0.044, 0.028, 0.023), (0.0100, 0.0088, 0.0078, 0.0068)),
    "ring": Finger((0.086, 0.002, 0.016), 6.0, -2.0, (0.041, 0.027, 0.022), (0.0094, 0.0083, 0.0074, 0.0064)),
    "pinky": Finger((0.076, -0.001, 0.034), 14.0, -3.0, (0.032, 0.020, 0.019), (0.0084, 0.0074, 0.0066, 0.0058)),
}
THUMB_BASE = np.array([0.024, -0.008, -0.022])
THUMB_DIR = np.array([0.58, -0.30, -0.76])
THUMB_LENGTHS = (0.038, 0.031, 0.026)
THUMB_RADII = (0.0125, 0.0110, 0.0095, 0.0082)
PALM_CENTER = np.array([0.046, 0.0, 0.005])
PALM_HALF = np.array([0.044, 0.0105, 0.037])
PALM_ROUND = 0.008


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def finger_direction(f: Finger) -> np.ndarray:
    s, d = np.deg2rad(f.splay_deg), np.deg2rad(f.droop_deg)
    return _unit(np.array([np.cos(s) * np.cos(d), np.sin(d), np.sin(s) * np.cos(d)]))


@dataclass(frozen=True)
class Skeleton:
    """Design positions of the 16 joints and 5 tips, bone radii and axes."""

    joints: np.ndarray  # (16, 3)
    tips: np.ndarray  # (5, 3) thumb, index, middle, ring, pinky
    radius: np.ndarray  # (16,) radius at each joint (wrist: palm half thickness)
    tip_radius: np.ndarray  # (5,)
    direction: np.ndarray  # (16, 3) direction of the bone that starts at the joint
    flex_axis: np.ndarray  # (16, 3)
    abduct_axis: np.ndarray  # (16, 3)


def design_skeleton() -> Skeleton:
    joints = np.zeros((16, 3))
    radius = np.zeros(16)
    direction = np.zeros((16, 3))
    flex = np.zeros((16, 3))
    abduct = np.zeros((16, 3))
    tips, tip_r = {}, {}
    radius[0] = PALM_HALF[1]
    direction[0] = [1.0, 0.0, 0.0]
    up = np.array([0.0, 1.0, 0.0])
    for name, f in FINGERS.items():
        a = finger_direction(f)
        k = _unit(np.cross(up, a))  # rotation about k curls the finger toward -y (palm)
        pos = np.array(f.base)
        for i, j in enumerate(FINGER_JOINTS[name]):
            joints[j], radius[j], direction[j] = pos, f.radii[i], a
            flex[j], abduct[j] = k, up
            pos = pos + f.lengths[i] * a
        tips[name], tip_r[name] = pos, f.radii[3]
    a = _unit(THUMB_DIR)
    toward_palm = _unit(np.array([0.0, -0.5, 1.0]))
    c_perp = _unit(toward_palm - a * (a @ toward_palm))
    k = _unit(np.cross(a, c_perp))
    m = _unit(np.cross(k, a))
    pos = THUMB_BASE.copy()
    for i, j in enumerate(FINGER_JOINTS["thumb"]):
        joints[j], radius[j], direction[j] = pos, THUMB_RADII[i], a
        flex[j], abduct[j] = k, m
        pos = pos + THUMB_LENGTHS[i] * a
    tips["thumb"], tip_r["thumb"] = pos, THUMB_RADII[3]
    return Skeleton(
        joints=joints,
        tips=np.stack([tips[n] for n in TIP_ORDER]),
        radius=radius,
        tip_radius=np.array([tip_r[n] for n in TIP_ORDER]),
        direction=direction,
        flex_axis=flex,
        abduct_axis=abduct,
    )


def bone_segments(sk: Skeleton) -> list[tuple[int, np.ndarray, np.ndarray, float, float]]:
    """(bone id, start, end, start radius, end radius); bone id = the joint that moves it."""
    segs = []
    child_of = {p: c for c, p in enumerate(PARENTS) if p > 0}
    tip_of = {FINGER_JOINTS[n][2]: i for i, n in enumerate(TIP_ORDER)}
    for j in range(1, 16):
        if j in child_of:
            segs.append((j, sk.joints[j], sk.joints[child_of[j]], sk.radius[j], sk.radius[child_of[j]]))
        else:
            t = tip_of[j]
            segs.append((j, sk.joints[j], sk.tips[t], sk.radius[j], sk.tip_radius[t]))
    palm_r = PALM_HALF[1] + 0.002
    for name in ("index", "middle", "ring", "pinky", "thumb"):
        segs.append((0, sk.joints[0], sk.joints[FINGER_JOINTS[name][0]], palm_r, palm_r))
    segs.append((0, sk.joints[1], sk.joints[7], palm_r, palm_r))
    return segs


def _segment_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ab = b - a
    t = np.clip(((p - a) @ ab) / (ab @ ab), 0.0, 1.0)
    return np.linalg.norm(p - (a + t[:, None] * ab), axis=1), t


def _smin(a: np.ndarray, b: np.ndarray, k: float) -> np.ndarray:
    h = np.clip(0.5 + 0.5 * (b - a) / k, 0.0, 1.0)
    return b * (1 - h) + a * h - k * h * (1 - h)


def hand_sdf(p: np.ndarray, sk: Skeleton) -> np.ndarray:
    """Approximate signed distance (negative inside) of the right hand surface."""
    q = np.abs(p - PALM_CENTER) - (PALM_HALF - PALM_ROUND)
    palm = np.linalg.norm(np.maximum(q, 0), axis=1) + np.minimum(q.max(axis=1), 0) - PALM_ROUND
    d = palm
    for bone, a, b, ra, rb in bone_segments(sk):
        if bone == 0:
            continue
        dist, t = _segment_distance(p, a, b)
        d = _smin(d, dist - (ra + t * (rb - ra)), 0.004)
    thenar, _ = _segment_distance(p, np.array([0.012, -0.004, -0.008]), sk.joints[13] + 0.018 * sk.direction[13])
    d = _smin(d, thenar - 0.0135, 0.008)
    # forearm stub with an elliptic cross-section; it leaves the grid at x < x_min
    scaled = p * np.array([1.0, 1.0 / 0.62, 1.0])
    stub, _ = _segment_distance(scaled, np.array([-0.08, 0.0, 0.004]), np.array([0.004, 0.0, 0.004]))
    return _smin(d, stub - 0.027, 0.010)


def extract_surface(sk: Skeleton) -> tuple[np.ndarray, np.ndarray]:
    from fast_simplification import simplify
    from skimage.measure import marching_cubes

    lo, hi = np.array([-0.010, -0.065, -0.125]), np.array([0.205, 0.035, 0.075])
    axes = [np.arange(lo[i], hi[i] + GRID_STEP, GRID_STEP) for i in range(3)]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1)
    sdf = hand_sdf(grid.reshape(-1, 3), sk).reshape(grid.shape[:3])
    verts, faces, _, _ = marching_cubes(sdf, level=0.0, spacing=(GRID_STEP,) * 3)
    verts, faces = _clean(verts + lo, faces.astype(np.int64))
    if _signed_volume(verts, faces) < 0:
        faces = faces[:, ::-1]
    # Decimating an open mesh collapses its boundary, so close the wrist with a flat
    # cap first, decimate, then cut the cap off again with a plane.
    loop = boundary_loop(faces)
    cap_centre = verts[loop].mean(0)
    verts = np.vstack([verts, cap_centre])
    faces = np.vstack([faces, seal_faces(loop, len(verts) - 1)])
    reduction = 1.0 - (TARGET_VERTICES + 1) / len(verts)
    verts, faces = simplify(verts.astype(np.float32), faces.astype(np.int32), target_reduction=reduction)
    import trimesh

    closed = trimesh.Trimesh(np.asarray(verts, np.float64), np.asarray(faces, np.int64), process=True)
    # cut the cap off just inside the grid: the cut adds a vertex at every crossing edge
    opened = trimesh.intersections.slice_mesh_plane(closed, [1.0, 0.0, 0.0], [WRIST_CUT_X, 0.0, 0.0], cap=False)
    return _clean(np.asarray(opened.vertices), np.asarray(opened.faces))


def _clean(verts: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop degenerate faces and unreferenced vertices; keep the largest component."""
    import trimesh

    mesh = trimesh.Trimesh(verts, faces, process=True)
    parts = mesh.split(only_watertight=False)
    mesh = max(parts, key=lambda m: len(m.faces))
    return np.asarray(mesh.vertices), np.asarray(mesh.faces)


def _signed_volume(verts: np.ndarray, faces: np.ndarray) -> float:
    a, b, c = verts[faces[:, 0]], verts[faces[:, 1]], verts[faces[:, 2]]
    return float(np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6.0)


def boundary_loop(faces: np.ndarray) -> np.ndarray:
    """Ordered vertex ids of the single boundary loop, following the faces' winding."""
    edges = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    key = {(int(a), int(b)) for a, b in edges}
    boundary = {a: b for a, b in key if (b, a) not in key}
    if not boundary:
        raise ValueError("mesh has no boundary loop")
    start = next(iter(boundary))
    loop, v = [start], boundary[start]
    while v != start:
        loop.append(v)
        v = boundary[v]
    if len(loop) != len(boundary):
        raise ValueError(f"mesh boundary has several loops ({len(boundary)} edges, first loop {len(loop)})")
    return np.array(loop)


def seal_faces(loop: np.ndarray, n_verts: int) -> np.ndarray:
    """Fan faces from a centroid vertex (id n_verts) closing the loop.

    The boundary edges (a, b) run along the open side of their faces, so the cap
    must use (b, a) to keep the closed surface consistently oriented.
    """
    nxt = np.roll(loop, -1)
    return np.stack([nxt, loop, np.full_like(loop, n_verts)], axis=1)


def skinning_weights(verts: np.ndarray, sk: Skeleton, power: float = 3.0, eps: float = 0.003) -> np.ndarray:
    dist = np.full((len(verts), 16), np.inf)
    for bone, a, b, ra, rb in bone_segments(sk):
        d, t = _segment_distance(verts, a, b)
        dist[:, bone] = np.minimum(dist[:, bone], np.maximum(d - (ra + t * (rb - ra)), 0.0))
    w = (dist + eps) ** -power
    w[w < 1e-4 * w.max(axis=1, keepdims=True)] = 0.0
    return w / w.sum(axis=1, keepdims=True)


def joint_regressor(verts: np.ndarray, sk: Skeleton) -> np.ndarray:
    """Each joint = mean of the vertices in a thin slab across its bone at the joint."""
    reg = np.zeros((16, len(verts)))
    for j in range(16):
        rel = verts - sk.joints[j]
        along = rel @ sk.direction[j]
        radial = np.linalg.norm(rel - along[:, None] * sk.direction[j], axis=1)
        lateral = 0.040 if j == 0 else 1.5 * sk.radius[j]
        for half in (0.002, 0.003, 0.0045, 0.006):
            sel = (np.abs(along) < half) & (radial < lateral)
            if sel.sum() >= 6:
                break
        else:
            raise ValueError(f"no vertex ring found around joint {j}")
        reg[j, sel] = 1.0 / sel.sum()
    return reg


def shape_directions(verts: np.ndarray, weights: np.ndarray, sk: Skeleton, joints: np.ndarray) -> np.ndarray:
    """(V, 3, 10) displacement per unit beta; each direction has a name in SHAPE_NAMES."""
    wrist = joints[0]
    member = {n: weights[:, list(js)].sum(1) for n, js in FINGER_JOINTS.items()}
    palm_w = weights[:, 0]
    # anchor of each vertex for palm-level deformations: the vertex itself on the palm,
    # its finger's base joint on the fingers (fingers translate rather than stretch)
    anchor = palm_w[:, None] * verts
    for n, js in FINGER_JOINTS.items():
        anchor += member[n][:, None] * joints[js[0]]
    dirs = np.zeros((len(verts), 3, 10))
    dirs[:, :, 0] = 0.07 * (verts - wrist)
    for n, js in FINGER_JOINTS.items():
        a = sk.direction[js[0]]
        rel = verts - joints[js[0]]
        along = (rel @ a)[:, None] * a
        radial = rel - along
        w = member[n][:, None]
        if n == "thumb":
            dirs[:, :, 5] += 0.09 * w * along
        else:
            dirs[:, :, 1] += 0.08 * w * along
            dirs[:, :, 3] += 0.10 * w * radial
            spread = {"index": -1.0, "middle": 0.0, "ring": 1.0, "pinky": 2.0}[n] * np.deg2rad(3.0)
            dirs[:, :, 7] += spread * w * np.cross(np.array([0.0, 1.0, 0.0]), rel)
            ratio = {"index": 1.0, "middle": 0.3, "ring": -0.3, "pinky": -1.0}[n]
            dirs[:, :, 8] += 0.06 * ratio * w * along
    dirs[:, 2, 2] = 0.07 * (anchor[:, 2] - wrist[2])
    dirs[:, 0, 4] = 0.06 * (anchor[:, 0] - wrist[0])
    dirs[:, 1, 6] = 0.12 * palm_w * (verts[:, 1] - wrist[1])
    pad = palm_w * np.clip(-(verts[:, 1] - wrist[1]) / PALM_HALF[1], 0.0, 1.0)
    dirs[:, 1, 9] = -0.0025 * pad
    return dirs


SHAPE_NAMES = (
    "size",
    "finger_length",
    "palm_width",
    "finger_thickness",
    "palm_length",
    "thumb_length",
    "palm_thickness",
    "finger_spread",
    "index_to_pinky_ratio",
    "palm_pad",
)


def pose_directions(verts: np.ndarray, faces: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(V, 3, 135) knuckle bulge: displacement = BULGE * (1 - cos angle) * normal near the joint.

    (1 - cos angle) = -tr(R - I) / 2, so it is linear in smplx's pose feature (R - I).
    """
    normals = vertex_normals(verts, faces)
    posedirs = np.zeros((len(verts), 3, 135))
    for j in range(1, 16):
        near = np.clip(4.0 * weights[:, PARENTS[j]] * weights[:, j], 0.0, 1.0)
        for diag in (0, 4, 8):
            posedirs[:, :, (j - 1) * 9 + diag] = -0.5 * BULGE * near[:, None] * normals
    return posedirs


def sample_articulations(sk: Skeleton, n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, 45) joint-limited articulations (axis-angle per joint, MANO order 1..15).

    Grasp families (open, relaxed, fist, point, pinch, free) set a curl per finger;
    per-joint noise and coupling (DIP ~ 0.7 PIP) then stay inside anatomical limits.
    """
    families = rng.integers(0, 6, size=n)
    out = np.zeros((n, 15, 3))
    for s in range(n):
        fam = families[s]
        curl = {
            0: rng.uniform(-0.12, 0.15, 4),
            1: rng.uniform(0.15, 0.5, 4),
            2: rng.uniform(0.75, 1.0, 4),
            3: np.r_[rng.uniform(-0.1, 0.1), rng.uniform(0.75, 1.0, 3)],
            4: np.r_[rng.uniform(0.35, 0.6), rng.uniform(0.1, 0.9, 3)],
            5: rng.uniform(-0.1, 1.0, 4),
        }[fam]
        spread = rng.uniform(-0.4, 1.0) * (1.0 - 0.7 * curl.mean())
        for i, name in enumerate(("index", "middle", "ring", "pinky")):
            mcp, pip, dip = FINGER_JOINTS[name]
            fan = {"index": -1.0, "middle": 0.0, "ring": 0.6, "pinky": 1.2}[name]
            c = curl[i]
            mcp_flex = np.clip(1.45 * c + rng.normal(0, 0.08), -0.35, 1.6)
            pip_flex = np.clip(1.75 * c + rng.normal(0, 0.1), 0.0, 1.9)
            dip_flex = np.clip(0.7 * pip_flex + rng.normal(0, 0.08), 0.0, 1.3)
            abd = np.clip(0.22 * fan * spread + rng.normal(0, 0.03), -0.35, 0.35)
            r_mcp = axis_angle_to_matrix_np(sk.flex_axis[mcp] * mcp_flex) @ axis_angle_to_matrix_np(sk.abduct_axis[mcp] * abd)
            out[s, mcp - 1] = matrix_to_axis_angle_np(r_mcp)
            out[s, pip - 1] = sk.flex_axis[pip] * pip_flex
            out[s, dip - 1] = sk.flex_axis[dip] * dip_flex
        cmc, mcp, ip = FINGER_JOINTS["thumb"]
        opp = 0.8 if fam in (2, 4) else rng.uniform(-0.2, 0.8)
        r_cmc = axis_angle_to_matrix_np(sk.flex_axis[cmc] * np.clip(opp + rng.normal(0, 0.1), -0.3, 1.0)) @ (
            axis_angle_to_matrix_np(sk.abduct_axis[cmc] * rng.uniform(-0.35, 0.55))
        )
        out[s, cmc - 1] = matrix_to_axis_angle_np(r_cmc)
        out[s, mcp - 1] = sk.flex_axis[mcp] * np.clip(0.5 * opp + rng.normal(0, 0.15), 0.0, 0.9)
        out[s, ip - 1] = sk.flex_axis[ip] * np.clip(0.6 * opp + rng.normal(0, 0.25), -0.2, 1.2)
    return out.reshape(n, 45)


def pose_pca(poses: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(components (45, 45) orthonormal rows by variance, mean (45,), coeffs (n, 45))."""
    mean = poses.mean(0)
    _, _, vt = np.linalg.svd(poses - mean, full_matrices=True)
    return vt, mean, (poses - mean) @ vt.T


def build(seed: int = 0) -> tuple[dict[str, np.ndarray], dict]:
    """Right-hand MANO-format arrays and the sidecar dict."""
    sk = design_skeleton()
    verts, faces = extract_surface(sk)
    weights = skinning_weights(verts, sk)
    reg = joint_regressor(verts, sk)
    joints = reg @ verts
    poses = sample_articulations(sk, N_POSE_SAMPLES, np.random.default_rng(seed))
    comps, mean, coeffs = pose_pca(poses)
    kintree = np.stack([np.r_[4294967295, PARENTS[1:]], np.arange(16)]).astype(np.int64)
    arrays = {
        "v_template": verts,
        "f": faces.astype(np.int64),
        "weights": weights,
        "J_regressor": reg,
        "J": joints,
        "kintree_table": kintree,
        "shapedirs": shape_directions(verts, weights, sk, joints),
        "posedirs": pose_directions(verts, faces, weights),
        "hands_components": comps,
        "hands_mean": mean,
        "hands_coeffs": coeffs,
    }
    tips = []
    for name in TIP_ORDER:
        dist = weights[:, FINGER_JOINTS[name][2]]
        a = sk.direction[FINGER_JOINTS[name][2]]
        score = np.where(dist > 0.5, verts @ a, -np.inf)
        tips.append(int(np.argmax(score)))
    sidecar = {
        "model": "handflow-open-hand",
        "tip_vertex_ids": tips,
        "wrist_ring": boundary_loop(faces).tolist(),
        "shape_names": list(SHAPE_NAMES),
        "seed": seed,
    }
    return arrays, sidecar
