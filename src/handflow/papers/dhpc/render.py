"""Images of posed bodies in two styles: the "web" photos a text-to-image model learns from, and the "real" target domain.

The web style is bright, varied clothing on pastel indoor/outdoor backgrounds with the
person filling the frame. The real style stands in for the seed's SMART gymnastics /
SkiPose footage, the domain a user fine-tunes a pose estimator for: an arena (dark
stands above a bright floor), a smaller person off centre, harder light, sensor noise
and blur. What a domain gap needs is that a network trained on one style is worse on
the other, not photorealism.

Camera: a pinhole looking along +z with image rows down (y), focal `1.2 * size`; the body
(anny: z up, metres) turned to face it and placed at a distance that fits its height in
`fill` of the frame. Everything is rasterized in millimetres (the rasterizer's units).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from handflow.papers.dhpc.skeleton import PART_BOTTOM, PART_SHOES, PART_SKIN, PART_TOP
from handflow.render.images import Lighting, shade, to_srgb8
from handflow.render.rasterize import rasterize

# anny world (x left, y back, z up) -> camera (x right, y down, z forward), the body facing the camera (-y towards it)
WORLD_TO_CAM = np.array([[-1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, -1.0, 0.0]])
SKIN_TONES = np.array([[0.93, 0.75, 0.62], [0.80, 0.58, 0.44], [0.55, 0.38, 0.27], [0.36, 0.24, 0.17]])
STYLES = ("web", "real")


@dataclass(frozen=True)
class Camera:
    focal: float  # pixels
    size: int  # square image side
    trans: np.ndarray  # (3,) mm: where the body's root sits in camera space

    def project(self, points_cam_mm: np.ndarray) -> np.ndarray:
        """(..., 3) camera-space mm -> (..., 2) pixels."""
        z = np.maximum(points_cam_mm[..., 2:3], 1.0)
        return points_cam_mm[..., :2] / z * self.focal + self.size / 2.0


def to_camera(points_m: np.ndarray, trans_mm: np.ndarray) -> np.ndarray:
    """anny world (metres, root at the origin) -> camera space (mm)."""
    return points_m @ WORLD_TO_CAM.T * 1000.0 + trans_mm


def place(vertices_m: np.ndarray, size: int, fill: float, offset: np.ndarray) -> Camera:
    """A camera that fits the posed body's extent in `fill` of the frame, its centre shifted by `offset` (fractions of the frame)."""
    focal = 1.2 * size
    cam = vertices_m @ WORLD_TO_CAM.T * 1000.0
    lo, hi = cam.min(0), cam.max(0)
    extent = max(hi[0] - lo[0], hi[1] - lo[1])
    depth = focal * extent / (fill * size) - lo[2]  # the nearest point at that distance
    centre = (lo + hi) / 2.0
    trans = np.array([-centre[0], -centre[1], depth]) + np.array([offset[0], offset[1], 0.0]) * depth * size / focal
    return Camera(focal, size, trans)


