"""The seed's two editing demos: layout interpolation to the mirror image (GIF) and keypoint ("hijack") guidance.

Interpolation (the seed's `scripts/interpolate.py`): a sampled layout goes to its mirror
(x -> -x; with `orient`, the direction turns through the angles between), `frames`
layouts in all, each through ContentNet from the same noise, so only the layout changes
from frame to frame; the GIF shows the layout's mask beside the image. Hijack guidance:
a contact point per object (here the true hand box's centre of the held-out pair) pins
the layout's (x, y) and LayoutNet fills in size and direction; the figure draws the
point in red over the result.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image

from handflow.diffusion import to_uint8
from handflow.papers.affordance.evaluate import test_pairs
from handflow.papers.affordance.layout import mirror_path, render_hard
from handflow.papers.affordance.networks import load_network
from handflow.papers.affordance.sample import keep_masks, sample_content, sample_layouts
from handflow.render.figure import save_image_grid
from handflow.storage.atomic import atomic_path


def _upsampled(upsampler, images: torch.Tensor) -> np.ndarray:
    with torch.no_grad():
        return to_uint8(upsampler(images))


def interpolation_gif(
    out: Path, pairs: Path, layout_path: Path, content_path: Path, upsampler_path: Path, frames: int, sampler: str, steps: int, seed: int
) -> np.ndarray:
    """Write the GIF; returns the layouts used (frames, 5)."""
    layout_net, content = load_network(layout_path, "layout")[0], load_network(content_path, "content")[0]
    upsampler = load_network(upsampler_path, "upsampler")[0]
    size = content.cfg.image_size
    data, a, _ = test_pairs(pairs, size)
    obj = data.obj[a[:1]]
    g = torch.Generator().manual_seed(seed)
    start = sample_layouts(layout_net, obj, sampler, steps, g)[0].double().numpy()
    path = torch.as_tensor(mirror_path(start, frames, orient=True), dtype=torch.float32)
    # one noise for every frame: the sampler's first draw from a generator reset per frame
    images = torch.cat(
        [
            sample_content(content, obj, keep_masks(path[i : i + 1], 1, size), sampler, steps, torch.Generator().manual_seed(seed + 1))
            for i in range(frames)
        ]
    )
    big = _upsampled(upsampler, images)
    side = big.shape[1]
    tiles = []
    for lay, img in zip(path.double().numpy(), big, strict=True):
        mask = np.repeat(render_hard(lay, side)[..., None], 3, 2)
        tiles.append(Image.fromarray(np.concatenate([mask, img], axis=1)))
    with atomic_path(out) as tmp:
        tiles[0].save(tmp, format="GIF", save_all=True, append_images=tiles[1:], duration=100, loop=0)
    return path.numpy()


def hijack_figure(
    out: Path, pairs: Path, layout_path: Path, content_path: Path, upsampler_path: Path, n: int, sampler: str, steps: int, seed: int
) -> float:
    """Write the figure; returns the largest distance between a pinned point and its sampled layout's (x, y) (0 by construction)."""
    layout_net, content = load_network(layout_path, "layout")[0], load_network(content_path, "content")[0]
    upsampler = load_network(upsampler_path, "upsampler")[0]
    size = content.cfg.image_size
    data, a, _ = test_pairs(pairs, size)
    pick = a[np.linspace(0, len(a) - 1, min(n, len(a))).round().astype(int)]
    obj, points = data.obj[pick], data.layout[0, pick, :2]
    g = torch.Generator().manual_seed(seed)
    layouts = sample_layouts(layout_net, obj, sampler, steps, g, fixed_xy=points)
    images = _upsampled(upsampler, sample_content(content, obj, keep_masks(layouts, len(obj), size), sampler, steps, g))
    tiles = []
    for o, lay, img, p in zip(to_uint8(obj), layouts.double().numpy(), images, points.numpy(), strict=True):
        side = img.shape[0]
        centre = (int((p[0] + 1) / 2 * side), int((p[1] + 1) / 2 * side))
        marked = cv2.circle(np.ascontiguousarray(img), centre, 3, (255, 0, 0), -1)
        tiles.append([cv2.resize(o, (side, side)), np.repeat(render_hard(lay, side)[..., None], 3, 2), marked])
    save_image_grid(
        out, tiles, "Keypoint (hijack) guidance: the red point pins the hand's position", ["object image", "layout (x, y pinned)", "output"]
    )
    return float((layouts[:, :2] - points).abs().max())
