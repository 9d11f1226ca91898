"""Semantics2Hands' motion layer: BVH files round-trip exactly in any channel order, the seed's 21-joint hand is read out
of Mixamo skeletons, hand axes are orthonormal, right-handed and agree across characters and MANO, the ASM is
vectorised and its bs-rotation inverts."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation

from handflow.errors import InputError
from handflow.papers.s2h import asm, bvh, hand
from handflow.papers.s2h.axes import joint_axes, palm_normal
from handflow.papers.s2h.characters import mesh_data, motion_of

ORDERS = ["XYZ", "XZY", "YXZ", "YZX", "ZXY", "ZYX"]


def _random_motion(order: str, n_channels: int, frames: int, seed: int) -> bvh.Motion:
    rng = np.random.default_rng(seed)
    rot = tuple(f"{a}rotation" for a in order)
    pos = ("Xposition", "Yposition", "Zposition")
    per_joint = {3: rot, 6: pos + rot, 9: pos + rot + ("Xscale", "Yscale", "Zscale")}[n_channels]
    names = ["mixamorig:Hips", "mixamorig:Spine", "mixamorig:LeftArm", "Head"]
    sk = bvh.Skeleton(names, np.array([-1, 0, 1, 1]), rng.normal(0, 10, (4, 3)), [per_joint] * 4, {2: rng.normal(0, 1, 3)})
    return bvh.Motion(sk, rng.normal(0, 40, (frames, 4 * n_channels)), 1 / 30)


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(ORDERS), st.sampled_from([3, 6, 9]), st.integers(0, 5), st.integers(0, 1000))
def test_bvh_round_trips_bit_for_bit(tmp_path_factory, order, n_channels, frames, seed):
    m = _random_motion(order, n_channels, frames, seed)
    path = tmp_path_factory.mktemp("bvh") / "m.bvh"
    bvh.write_bvh(path, m)
    back = bvh.read_bvh(path)
    assert back.skeleton.names == m.skeleton.names and back.skeleton.channels == m.skeleton.channels
    assert np.array_equal(back.values, m.values) and np.array_equal(back.skeleton.offsets, m.skeleton.offsets)
    assert np.array_equal(back.skeleton.end_sites[2], m.skeleton.end_sites[2]) and back.frame_time == m.frame_time


@pytest.mark.parametrize("order", ORDERS)
def test_rotation_channels_are_intrinsic_in_the_listed_order(order):
    """A joint's channels a1 a2 a3 mean R = R_a1(v1) R_a2(v2) R_a3(v3), read back from matrices in the same order."""
    m = _random_motion(order, 3, 4, 1)
    r = m.local_rotations()[:, 1]
    angles = m.values[:, 3:6]
    expected = np.stack(
        [np.linalg.multi_dot([Rotation.from_euler(a, v[i], degrees=True).as_matrix() for i, a in enumerate(order)]) for v in angles]
    )
    assert np.allclose(r, expected)
    assert np.allclose(Rotation.from_euler(order, bvh.euler_channels(r, order), degrees=True).as_matrix(), r)


def test_character_bvh_reads_back_as_the_seeds_hand(tmp_path, s2h_characters):
    c = s2h_characters[1]
    rng = np.random.default_rng(0)
    rot = Rotation.from_rotvec(rng.normal(0, 0.4, (7 * 21, 3))).as_matrix().reshape(7, 21, 3, 3)
    rot[:, 0] = np.eye(3)
    bvh.write_bvh(tmp_path / "c.bvh", motion_of(c, rot, 1 / 60))
    text = (tmp_path / "c.bvh").read_text()
    assert "JOINT mixamorig:RightHandIndex4" in text and "ROOT mixamorig:RightHand" in text
    h = hand.hand_of(bvh.read_bvh(tmp_path / "c.bvh"), "c.bvh")
    assert np.allclose(h.offsets, c.offsets) and np.allclose(h.rotations[:, hand.NON_TIPS], rot[:, hand.NON_TIPS])


def test_characters_have_different_hands(s2h_characters):
    lengths = [np.linalg.norm(c.offsets, axis=1) for c in s2h_characters]
    finger = [ln[2:5].sum() / ln[1] for ln in lengths]  # middle finger over palm length
    assert max(finger) / min(finger) > 1.2
    rest = [hand.forward_kinematics(c.offsets, np.eye(3)[None, None].repeat(21, 1))[0][0] for c in s2h_characters]
    curl = [np.degrees(np.arccos(np.clip(_unit(r[3] - r[2]) @ _unit(r[2] - r[1]), -1, 1))) for r in rest]
    assert max(curl) - min(curl) > 10.0  # rest poses differ too
    data = mesh_data(s2h_characters[0])
    assert data["weight"].shape == (len(data["verts"]), 21) and np.allclose(data["weight"].sum(1), 1.0)
    assert data["faces"].max() < len(data["verts"])


