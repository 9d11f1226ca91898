"""The 3D hand checks: object depth of both surfaces, the hand placed by its 2D joints, penetration and contact, and the
true hands of the embedded pairs scoring as what they are (in contact, not inside)."""

from __future__ import annotations

import h5py
import numpy as np
import trimesh
from hypothesis import given, settings
from hypothesis import strategies as st

from handflow.geometry.camera import Camera, look_at
from handflow.papers.affordance.evaluate import true_joints
from handflow.papers.affordance.generator import object_depths
from handflow.papers.affordance.hand_contact import against_depth, hand_contact_metrics, place_hand
from handflow.papers.affordance.pair_data import read_pairs_file

CAMERA = np.array([[100.0, 100.0, 32.0, 32.0]])


def _front_camera(distance: float = 0.5) -> Camera:
    pos = np.array([0.0, 0.0, distance])
    return Camera(look_at(pos, np.zeros(3), up=np.array([0.0, 1.0, 0.0])), pos, np.array([200.0, 200.0]), np.array([32.0, 32.0]))


def test_near_and_far_depth_of_a_box_are_its_faces():
    """A 60 mm cube 500 mm in front of the camera: near face at 470 mm, far face at 530 mm, on every covered pixel."""
    box = trimesh.creation.box((0.06, 0.06, 0.06)).subdivide().subdivide()
    depth = object_depths(_front_camera(), np.asarray(box.vertices), np.asarray(box.faces), (64, 64), backend="numpy")
    centre = depth[:, 28:37, 28:37]
    assert np.allclose(centre[0], 470.0, atol=0.5) and np.allclose(centre[1], 530.0, atol=0.5)
    assert ((depth[0] > 0) == (depth[1] > 0)).all() and (depth[1] >= depth[0]).all()
    assert depth[0, 0, 0] == 0.0  # off the object


@settings(max_examples=40, deadline=None)
@given(st.floats(-80, 80), st.floats(-80, 80), st.floats(300, 900), st.integers(0, 10_000))
def test_placing_recovers_the_translation_of_exactly_projected_joints(tx, ty, tz, seed):
    rel = np.random.default_rng(seed).normal(0.0, 40.0, (1, 21, 3))
    truth = rel + np.array([tx, ty, tz])
    kps = CAMERA[0, :2] * truth[..., :2] / truth[..., 2:] + CAMERA[0, 2:]
    assert np.allclose(place_hand(kps, rel, CAMERA), truth, atol=1e-6 * tz)


def _slab(side: int = 64, near: float = 500.0, far: float = 560.0) -> np.ndarray:
    depth = np.zeros((2, side, side))
    depth[0, 16:48, 16:48], depth[1, 16:48, 16:48] = near, far
    return depth


def _at_pixel(u: float, v: float, z: float) -> np.ndarray:
    return np.array([[(u - 32.0) * z / 100.0, (v - 32.0) * z / 100.0, z]])


def test_a_joint_inside_the_slab_penetrates_by_its_depth_to_the_nearer_face():
    pen, dist = against_depth(_at_pixel(32, 32, 510.0), _slab(), CAMERA[0])
    assert abs(pen - 10.0) < 1e-9 and dist == 0.0
    pen, _ = against_depth(_at_pixel(32, 32, 545.0), _slab(), CAMERA[0])
    assert abs(pen - 15.0) < 1e-9


def test_a_joint_in_front_of_the_object_is_at_its_distance_and_not_inside():
    pen, dist = against_depth(_at_pixel(32, 32, 488.0), _slab(), CAMERA[0])
    assert pen == 0.0 and abs(dist - 12.0) < 0.5
    far_off = hand_contact_metrics(_at_pixel(32, 32, 400.0)[None], _slab()[None], CAMERA, 15.0)
    near_by = hand_contact_metrics(_at_pixel(32, 32, 490.0)[None], _slab()[None], CAMERA, 15.0)
    assert far_off["contact_3d"] == 0.0 and near_by["contact_3d"] == 1.0


def test_true_hands_of_the_embedded_pairs_touch_and_do_not_penetrate(hoi4d_pairs, model_dir):
    """The calibration the report prints: the held-out frames are contacts without interpenetration, so their true joints
    sit within a finger's radius (the palm's, under the knuckles) of the object and (almost) never inside its near/far slab."""
    raw = read_pairs_file(hoi4d_pairs["test"])
    with h5py.File(hoi4d_pairs["test"], "r") as h5:
        assert h5["obj_depth"].dtype == np.float16
    index = np.arange(len(raw["hoi"]))
    joints = true_joints(raw, index, model_dir)
    kps = raw["crop_camera"][:, None, :2] * joints[..., :2] / joints[..., 2:] + raw["crop_camera"][:, None, 2:]
    assert np.abs(kps - raw["kps2d"]).max() < 0.05  # the crop camera reproduces the pairs' 2D joints
    metrics = hand_contact_metrics(joints, raw["obj_depth"], raw["crop_camera"].astype(np.float64), 20.0)
    assert metrics["contact_3d"] >= 0.9 and metrics["penetration_mm"] < 3.0, metrics
