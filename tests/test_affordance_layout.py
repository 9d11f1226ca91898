"""Affordance Diffusion's lollipop layout: computed from a hand as the seed does, and its hard and soft renders agree."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from handflow.errors import InputError
from handflow.papers.affordance.layout import layout_from_hand, mirror_path, render_hard, render_soft


def _hand(side: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """A palm box at (20..36, 24..36) and a mask that runs on to the right (the forearm)."""
    mask = np.zeros((side, side), np.uint8)
    mask[24:36, 20:36] = 1
    mask[27:33, 36:60] = 1
    return np.array([20.0, 24.0, 36.0, 36.0]), mask


def test_layout_is_the_box_centre_size_and_the_direction_towards_the_arm():
    box, mask = _hand()
    x, y, sqrt_s, ux, uy = layout_from_hand(box, mask)
    assert (x, y) == pytest.approx((28 / 64 * 2 - 1, 30 / 64 * 2 - 1))
    assert sqrt_s == pytest.approx(np.sqrt(4 * 8 / 64))  # r = half the longer side (16 / 2)
    assert ux > 0.95 and abs(uy) < 0.3 and np.hypot(ux, uy) == pytest.approx(1.0)


@pytest.mark.parametrize("seed", range(5))
def test_soft_render_at_one_half_is_the_hard_render(seed):
    rng = np.random.default_rng(seed)
    theta = rng.uniform(-np.pi, np.pi)
    layout = np.array([*rng.uniform(-0.4, 0.4, 2), rng.uniform(0.45, 0.8), np.cos(theta), np.sin(theta)])
    hard = render_hard(layout, 256) == 0
    soft = render_soft(torch.as_tensor(layout[None]), 256)[0].numpy() > 0.5
    iou = (hard & soft).sum() / (hard | soft).sum()
    assert iou > 0.9, iou  # the rest: cv2 fills the pixels its outline crosses, and the Gaussians' 0.5 level is at 0.98 of it
    r = layout[2] ** 2 * 256 / 4
    # a disc (inside the image here) and a 7r x r stick (partly off-image for large r)
    assert 0.95 * np.pi * r**2 < hard.sum() < 1.1 * (np.pi + 7) * r**2


def test_soft_render_is_differentiable_in_every_dimension():
    layout = torch.tensor([[0.1, -0.2, 0.6, 0.6, 0.8]], dtype=torch.float64, requires_grad=True)
    render_soft(layout, 64).sum().backward()
    assert torch.isfinite(layout.grad).all() and (layout.grad.abs() > 0).all()


def test_mirror_path_ends_at_the_mirror_image():
    layout = np.array([0.3, -0.1, 0.6, 0.6, 0.8])
    path = mirror_path(layout, 7)
    np.testing.assert_allclose(path[0], layout, atol=1e-12)
    np.testing.assert_allclose(path[-1], [-0.3, -0.1, 0.6, -0.6, 0.8], atol=1e-12)
    np.testing.assert_allclose(np.hypot(path[:, 3], path[:, 4]), 1.0)
    fixed = mirror_path(layout, 3, orient=False)
    np.testing.assert_allclose(fixed[:, 3:], [[0.6, 0.8]] * 3)


def test_bad_hands_are_one_line_naming_the_field():
    box, mask = _hand()
    with pytest.raises(InputError, match="hand_mask: 0 hand pixels"):
        layout_from_hand(box, np.zeros_like(mask), "frame 3")
    with pytest.raises(InputError, match="hand_mask: shape"):
        layout_from_hand(box, mask[:, :40])
    with pytest.raises(InputError, match="hand_box"):
        layout_from_hand(np.array([5.0, 5.0, 5.0, 9.0]), mask)
