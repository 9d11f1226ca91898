"""World -> camera -> pixel as InterHand2.6M defines it, and rotation conversions."""

from __future__ import annotations

import numpy as np
import torch

from handflow.geometry.camera import Camera, cam_to_pixel, look_at, pixel_to_cam
from handflow.geometry.rotations import (
    axis_angle_to_matrix_np,
    matrix_to_axis_angle_np,
    matrix_to_rotation_6d,
    mirror_axis_angle,
    rotation_6d_to_matrix,
)


def _camera(rng) -> Camera:
    campos = rng.uniform(-800, 800, 3) + np.array([0.0, 0.0, -1200.0])
    return Camera(R=look_at(campos, np.zeros(3)), campos=campos, focal=np.array([1200.0, 1210.0]), princpt=np.array([167.0, 256.0]))


def test_interhand_formulas():
    """The dataset's own code: world2cam = R (X - campos); cam2pixel = X / (Z + 1e-8) * f + c."""
    rng = np.random.default_rng(0)
    cam = _camera(rng)
    x = rng.normal(0, 100, (50, 3))
    expected_cam = (cam.R @ (x - cam.campos).T).T
    np.testing.assert_allclose(cam.world_to_cam(x), expected_cam, rtol=1e-12)
    uv = cam.world_to_pixel(x)
    np.testing.assert_allclose(uv[:, 0], expected_cam[:, 0] / (expected_cam[:, 2] + 1e-8) * 1200.0 + 167.0, rtol=1e-12)
    np.testing.assert_allclose(uv[:, 1], expected_cam[:, 1] / (expected_cam[:, 2] + 1e-8) * 1210.0 + 256.0, rtol=1e-12)
    np.testing.assert_allclose(cam.R @ cam.R.T, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(cam.world_to_cam(cam.campos), 0.0, atol=1e-9)


def test_projection_round_trip():
    rng = np.random.default_rng(1)
    cam = _camera(rng)
    x = rng.normal(0, 150, (200, 3))
    xc = cam.world_to_cam(x)
    assert (xc[:, 2] > 0).all(), "the camera looks at the origin"
    uv = cam_to_pixel(xc, cam.focal, cam.princpt)
    back = cam.cam_to_world(pixel_to_cam(uv, xc[:, 2], cam.focal, cam.princpt))
    np.testing.assert_allclose(back, x, atol=1e-6)


def test_look_at_points_the_optical_axis():
    rng = np.random.default_rng(2)
    cam = _camera(rng)
    uv = cam.world_to_pixel(np.zeros((1, 3)))
    np.testing.assert_allclose(uv[0], cam.princpt, atol=1e-9)
    # world "up" (-y in the convention of look_at) appears towards the top of the image
    assert cam.world_to_pixel(np.array([[0.0, -50.0, 0.0]]))[0, 1] < cam.princpt[1]


def test_rotation_round_trips():
    rng = np.random.default_rng(3)
    aa = rng.normal(0, 1, (100, 3))
    aa *= (
        (np.pi * 0.95)
        / np.maximum(np.linalg.norm(aa, axis=1, keepdims=True), np.pi * 0.95)
        * np.minimum(np.linalg.norm(aa, axis=1, keepdims=True), np.pi * 0.95)
        / np.linalg.norm(aa, axis=1, keepdims=True)
    )
    mats = axis_angle_to_matrix_np(aa)
    np.testing.assert_allclose(matrix_to_axis_angle_np(mats), aa, atol=1e-9)
    m = torch.as_tensor(mats)
    torch.testing.assert_close(rotation_6d_to_matrix(matrix_to_rotation_6d(m)), m)


def test_mirror_axis_angle_is_reflection_conjugate():
    """mirror(aa) is the rotation M R M with M = diag(-1, 1, 1): a left hand's pose from a right's."""
    rng = np.random.default_rng(4)
    aa = rng.normal(0, 0.8, (20, 3))
    m = np.diag([-1.0, 1.0, 1.0])
    np.testing.assert_allclose(axis_angle_to_matrix_np(mirror_axis_angle(aa)), m @ axis_angle_to_matrix_np(aa) @ m, atol=1e-12)
