"""Per-vertex quantities of triangle meshes.

Kept here rather than taken from trimesh: trimesh is only in the `derive` extra, and
building a trimesh object per rendered frame (caches, validation) costs more than the
four numpy lines below.
"""

from __future__ import annotations

import numpy as np
import torch


def vertex_normals(verts: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted unit vertex normals (sum of the un-normalised face normals around each vertex)."""
    fn = np.cross(verts[faces[:, 1]] - verts[faces[:, 0]], verts[faces[:, 2]] - verts[faces[:, 0]])
    vn = np.zeros_like(verts)
    for k in range(3):
        np.add.at(vn, faces[:, k], fn)
    return vn / np.maximum(np.linalg.norm(vn, axis=1, keepdims=True), 1e-12)


def vertex_normals_batched(verts: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
    """(B, V, 3) area-weighted unit normals of B meshes sharing `faces` (F, 3); the same sum as above, batched."""
    a, b, c = (verts[:, faces[:, k]] for k in range(3))
    fn = torch.cross(b - a, c - a, dim=-1)
    vn = torch.zeros_like(verts)
    for k in range(3):
        vn = vn.index_add(1, faces[:, k], fn)
    return torch.nn.functional.normalize(vn, dim=-1, eps=1e-12)
