"""Two hands rendered from one camera: the samples figure (the hands coloured apart) and the hand judge's view (skin).

The camera looks at the pair's centre from `azimuth` (0: the canonical front), slightly from
above, far enough that the whole pair fits the view; the returned joints are the pair's 42
joints (InterHand2.6M order: right 0-20, left 21-41) projected into the image.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from handflow.geometry.camera import look_at
from handflow.papers.interhandgen.representation import TwoHandDecoder
from handflow.render.images import Lighting, shade, to_srgb8
from handflow.render.rasterize import rasterize

FIGURE_ALBEDO = ((0.75, 0.45, 0.35), (0.35, 0.5, 0.75))  # left (the anchor) warm, right cool
SKIN_ALBEDO = ((0.80, 0.58, 0.46), (0.80, 0.58, 0.46))  # both hands the same skin: what a hand detector expects


@dataclass(frozen=True)
class PairView:
    image: np.ndarray  # (S, S, 3) uint8, background light grey
    joints: np.ndarray  # (42, 2) pixels


def render_pair(
    decoder: TwoHandDecoder,
    verts: np.ndarray,
    azimuth: float,
    size: int = 256,
    joints: np.ndarray | None = None,
    albedo: tuple[tuple[float, float, float], tuple[float, float, float]] = FIGURE_ALBEDO,
) -> PairView:
    """The pair of (V, 3) vertices (metres, left hand's first) and, when given, its (42, 3) joints projected."""
    sealed = decoder.sealed(torch.as_tensor(verts[None], dtype=torch.float64))[0].numpy() * 1000.0  # the rasterizer works in mm
    faces = decoder.sealed_faces.numpy()
    centre = sealed.mean(0)
    # far enough that the whole pair fits the view (half field of view: atan(0.5 / 1.3))
    distance = max(300.0, 2.9 * float(np.linalg.norm(sealed - centre, axis=1).max()))
    direction = np.array([np.sin(azimuth), -0.35, -np.cos(azimuth)])
    campos = centre + distance * direction / np.linalg.norm(direction)
    rot = look_at(campos, centre)
    cam_verts = (sealed - campos) @ rot.T
    focal, princpt = np.full(2, size * 1.3), np.full(2, (size - 1) / 2)
    raster = rasterize(cam_verts, faces, focal, princpt, (size, size))
    colours = np.zeros((len(sealed), 3))
    n_left = decoder.left.n_vertices + 1
    colours[:n_left], colours[n_left:] = albedo
    light = Lighting(np.array([[0.3, -0.6, -0.74]]) / np.linalg.norm([0.3, -0.6, -0.74]), np.full((1, 3), 0.9), np.full(3, 0.25))
    rgb, mask = shade(raster, cam_verts, faces, colours, light, focal, princpt)
    img = to_srgb8(rgb)
    img[~mask] = 245
    uv = np.zeros((0, 2))
    if joints is not None:
        cam_joints = (joints * 1000.0 - campos) @ rot.T
        uv = cam_joints[:, :2] / cam_joints[:, 2:] * focal + princpt
    return PairView(img, uv)
