"""Rotation conversions used across the project.

Axis-angle <-> matrix goes through `scipy.spatial.transform.Rotation` (numpy); in torch the
hand model's forward pass uses smplx's own `batch_rodrigues`, so we do not keep a copy. The
6D representation (first two *rows* of R, Gram-Schmidt back) is written here
because pytorch3d is optional; it follows pytorch3d's `matrix_to_rotation_6d`
convention, which the InterHandGen seed uses.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.spatial.transform import Rotation


def axis_angle_to_matrix_np(aa: np.ndarray) -> np.ndarray:
    shape = aa.shape[:-1]
    return Rotation.from_rotvec(aa.reshape(-1, 3)).as_matrix().reshape(*shape, 3, 3)


def matrix_to_axis_angle_np(mat: np.ndarray) -> np.ndarray:
    shape = mat.shape[:-2]
    return Rotation.from_matrix(mat.reshape(-1, 3, 3)).as_rotvec().reshape(*shape, 3)


def mirror_axis_angle(aa: np.ndarray) -> np.ndarray:
    """Axis-angle of M R M for the x-mirror M: (x, y, z) -> (x, -y, -z) per joint.

    Used to turn right-hand poses into left-hand ones (MANO's left model is the
    x-mirror of the right one).
    """
    out = np.array(aa, dtype=np.float64, copy=True).reshape(-1, 3)
    out[:, 1:] *= -1.0
    return out.reshape(np.shape(aa))


def matrix_to_rotation_6d(mat: torch.Tensor) -> torch.Tensor:
    """First two rows of R, flattened (pytorch3d convention)."""
    return mat[..., :2, :].reshape(*mat.shape[:-2], 6)


def rotation_6d_to_matrix(d6: torch.Tensor) -> torch.Tensor:
    """Gram-Schmidt on the two rows; inverse of `matrix_to_rotation_6d`."""
    a1, a2 = d6[..., :3], d6[..., 3:]
    b1 = torch.nn.functional.normalize(a1, dim=-1)
    b2 = a2 - (b1 * a2).sum(-1, keepdim=True) * b1
    b2 = torch.nn.functional.normalize(b2, dim=-1)
    b3 = torch.cross(b1, b2, dim=-1)
    return torch.stack((b1, b2, b3), dim=-2)
