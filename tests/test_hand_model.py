"""The open hand model: smplx loads it unchanged, joint orders, sealing, left/right symmetry."""

from __future__ import annotations

import numpy as np
import pytest
import smplx
import torch

from handflow.geometry.penetration import winding_numbers
from handflow.hand.joints import IH26M_NAMES, OPENPOSE_NAMES
from handflow.hand.model import N_PARTS

SIDES = ("right", "left")


@pytest.mark.parametrize("side", SIDES)
def test_smplx_loads_open_model_unchanged(model_dir, side):
    layer = smplx.MANO(str(model_dir / f"MANO_{side.upper()}.npz"), is_rhand=side == "right", ext="npz", use_pca=False, num_pca_comps=45)
    assert layer.J_regressor.shape[0] == 16
    assert layer.shapedirs.shape[-1] == 10
    assert layer.posedirs.shape[0] == 15 * 9
    assert layer.np_hand_components.shape == (45, 45)
    out = layer(betas=torch.zeros(1, 10), global_orient=torch.zeros(1, 3), hand_pose=torch.zeros(1, 45))
    assert out.vertices.shape == (1, layer.v_template.shape[0], 3)
    assert torch.isfinite(out.vertices).all()


def test_joint_orders(hands):
    right = hands["right"]
    pose = torch.zeros(1, 45, dtype=torch.float64)
    out = right(torch.zeros(1, 3, dtype=torch.float64), pose, torch.zeros(1, 10, dtype=torch.float64))
    assert out.joints.shape == (1, 21, 3)
    # InterHand2.6M: tips first per finger, wrist last; the wrist is MANO joint 0
    assert IH26M_NAMES[20] == "wrist" and IH26M_NAMES[0] == "thumb4"
    torch.testing.assert_close(out.joints[0, 20], out.mano_joints[0, 0])
    torch.testing.assert_close(out.joints[0, 0], out.vertices[0, right.tip_ids[0]])
    torch.testing.assert_close(out.joints[0, 4], out.vertices[0, right.tip_ids[1]])  # index tip
    op = out.joints_openpose()
    assert OPENPOSE_NAMES[0] == "wrist" and OPENPOSE_NAMES[4] == "thumb4"
    torch.testing.assert_close(op[0, 0], out.joints[0, 20])
    torch.testing.assert_close(op[0, 4], out.joints[0, 0])
    torch.testing.assert_close(op[0, 8], out.joints[0, 4])


def test_translation_and_shape_move_joints(hands):
    right = hands["right"]
    z = torch.zeros(1, 45, dtype=torch.float64)
    base = right(torch.zeros(1, 3, dtype=torch.float64), z, torch.zeros(1, 10, dtype=torch.float64))
    moved = right(
        torch.zeros(1, 3, dtype=torch.float64),
        z,
        torch.zeros(1, 10, dtype=torch.float64),
        torch.tensor([[0.1, 0.0, 0.0]], dtype=torch.float64),
    )
    torch.testing.assert_close(moved.joints - base.joints, torch.tensor([0.1, 0.0, 0.0], dtype=torch.float64).expand(1, 21, 3))
    betas = torch.zeros(1, 10, dtype=torch.float64)
    betas[0, 0] = 2.0
    bigger = right(torch.zeros(1, 3, dtype=torch.float64), z, betas)
    assert not torch.allclose(bigger.vertices, base.vertices)


def test_left_is_mirror_of_right(hands):
    args = [torch.zeros(1, 3, dtype=torch.float64), torch.zeros(1, 45, dtype=torch.float64), torch.zeros(1, 10, dtype=torch.float64)]
    r, left = hands["right"](*args), hands["left"](*args)
    mirrored = r.vertices.clone()
    mirrored[..., 0] *= -1
    torch.testing.assert_close(left.vertices, mirrored, atol=1e-5, rtol=0)


@pytest.mark.parametrize("side", SIDES)
def test_sealed_mesh_is_watertight_and_labelled(hands, side):
    hand = hands[side]
    faces = hand.sealed_faces.numpy()
    edges = np.sort(np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]), axis=1)
    _, counts = np.unique(edges, axis=0, return_counts=True)
    assert (counts == 2).all(), "every edge of a closed surface is shared by exactly two faces"
    args = [torch.zeros(1, 3, dtype=torch.float64), torch.zeros(1, 45, dtype=torch.float64), torch.zeros(1, 10, dtype=torch.float64)]
    with torch.no_grad():
        out = hand(*args)
        verts = hand.seal(out.vertices)[0].numpy()
    palm = out.mano_joints[0, [0, 1, 4, 10, 7]].mean(0).numpy()  # inside the palm, between the knuckles and the wrist
    far = palm + np.array([0.0, 0.0, 0.5])
    w = winding_numbers(np.stack([palm, far]), verts, faces)
    assert w[0] == pytest.approx(1.0, abs=1e-6) and w[1] == pytest.approx(0.0, abs=1e-6)
    parts = hand.sidecar.vertex_parts
    assert parts.shape[0] == verts.shape[0]
    assert set(np.unique(parts)) == set(range(N_PARTS))
    assert hand.sidecar.face_parts.shape[0] == faces.shape[0]


def test_pca_round_trip(hands):
    gen = torch.Generator().manual_seed(0)
    pose = 0.3 * torch.randn(4, 45, generator=gen, dtype=torch.float64)
    for hand in hands.values():
        torch.testing.assert_close(hand.pca_to_pose(hand.pose_to_pca(pose)), pose)
