"""A right hand holding an object: in contact, without interpenetration, solved against the object's signed distance.

The hand starts flat. Its palm is turned to face the object at a grasp site (palmar normal
against the site's outward normal, fingers along its tangent) and pushed in along the
normal by bisection until its closest vertex is `margin` from the surface. Each finger
then closes, its three joints flexing together about the axis across the finger and the
palm (in the rest pose every joint's frame is the world's, so the one axis serves the
whole chain), until the finger's own vertices first come within `margin` of the surface;
it keeps the last angle before that, refined by bisection. A finger that never touches
closes fully. So no vertex is inside the object by construction, and the palm or some
finger is within `margin` of it.

A forearm (a capped cylinder behind the wrist, labelled as hand like HOI4D's right-hand
masks) is carried rigidly with the hand; it makes the hand mask extend towards where the
hand comes from, which the layout's direction measures.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import trimesh

from handflow.geometry.rotations import axis_angle_to_matrix_np, matrix_to_axis_angle_np
from handflow.hand.model import HandModel
from handflow.papers.affordance.objects import GraspSite

FINGER_JOINTS = {"index": (1, 2, 3), "middle": (4, 5, 6), "pinky": (7, 8, 9), "ring": (10, 11, 12), "thumb": (13, 14, 15)}
FLEX_SHARE = {
    "index": (1.0, 1.1, 0.7),
    "middle": (1.0, 1.1, 0.7),
    "pinky": (1.0, 1.1, 0.7),
    "ring": (1.0, 1.1, 0.7),
    "thumb": (0.3, 0.8, 0.8),
}
MAX_FLEX = 1.3  # radians at the first joint when a finger never touches
FOREARM_LENGTH, FOREARM_RADIUS = 0.16, 0.027


def signed_distance_outside(mesh: trimesh.Trimesh, points: np.ndarray) -> np.ndarray:
    """Distance to the surface, positive outside and negative inside (trimesh's sign is the opposite)."""
    return -trimesh.proximity.signed_distance(mesh, np.asarray(points, np.float64).reshape(-1, 3))


@dataclass(frozen=True)
class HandFrame:
    """What the grasp needs of the flat hand: its palm centre, palmar normal, finger direction, finger vertices."""

    betas: np.ndarray
    root: np.ndarray  # (3,) joint 0 of the flat hand (global rotations turn about it)
    palm_centre: np.ndarray
    palmar: np.ndarray  # unit, out of the palm
    forward: np.ndarray  # unit, wrist to middle knuckle, orthogonal to `palmar`
    flex_axes: dict[str, np.ndarray]  # per finger, the axis a positive angle flexes it about
    finger_vertices: dict[str, np.ndarray]  # per finger, the indices of vertices its joints move


def hand_frame(model: HandModel, betas: np.ndarray) -> HandFrame:
    flat = -model.layer.hand_mean.detach().double().numpy()
    with torch.no_grad():
        out = model(torch.zeros(1, 3), torch.as_tensor(flat[None], dtype=torch.float32), torch.as_tensor(betas[None], dtype=torch.float32))
    j = out.mano_joints[0].double().numpy()
    palmar = np.cross(j[1] - j[0], j[7] - j[0])  # index and pinky knuckles: for a right hand this points out of the palm
    palmar /= np.linalg.norm(palmar)
    forward = j[4] - j[0]
    forward -= forward @ palmar * palmar
    forward /= np.linalg.norm(forward)
    weights = model.layer.lbs_weights.detach().numpy()
    owner = weights.argmax(1)
    axes, verts = {}, {}
    for name, ids in FINGER_JOINTS.items():
        direction = j[ids[2]] - j[ids[0]]
        axis = np.cross(direction, palmar)
        axes[name] = axis / np.linalg.norm(axis)
        verts[name] = np.flatnonzero(np.isin(owner, ids))
    centre = j[[0, 1, 4, 7, 10]].mean(0)
    return HandFrame(np.asarray(betas, np.float64), j[0], centre, palmar, forward, axes, verts)


def articulation(frame: HandFrame, flex: dict[str, float]) -> np.ndarray:
    """(45,) full axis-angle articulation (the flat hand is zero) with each finger flexed by its angle."""
    pose = np.zeros((16, 3))
    for name, angle in flex.items():
        for joint, share in zip(FINGER_JOINTS[name], FLEX_SHARE[name], strict=True):
            pose[joint] = frame.flex_axes[name] * angle * share
    return pose[1:].reshape(45)


def facing(frame: HandFrame, site: GraspSite) -> np.ndarray:
    """The rotation turning the flat hand's palm against the site (palmar -> -normal, forward -> tangent)."""
    t = site.tangent - site.tangent @ site.normal * site.normal
    t /= np.linalg.norm(t)
    a = np.stack([frame.forward, frame.palmar, np.cross(frame.forward, frame.palmar)], axis=1)
    b = np.stack([t, -site.normal, np.cross(t, -site.normal)], axis=1)
    return b @ a.T


@dataclass(frozen=True)
class Grasp:
    orient: np.ndarray  # (3,) axis-angle, about the root joint (smplx's convention)
    articulation: np.ndarray  # (45,) full axis-angle (0 = flat)
    transl: np.ndarray  # (3,)
    approach: np.ndarray  # (3,) unit: the direction the hand came in along (the site's -normal)
    clearance: float  # closest vertex of the held hand to the surface, metres (>= 0: no vertex inside)


def _posed(model: HandModel, frame: HandFrame, rot: np.ndarray, transl: np.ndarray, arts: np.ndarray) -> np.ndarray:
    """(B, V, 3) vertices of articulations `arts` (B, 45) under one rigid placement."""
    n = len(arts)
    mean = model.layer.hand_mean.detach().double().numpy()
    orient = torch.as_tensor(matrix_to_axis_angle_np(rot)[None].repeat(n, 0), dtype=torch.float32)
    betas = torch.as_tensor(frame.betas[None].repeat(n, 0), dtype=torch.float32)
    with torch.no_grad():
        out = model(
            orient,
            torch.as_tensor(arts - mean, dtype=torch.float32),
            betas,
            torch.as_tensor(transl[None].repeat(n, 0), dtype=torch.float32),
        )
    return out.vertices.double().numpy()


def solve_grasp(
    model: HandModel, frame: HandFrame, mesh: trimesh.Trimesh, site: GraspSite, margin: float = 0.002, steps: int = 12
) -> Grasp:
    """The held hand at `site` (see the module docstring)."""
    rot = facing(frame, site)
    flat = np.zeros((1, 45))

    def transl_at(offset: float) -> np.ndarray:  # palm centre `offset` out of the site's origin
        target = site.origin + site.normal * offset
        return target - frame.root - rot @ (frame.palm_centre - frame.root)

    lo, hi = 0.0, 0.3
    if signed_distance_outside(mesh, _posed(model, frame, rot, transl_at(hi), flat)[0]).min() < margin:
        raise ValueError("grasp site too deep: the flat hand touches the object 30 cm out")
    for _ in range(steps):
        mid = (lo + hi) / 2
        clear = signed_distance_outside(mesh, _posed(model, frame, rot, transl_at(mid), flat)[0]).min() >= margin
        lo, hi = (lo, mid) if clear else (mid, hi)
    transl = transl_at(hi)
    # close the fingers: a coarse sweep, then bisection between the last clear angle and the first touching one
    names = list(FINGER_JOINTS)
    angles = np.linspace(0.0, MAX_FLEX, 14)
    verts = _posed(model, frame, rot, transl, np.stack([articulation(frame, dict.fromkeys(names, a)) for a in angles]))
    dist = signed_distance_outside(mesh, verts.reshape(-1, 3)).reshape(len(angles), -1)
    lo_a, hi_a = {}, {}
    for name in names:
        touching = dist[:, frame.finger_vertices[name]].min(1) < margin
        first = int(np.argmax(touching)) if touching.any() else None
        lo_a[name] = angles[first - 1] if first else (0.0 if first == 0 else MAX_FLEX)
        hi_a[name] = angles[first] if first else lo_a[name]
    for _ in range(5):
        mid = {n: (lo_a[n] + hi_a[n]) / 2 for n in names}
        d = signed_distance_outside(mesh, _posed(model, frame, rot, transl, articulation(frame, mid)[None])[0])
        for name in names:
            if hi_a[name] > lo_a[name]:
                if d[frame.finger_vertices[name]].min() >= margin:
                    lo_a[name] = mid[name]
                else:
                    hi_a[name] = mid[name]
    art = articulation(frame, lo_a)
    final = _posed(model, frame, rot, transl, art[None])[0]
    clearance = float(signed_distance_outside(mesh, final).min())
    return Grasp(matrix_to_axis_angle_np(rot), art, transl, -site.normal, clearance)


def forearm(frame: HandFrame, rot: np.ndarray, transl: np.ndarray) -> trimesh.Trimesh:
    """The forearm behind the wrist of a hand placed by (rot about the root, transl)."""
    arm = trimesh.creation.capsule(height=FOREARM_LENGTH, radius=FOREARM_RADIUS, count=(12, 12))
    # capsule along +z centred at the origin; lay it along -forward, its near end at the wrist
    to_hand = trimesh.geometry.align_vectors([0, 0, 1], -frame.forward)
    arm.apply_transform(to_hand)
    arm.apply_translation(frame.root - frame.forward * (FOREARM_LENGTH / 2 + FOREARM_RADIUS * 0.6) + frame.palmar * 0.004)
    place = np.eye(4)
    place[:3, :3] = rot
    place[:3, 3] = frame.root + transl - rot @ frame.root
    arm.apply_transform(place)
    return arm


def rotation_of(orient: np.ndarray) -> np.ndarray:
    return axis_angle_to_matrix_np(np.asarray(orient, np.float64))