def _unit(v):
    return v / np.linalg.norm(v)


def _mano_hand(model_dir):
    """MANO's rest joints, mesh and weights in the seed's joint order (tips from the OpenPose vertices)."""
    from handflow.hand.model import create

    h = create(model_dir, "right")
    with torch.no_grad():
        out = h(torch.zeros(1, 3), -h.layer.hand_mean[None], torch.zeros(1, 10), torch.zeros(1, 3))
    op = out.joints_openpose()[0].double().numpy() * 100.0  # OpenPose: wrist, thumb, index, middle, ring, pinky
    op_finger = {"Thumb": 0, "Index": 1, "Middle": 2, "Ring": 3, "Pinky": 4}
    order = [0] + [1 + 4 * op_finger[f] + j for f in hand.FINGERS for j in range(4)]
    mano_finger = {"Index": 0, "Middle": 1, "Pinky": 2, "Ring": 3, "Thumb": 4}  # MANO's 16 joints: wrist, then 3 each
    w16 = h.layer.lbs_weights.double().numpy()
    weights = np.zeros((len(w16), 21))
    weights[:, 0] = w16[:, 0]
    for f, finger in enumerate(hand.FINGERS):
        for j in range(3):
            weights[:, 1 + 4 * f + j] = w16[:, 1 + 3 * mano_finger[finger] + j]
    verts = out.vertices[0].double().numpy() * 100.0
    return op[order] - op[0], verts - op[0], weights


def _hand_frame(rest):
    n = palm_normal(rest)
    ahead = rest[1] - rest[0]
    ahead = _unit(ahead - (ahead @ n) * n)
    return np.stack([ahead, np.cross(n, ahead), n], axis=1)


def test_axes_are_orthonormal_right_handed_and_agree_across_characters_and_mano(s2h_characters, model_dir):
    """Every joint's (twist, bend, splay) is a rotation; in each hand's own flat pose, expressed in the hand's frame, the
    same joint's axes point the same way on every character and on MANO (within 30 degrees). The thumb's twist follows
    its bones, whose rest direction is the rig's own (anny's and MANO's thumbs differ by ~30 degrees in the palm's
    plane): for the thumb only the splay is compared."""
    canon = []
    hands = [
        (hand.forward_kinematics(c.offsets, np.eye(3)[None, None].repeat(21, 1))[0][0], c.vertices, c.weights) for c in s2h_characters
    ] + [_mano_hand(model_dir)]
    for rest, verts, weights in hands:
        axes, _ = joint_axes(rest, verts, weights)
        assert np.allclose(axes @ np.swapaxes(axes, 1, 2), np.eye(3), atol=1e-9) and np.allclose(np.linalg.det(axes), 1.0)
        offsets = rest - rest[np.maximum(hand.PARENTS, 0)]
        offsets[0] = 0
        flat = asm.from_bs(np.eye(3)[None, None].repeat(15, 1), asm.canonical_rest(offsets), axes)
        pos, glob = hand.forward_kinematics(offsets, flat)
        canon.append(_hand_frame(pos[0]).T @ (glob[0] @ axes))
    canon = np.stack(canon)  # (hands, 21, 3, 3)
    thumb = 1 + 4 * hand.FINGERS.index("Thumb")
    for k in hand.NON_TIPS:
        for other in canon[1:]:
            cos = np.einsum("ab,ab->b", canon[0, k], other[k])[2 if k >= thumb else 0 :]
            assert (cos > np.cos(np.radians(30))).all(), (k, np.degrees(np.arccos(np.clip(cos, -1, 1))))


def test_bs_rotation_inverts_and_identity_is_the_flat_hand(s2h_characters):
    c = s2h_characters[2]
    rest_local = asm.canonical_rest(c.offsets)
    rot = Rotation.from_rotvec(np.random.default_rng(3).normal(0, 0.5, (5 * 21, 3))).as_matrix().reshape(5, 21, 3, 3)
    rot[:, 0] = np.eye(3)
    rot[:, hand.TIPS] = np.eye(3)
    bs = asm.to_bs(rot, rest_local, c.axes)
    assert np.allclose(asm.from_bs(bs, rest_local, c.axes), rot, atol=1e-12)
    flat = asm.from_bs(np.eye(3)[None, None].repeat(15, 1), rest_local, c.axes)
    pos, _ = hand.forward_kinematics(c.offsets, flat)
    n = palm_normal(pos[0])
    for f in range(4):  # the four fingers straight, parallel, in the palm's plane
        bones = np.diff(pos[0, [1 + 4 * f + j for j in range(4)]], axis=0)
        assert np.abs(bones @ n).max() < 1e-6 and np.allclose([_unit(b) @ _unit(bones[0]) for b in bones], 1.0)


