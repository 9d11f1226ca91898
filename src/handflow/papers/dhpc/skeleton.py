"""The body's vocabulary (posed joints, keypoints, shape labels, clothing regions) and what every body model gives.

A body model (`anny_body.AnnyBody`, the embedded default, or `smpl.SmplBody` on the user's
SMPL file; `body.load_body` picks one) is posed by an axis-angle (radians) per joint of
`POSED`, in anny's world-aligned "local-ref" axes (x the body's left, y its back, z up),
so a recipe reads "knee +x = flex". `POSED[0]` is the root: the global orientation, the
seed's theta[:3]; the rest is the body pose (VPoser's theta[3:66]). Shape: six values in
[0, 1] (anny's phenotypes; SMPL's betas' role). It returns a `BodyOutput`, as smplx's
models return their typed outputs.

Keypoints: LSP's 14 joints (head, neck, shoulders, elbows, wrists, hips, knees, ankles).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch

POSED = (
    "root",
    "spine03",
    "spine01",
    "neck01",
    "upperarm01.L",
    "lowerarm01.L",
    "upperarm01.R",
    "lowerarm01.R",
    "upperleg01.L",
    "lowerleg01.L",
    "foot.L",
    "upperleg01.R",
    "lowerleg01.R",
    "foot.R",
)
N_POSED = len(POSED)
BODY_DIM = 3 * (N_POSED - 1)  # the prior's input: every posed joint but the root
KEYPOINTS = (
    "head",
    "neck",
    "shoulder.L",
    "elbow.L",
    "wrist.L",
    "shoulder.R",
    "elbow.R",
    "wrist.R",
    "hip.L",
    "knee.L",
    "ankle.L",
    "hip.R",
    "knee.R",
    "ankle.R",
)
HIPS = (KEYPOINTS.index("hip.L"), KEYPOINTS.index("hip.R"))  # the pelvis is their midpoint (the 3D metrics' root)
SHAPE_LABELS = ("gender", "age", "muscle", "weight", "height", "proportions")
# clothing regions of the vertices (by the bone or joint that moves a vertex most)
PART_SKIN, PART_TOP, PART_BOTTOM, PART_SHOES = 0, 1, 2, 3


@dataclass
class BodyOutput:
    """A posed body: metres, anny's axes (z up), the root at the origin."""

    vertices: torch.Tensor  # (B, V, 3)
    keypoints: torch.Tensor  # (B, 14, 3), `KEYPOINTS` order


class BodyModel(Protocol):
    """What the stages need of a body model: its mesh topology, clothing regions, and posing."""

    faces: np.ndarray  # (F, 3) int64
    vertex_part: np.ndarray  # (V,) int64, one of the PART_* regions

    def __call__(self, pose: torch.Tensor, shape: torch.Tensor) -> BodyOutput:
        """(B, N_POSED, 3) axis-angles (rad) and (B, 6) shape values -> the posed body (float64, differentiable)."""
        ...
