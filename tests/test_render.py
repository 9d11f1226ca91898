"""Rasterizer backends agree on pixels; part labels follow DIGIT's 33-class layout."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from handflow.render.images import N_PART_CLASSES, part_labels, two_hand_face_labels
from handflow.render.rasterize import gl_available, rasterize

FOCAL = np.array([300.0, 300.0])
PRINCPT = np.array([127.5, 127.5])
SIZE = (256, 256)


def _two_hands_cam(hands):
    """Both sealed hands in camera space (mm), side by side and overlapping in depth."""
    verts, faces, face_labels = [], [], []
    offset = 0
    rng = np.random.default_rng(0)
    for side, dx in (("right", -35.0), ("left", 35.0)):
        hand = hands[side]
        pose = torch.as_tensor(rng.normal(0, 0.2, (1, 45)))
        with torch.no_grad():
            out = hand(torch.tensor([[np.pi / 2, 0.0, 0.0]], dtype=torch.float64), pose, torch.zeros(1, 10, dtype=torch.float64))
            v = hand.seal(out.vertices)[0].numpy() * 1000.0
        v = v - v.mean(0) + np.array([dx, 0.0, 400.0 + 0.5 * dx])
        verts.append(v)
        faces.append(hand.sealed_faces.numpy() + offset)
        offset += len(v)
        face_labels.append(hand.sidecar.face_parts)
    return np.vstack(verts), np.vstack(faces), two_hand_face_labels(*face_labels)


def test_numpy_rasterizer_square_covers_pixel_centres():
    """A square spanning u, v in [10.2, 20.2] covers exactly the pixel centres 11..20 at its depth."""
    z = 500.0
    corners_uv = np.array([[10.2, 10.2], [20.2, 10.2], [20.2, 20.2], [10.2, 20.2]])
    verts = np.c_[(corners_uv - PRINCPT) / FOCAL * z, np.full(4, z)]
    raster = rasterize(verts, np.array([[0, 1, 2], [0, 2, 3]]), FOCAL, PRINCPT, (32, 32), backend="numpy")
    expected = np.zeros((32, 32), bool)
    expected[11:21, 11:21] = True
    np.testing.assert_array_equal(raster.mask, expected)
    np.testing.assert_allclose(raster.depth[raster.mask], z, rtol=1e-6)
    assert np.isinf(raster.depth[~raster.mask]).all()


@pytest.mark.skipif(not gl_available(), reason="no EGL here (make test installs Mesa's EGL when it can)")
def test_backends_agree_on_two_hands(hands):
    verts, faces, labels = _two_hands_cam(hands)
    a = rasterize(verts, faces, FOCAL, PRINCPT, SIZE, backend="numpy")
    b = rasterize(verts, faces, FOCAL, PRINCPT, SIZE, backend="gl")
    fg = a.mask | b.mask
    assert fg.sum() > 5000
    assert (a.mask == b.mask).mean() > 0.999
    both = a.mask & b.mask
    assert (a.face_id[both] == b.face_id[both]).mean() > 0.995
    same = both & (a.face_id == b.face_id)
    np.testing.assert_allclose(a.depth[same], b.depth[same], rtol=1e-4)
    pa, pb = part_labels(a, labels), part_labels(b, labels)
    assert (pa == pb).mean() > 0.999


def test_part_labels_two_hands(hands):
    verts, faces, labels = _two_hands_cam(hands)
    raster = rasterize(verts, faces, FOCAL, PRINCPT, SIZE, backend="numpy")
    parts = part_labels(raster, labels)
    assert labels.max() < N_PART_CLASSES
    seen = set(np.unique(parts))
    assert 0 in seen
    assert seen & set(range(1, 17)) and seen & set(range(17, 33)), "both hands visible with their own label ranges"
    np.testing.assert_array_equal(parts > 0, raster.mask)
    # the right hand sits left in the image (x < 0): its labels live in the left half
    cols = np.nonzero((parts >= 1) & (parts <= 16))[1]
    assert np.median(cols) < SIZE[0] / 2
