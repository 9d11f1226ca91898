"""InterHand2.6M's camera model, exactly as the dataset code defines it.

world -> camera: `X_cam = R (X_world - campos)`, millimetres, R = `camrot` (world to camera).
camera -> pixel: `u = X / (Z + 1e-8) * fx + cx`, `v = Y / (Z + 1e-8) * fy + cy`; no
distortion; OpenCV axes (x right, y down, z forward) and pixel centres at integer
coordinates (pixel column c spans u in [c - 0.5, c + 0.5]).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EPS = 1e-8


@dataclass(frozen=True)
class Camera:
    R: np.ndarray  # (3, 3) world -> camera rotation
    campos: np.ndarray  # (3,) camera centre in world mm
    focal: np.ndarray  # (2,) fx, fy in pixels
    princpt: np.ndarray  # (2,) cx, cy in pixels

    @property
    def t(self) -> np.ndarray:
        """Translation of the world -> camera map in mm: X_cam = R X + t."""
        return -self.R @ self.campos

    def world_to_cam(self, x_world: np.ndarray) -> np.ndarray:
        return (np.asarray(x_world) - self.campos) @ self.R.T

    def cam_to_world(self, x_cam: np.ndarray) -> np.ndarray:
        return np.asarray(x_cam) @ self.R + self.campos

    def project(self, x_cam: np.ndarray) -> np.ndarray:
        return cam_to_pixel(x_cam, self.focal, self.princpt)

    def world_to_pixel(self, x_world: np.ndarray) -> np.ndarray:
        return self.project(self.world_to_cam(x_world))


def cam_to_pixel(x_cam: np.ndarray, focal: np.ndarray, princpt: np.ndarray) -> np.ndarray:
    x_cam = np.asarray(x_cam, dtype=np.float64)
    z = x_cam[..., 2] + EPS
    u = x_cam[..., 0] / z * focal[0] + princpt[0]
    v = x_cam[..., 1] / z * focal[1] + princpt[1]
    return np.stack([u, v], axis=-1)


def pixel_to_cam(uv: np.ndarray, depth: np.ndarray, focal: np.ndarray, princpt: np.ndarray) -> np.ndarray:
    """Back-projection `X = (u - cx) / fx * Z`, the inverse of `cam_to_pixel` (to its 1e-8)."""
    uv = np.asarray(uv, dtype=np.float64)
    x = (uv[..., 0] - princpt[0]) / focal[0] * depth
    y = (uv[..., 1] - princpt[1]) / focal[1] * depth
    return np.stack([x, y, np.asarray(depth, dtype=np.float64)], axis=-1)


_IMAGE_UP = np.array([0.0, -1.0, 0.0])


def look_at(campos: np.ndarray, target: np.ndarray, up: np.ndarray = _IMAGE_UP) -> np.ndarray:
    """World -> camera rotation of a camera at `campos` looking at `target` (OpenCV axes).

    `up` is the world direction that should appear towards the top of the image.
    """
    z = target - campos
    z = z / np.linalg.norm(z)
    x = np.cross(-up, z)  # camera x = y x z with y (image down) = -up
    if np.linalg.norm(x) < 1e-6:
        x = np.cross(np.array([1.0, 0.0, 0.0]), z)
    x = x / np.linalg.norm(x)
    y = np.cross(z, x)
    return np.stack([x, y, z])