def clothing(parts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(V, 3) linear albedo: a skin tone, a top, trousers and shoes of random colours."""
    colours = {
        PART_SKIN: SKIN_TONES[rng.integers(len(SKIN_TONES))],
        PART_TOP: rng.uniform(0.05, 0.9, 3),
        PART_BOTTOM: rng.uniform(0.03, 0.6, 3),
        PART_SHOES: rng.uniform(0.02, 0.3, 3),
    }
    return np.stack([colours[int(p)] for p in parts]) ** 2.2


def background(style: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """(S, S, 3) float in [0, 1], sRGB."""
    rows = np.linspace(0.0, 1.0, size)[:, None, None]
    if style == "web":  # a pastel wall or sky over a ground band (a studio, a park)
        top, ground = rng.uniform(0.45, 1.0, 3), rng.uniform(0.25, 0.8, 3)
        horizon = rng.uniform(0.6, 0.85)
        img = np.where(rows < horizon, top * (1.0 - 0.25 * rows), ground)
        return np.broadcast_to(img, (size, size, 3)).copy()
    horizon = rng.uniform(0.55, 0.7)  # an arena: dark stands, a bright floor, a blue cast
    stands = np.array([0.10, 0.12, 0.22]) + rng.uniform(0.0, 0.08, 3)
    floor = np.array([0.72, 0.70, 0.62]) + rng.uniform(-0.1, 0.1, 3)
    img = np.where(rows < horizon, stands * (0.6 + 0.8 * rows), floor * (1.1 - 0.3 * rows))
    img = np.broadcast_to(img, (size, size, 3)).copy()
    img += (rng.random((size, size, 1)) < 0.01) * rng.uniform(0.1, 0.3)  # crowd speckle
    return np.clip(img, 0.0, 1.0)


def _lighting(style: str, rng: np.random.Generator) -> Lighting:
    if style == "web":
        d = np.array([rng.uniform(-0.5, 0.5), -0.6, -1.0])
        return Lighting((d / np.linalg.norm(d))[None], np.array([[1.0, 1.0, 1.0]]) * rng.uniform(0.7, 1.0), np.full(3, 0.35))
    d = np.array([rng.uniform(-0.2, 0.2), -1.0, -0.3])  # arena floodlights from above, cold, hard
    return Lighting((d / np.linalg.norm(d))[None], np.array([[1.1, 1.15, 1.3]]), np.full(3, 0.15), specular=0.3)


@dataclass(frozen=True)
class Render:
    image: np.ndarray  # (S, S, 3) uint8
    mask: np.ndarray  # (S, S) bool, the person
    depth: np.ndarray  # (S, S) float32 mm, 0 on background
    background: np.ndarray  # (S, S, 3) uint8, the same image without the person


def render(
    vertices_m: np.ndarray, faces: np.ndarray, albedo: np.ndarray, cam: Camera, style: str, rng: np.random.Generator, backend: str = "auto"
) -> Render:
    """The body in the style's scene: a rasterized, shaded person composited on a background."""
    verts = to_camera(vertices_m, cam.trans)
    focal, princpt = np.array([cam.focal, cam.focal]), np.array([cam.size / 2.0, cam.size / 2.0])
    raster = rasterize(verts, faces, focal, princpt, (cam.size, cam.size), backend)
    linear, fg = shade(raster, verts, faces, albedo, _lighting(style, rng), focal, princpt)
    person = to_srgb8(linear).astype(np.float64) / 255.0
    back = background(style, cam.size, rng)
    img = np.where(fg[..., None], person, back)
    if style == "real":  # sensor noise and a slight blur (broadcast footage)
        img = 0.6 * img + 0.1 * (np.roll(img, 1, 0) + np.roll(img, -1, 0) + np.roll(img, 1, 1) + np.roll(img, -1, 1))
        img = img + rng.normal(0.0, 0.03, img.shape)
    depth = np.where(fg, raster.depth, 0.0).astype(np.float32)
    u8 = lambda a: np.clip(np.round(a * 255.0), 0, 255).astype(np.uint8)  # noqa: E731
    return Render(u8(img), fg, depth, u8(back))


def depth_map(depth_mm: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """The seed's depth conditioning: D' = (max(D) + 50 - D) on the foreground (near is large, background 0), then
    min-max normalised to [-1, 1] as the depth2img pipeline does (`prepare_depth_map`). (S, S) -> (S, S) float32."""
    fg = depth_mm > 0 if mask is None else mask & (depth_mm > 0)
    if not fg.any():
        return np.full(depth_mm.shape, -1.0, np.float32)
    d = np.where(fg, depth_mm.max() + 50.0 - depth_mm, 0.0)
    lo, hi = d.min(), d.max()
    return (2.0 * (d - lo) / max(hi - lo, 1e-6) - 1.0).astype(np.float32)
