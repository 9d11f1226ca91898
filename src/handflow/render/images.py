"""What a `Raster` turns into: part labels, silhouettes, barycentrics and shaded skin.

Part labels follow DIGIT's layout: 0 background, right-hand parts 1-16, left-hand
parts 17-32 (33 classes); a part is the MANO joint whose bone dominates the
vertex (see `handflow.hand.model`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from handflow.geometry.mesh import vertex_normals
from handflow.render.rasterize import Raster

N_PART_CLASSES = 33


def part_labels(raster: Raster, face_labels: np.ndarray) -> np.ndarray:
    """(H, W) uint8 class per pixel; `face_labels` already holds 1-32 per face."""
    out = np.zeros(raster.face_id.shape, np.uint8)
    fg = raster.mask
    out[fg] = face_labels[raster.face_id[fg]]
    return out


def two_hand_face_labels(right_face_parts: np.ndarray | None, left_face_parts: np.ndarray | None) -> np.ndarray:
    """Per-face class of the concatenated mesh [right, left]: right 1-16, left 17-32."""
    parts = []
    if right_face_parts is not None:
        parts.append(right_face_parts + 1)
    if left_face_parts is not None:
        parts.append(left_face_parts + 17)
    return np.concatenate(parts).astype(np.uint8)


def barycentrics(raster: Raster, verts_cam: np.ndarray, faces: np.ndarray, focal, princpt) -> np.ndarray:
    """(H, W, 3) perspective-correct barycentrics of each pixel's surface point."""
    height, width = raster.face_id.shape
    out = np.zeros((height, width, 3))
    fg = raster.mask
    rows, cols = np.nonzero(fg)
    z = raster.depth[fg].astype(np.float64)
    p = np.stack([(cols - princpt[0]) / focal[0] * z, (rows - princpt[1]) / focal[1] * z, z], axis=1)
    tri = verts_cam[faces[raster.face_id[fg]]]
    e0, e1, e2 = tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0], p - tri[:, 0]
    d00, d01, d11 = (e0 * e0).sum(1), (e0 * e1).sum(1), (e1 * e1).sum(1)
    d20, d21 = (e2 * e0).sum(1), (e2 * e1).sum(1)
    den = np.where(np.abs(d00 * d11 - d01 * d01) > 1e-18, d00 * d11 - d01 * d01, 1.0)
    b1 = (d11 * d20 - d01 * d21) / den
    b2 = (d00 * d21 - d01 * d20) / den
    out[fg] = np.clip(np.stack([1 - b1 - b2, b1, b2], axis=1), 0.0, 1.0)
    return out


@dataclass(frozen=True)
class Lighting:
    directions: np.ndarray  # (L, 3) unit vectors towards the lights, camera frame
    colors: np.ndarray  # (L, 3) linear RGB intensities
    ambient: np.ndarray  # (3,)
    specular: float = 0.12
    shininess: float = 18.0


def shade(
    raster: Raster,
    verts_cam: np.ndarray,
    faces: np.ndarray,
    vertex_albedo: np.ndarray,
    lighting: Lighting,
    focal,
    princpt,
) -> tuple[np.ndarray, np.ndarray]:
    """Linear-RGB (H, W, 3) Blinn-Phong skin and the coverage mask.

    A wrap term on the diffuse part ((n.l + w) / (1 + w)) lets light bleed past the
    terminator, a cheap stand-in for skin's subsurface scattering.
    """
    height, width = raster.face_id.shape
    rgb = np.zeros((height, width, 3))
    fg = raster.mask
    if not fg.any():
        return rgb, fg
    bary = barycentrics(raster, verts_cam, faces, focal, princpt)[fg]
    tri = faces[raster.face_id[fg]]
    normals = vertex_normals(verts_cam, faces)
    n = (normals[tri] * bary[:, :, None]).sum(1)
    n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
    albedo = (vertex_albedo[tri] * bary[:, :, None]).sum(1)
    rows, cols = np.nonzero(fg)
    z = raster.depth[fg]
    pos = np.stack([(cols - princpt[0]) / focal[0] * z, (rows - princpt[1]) / focal[1] * z, z], axis=1)
    view = -pos / np.linalg.norm(pos, axis=1, keepdims=True)
    n = np.where(((n * view).sum(1) < 0)[:, None], -n, n)  # inner faces seen through the wrist cap
    colour = albedo * lighting.ambient
    wrap = 0.3
    for d, c in zip(lighting.directions, lighting.colors, strict=True):
        ndl = np.clip(((n @ d) + wrap) / (1 + wrap), 0.0, None)
        half = view + d
        half /= np.linalg.norm(half, axis=1, keepdims=True)
        spec = lighting.specular * np.clip((n * half).sum(1), 0.0, None) ** lighting.shininess * (n @ d > 0)
        colour = colour + albedo * ndl[:, None] * c + spec[:, None] * c
    rgb[fg] = colour
    return rgb, fg


def to_srgb8(linear: np.ndarray) -> np.ndarray:
    srgb = np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * np.power(np.clip(linear, 0, None), 1 / 2.4) - 0.055)
    return np.clip(np.round(srgb * 255.0), 0, 255).astype(np.uint8)
