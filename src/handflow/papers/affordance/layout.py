"""The "lollipop" hand layout (seed reference section 2): a 5-D vector, its computation from a hand, and its renderers.

A layout is `[x, y, sqrt(s), u_x, u_y]` for a square image of side W: (x, y) the hand box's
centre in NDC ((px / W) * 2 - 1), s = 4 r / W with r half the hand box's longer side (the
palm circle's radius; the vector stores its square root), and u = (cos t, sin t) the unit
direction from the box centre to the mean of the hand-mask pixels (towards the wrist: where
the hand comes from). The proxy drawn from it is a disc of radius r and a stick of width r
running 7 r from the centre along u.

Decisions against the seed: the seed's dataset draws the stick to the image border while its
differentiable renderer stops it at 7 radii (reference section 6, quirk 6: what the networks
are trained on differs from what they are tested with); here both renderers stop at 7 radii.
The soft renderer evaluates the seed's two Gaussians analytically in image space instead of
warping a 64x256 template with `grid_sample` (the same function without the template's
resampling blur, and no canvas to allocate); the Gaussians' widths are the seed's (a = 0.83
of the radius, of the half-width across the stick), so their 0.5 level is the hard outline.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

from handflow.errors import InputError

STICK_RADII = 7.0  # stick length in radii (the seed's template: 224 px for a 32 px radius)
SOFTNESS = 0.83  # the seed's Gaussian width, in radii (circle) and half-widths (stick)
MIN_HAND_PIXELS = 50  # the seed rejects smaller hand masks


def layout_from_hand(box_xyxy: np.ndarray, hand_mask: np.ndarray, source: str = "hand") -> np.ndarray:
    """The 5-D layout of a hand in a square image: its box (x1, y1, x2, y2, pixels) and its mask (H, W, nonzero = hand)."""
    side = hand_mask.shape[1]
    if hand_mask.ndim != 2 or hand_mask.shape[0] != side:
        raise InputError(source, "hand_mask", f"shape {hand_mask.shape}, expected a square image")
    x1, y1, x2, y2 = (float(v) for v in box_xyxy)
    if not (np.isfinite([x1, y1, x2, y2]).all() and x2 > x1 and y2 > y1):
        raise InputError(source, "hand_box", f"{[x1, y1, x2, y2]} is not a box")
    ys, xs = np.nonzero(hand_mask)
    if len(xs) < MIN_HAND_PIXELS:
        raise InputError(source, "hand_mask", f"{len(xs)} hand pixels, at least {MIN_HAND_PIXELS} needed")
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    r = max(x2 - x1, y2 - y1) / 2
    # pixel centres (index + 0.5) in the box's edge coordinates: the seed mixes indices with edges, a half-pixel bias
    # that makes a flipped image's direction differ from the flipped direction
    theta = np.arctan2(ys.mean() + 0.5 - cy, xs.mean() + 0.5 - cx)
    return np.array([cx / side * 2 - 1, cy / side * 2 - 1, np.sqrt(4 * r / side), np.cos(theta), np.sin(theta)])


def _geometry(layout: np.ndarray, side: int) -> tuple[np.ndarray, float, np.ndarray]:
    """Centre (pixels, centres at integers + 0.5 edges), radius (pixels), unit direction."""
    x, y, sqrt_s, ux, uy = (float(v) for v in layout)
    u = np.array([ux, uy]) / max(np.hypot(ux, uy), 1e-12)
    return np.array([(x + 1) / 2 * side, (y + 1) / 2 * side]), sqrt_s**2 * side / 4, u


def render_hard(layout: np.ndarray, side: int) -> np.ndarray:
    """(side, side) uint8 keep-mask drawn with cv2 as the seed's dataset does: 0 inside the lollipop, 255 outside."""
    centre, r, u = _geometry(layout, side)
    keep = np.full((side, side), 255, np.uint8)
    shift = 4  # sub-pixel coordinates (1/16 px)
    to_fixed = lambda p: tuple(round(v * (1 << shift) - (1 << shift) / 2) for v in p)  # noqa: E731 - edge -> centre convention
    # the stick as its exact rectangle: cv2's thick lines add round caps and grow wider on diagonals
    # (up to twice the width at 45 degrees here), which the seed's renderer does not have
    half = np.array([-u[1], u[0]]) * r / 2
    end = centre + STICK_RADII * r * u
    corners = np.array([to_fixed(p) for p in (centre + half, end + half, end - half, centre - half)], np.int32)
    cv2.fillConvexPoly(keep, corners, 0, lineType=cv2.LINE_8, shift=shift)
    cv2.circle(keep, to_fixed(centre), round(r * (1 << shift)), 0, thickness=-1, lineType=cv2.LINE_8, shift=shift)
    return keep