def test_asm_is_the_seeds_definition_and_vectorised_equals_per_frame(s2h_characters):
    c = s2h_characters[0]
    rot = Rotation.from_rotvec(np.random.default_rng(5).normal(0, 0.3, (6 * 21, 3))).as_matrix().reshape(6, 21, 3, 3)
    rot[:, 0] = np.eye(3)
    pos, glob = hand.forward_kinematics(c.offsets, rot)
    finger, palm = asm.asm(pos, glob, c.axes)
    assert finger.shape == (6, 20, 20, 3) and palm.shape == (6, 20, 9, 3)
    scale = np.linalg.norm(pos[:, 1] - pos[:, 0], axis=-1)
    i, j, f = 7, 12, 4  # one entry by the definition: F_i^T (p_j - p_i) / |Middle1 - wrist|
    frame = glob[f, 1 + i] @ c.axes[1 + i]
    assert np.allclose(finger[f, i, j], frame.T @ (pos[f, 1 + j] - pos[f, 1 + i]) / scale[f])
    assert np.allclose(np.diagonal(finger, axis1=1, axis2=2), 0.0)
    per_frame = [asm.asm(*hand.forward_kinematics(c.offsets, rot[k : k + 1]), c.axes) for k in range(6)]
    assert np.allclose(np.concatenate([p[0] for p in per_frame]), finger)
    # ASM directions do not change with the hand's size: a character scaled by 2 has the same directions
    finger2, _ = asm.asm(*hand.forward_kinematics(2 * c.offsets, rot), c.axes)
    assert np.allclose(asm.directions(finger2), asm.directions(finger))


BAD_BVH = {
    "unknown channel order": ("CHANNELS 3 Zrotation Xrotation Yrotation", "CHANNELS 3 Zrotation Qrotation Yrotation", "CHANNELS"),
    "truncated motion": ("Frames: 3", "Frames: 5", "MOTION"),
    "non-numeric value": (None, "abc", "MOTION frame"),
    "cyclic hierarchy": ("JOINT mixamorig:RightHandMiddle2", "JOINT mixamorig:RightHandMiddle1", "named twice"),
}


@pytest.mark.parametrize("case", sorted(BAD_BVH))
def test_bad_bvh_is_one_line_naming_the_field(tmp_path, s2h_characters, case):
    rot = np.broadcast_to(np.eye(3), (3, 21, 3, 3)).copy()
    bvh.write_bvh(tmp_path / "ok.bvh", motion_of(s2h_characters[0], rot, 1 / 60))
    text = (tmp_path / "ok.bvh").read_text()
    old, new, field = BAD_BVH[case]
    if old is None:
        lines = text.splitlines()
        lines[-1] = lines[-1].replace(lines[-1].split()[4], new, 1)
        text = "\n".join(lines) + "\n"
    else:
        assert old in text
        text = text.replace(old, new, 1)
    (tmp_path / "bad.bvh").write_text(text)
    with pytest.raises(InputError) as err:
        bvh.read_bvh(tmp_path / "bad.bvh")
    assert "bad.bvh" in str(err.value) and field in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("how", ["missing", "extra"])
def test_missing_or_extra_hand_joints_are_one_line(tmp_path, s2h_characters, how):
    rot = np.broadcast_to(np.eye(3), (2, 21, 3, 3)).copy()
    bvh.write_bvh(tmp_path / "ok.bvh", motion_of(s2h_characters[0], rot, 1 / 60))
    text = (tmp_path / "ok.bvh").read_text()
    text = text.replace("RightHandRing3", "RightHandRing9") if how == "extra" else text.replace("RightHandRing3", "RightHandRingX")
    name = "RightHandRing9" if how == "extra" else "RightHandRingX"
    (tmp_path / "bad.bvh").write_text(text)
    with pytest.raises(InputError) as err:
        hand.hand_of(bvh.read_bvh(tmp_path / "bad.bvh"), "bad.bvh")
    assert name in str(err.value) and "\n" not in str(err.value)