def jittered(layouts: torch.Tensor, ratio: float, g: torch.Generator) -> torch.Tensor:
    """(B, 5) layouts with the seed's multiplicative jitter (`jitter_ratio`, reference section 2): the centre's pixel
    coordinates and the radius each times 1 + U(-ratio, ratio). The seed's angle jitter (theta times a factor within
    +-ratio degrees in radians, about 0.2 %) is left out: it moves nothing visibly."""
    f = 1 + (torch.rand(len(layouts), 3, generator=g, dtype=layouts.dtype) * 2 - 1) * ratio
    out = layouts.clone()
    out[:, :2] = (layouts[:, :2] + 1) * f[:, :2] - 1  # pixel x = (x + 1) W / 2, scaled: the side cancels
    out[:, 2] = layouts[:, 2] * f[:, 2].sqrt()  # r = sqrt(s)^2 W / 4
    return out


def render_soft(layouts: torch.Tensor, side: int) -> torch.Tensor:
    """(B, side, side) hand masks in [0, 1] of (B, 5) layouts, differentiable in the layout: max of the disc's and the stick's Gaussians."""
    x, y, sqrt_s, u = layouts[:, 0], layouts[:, 1], layouts[:, 2], layouts[:, 3:5]
    u = u / u.norm(dim=1, keepdim=True).clamp_min(1e-6)
    r = (sqrt_s**2 * side / 4).clamp_min(1e-3)[:, None, None]
    grid = torch.arange(side, dtype=layouts.dtype, device=layouts.device) + 0.5
    dx = grid[None, None, :] - ((x + 1) / 2 * side)[:, None, None]
    dy = grid[None, :, None] - ((y + 1) / 2 * side)[:, None, None]
    along = dx * u[:, 0, None, None] + dy * u[:, 1, None, None]
    across = -dx * u[:, 1, None, None] + dy * u[:, 0, None, None]
    disc = torch.exp(-(dx**2 + dy**2) / (2 * (SOFTNESS * r) ** 2))
    on_stick = ((along > 0) & (along <= STICK_RADII * r)).to(layouts.dtype)
    stick = torch.exp(-(across**2) / (2 * (SOFTNESS * r / 2) ** 2)) * on_stick
    return torch.maximum(disc, stick)


def mirror_path(layout: np.ndarray, n: int, orient: bool = True) -> np.ndarray:
    """(n, 5) layouts from `layout` to its mirror image (x -> -x), as the seed's interpolation demo.

    With `orient`, the direction turns through the angles between t0 = atan2(u_x, u_y) and
    its mirror atan2(-u_x, u_y); without, it stays fixed. Size and y do not change.
    """
    alpha = np.linspace(0.0, 1.0, n)[:, None]
    mirrored = layout.copy()
    mirrored[0] = -layout[0]
    out = (1 - alpha) * layout[None] + alpha * mirrored[None]
    out[:, 3:] = layout[3:]
    if orient:
        t0, t1 = np.arctan2(layout[3], layout[4]), np.arctan2(-layout[3], layout[4])
        t = (1 - alpha[:, 0]) * t0 + alpha[:, 0] * t1
        out[:, 3], out[:, 4] = np.sin(t), np.cos(t)
    return out
