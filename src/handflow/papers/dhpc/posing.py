"""From a body model's output to what the regressor is trained and scored on: 6D rotations, camera-space keypoints, pixels.

The camera is the data's (`render`): anny's world turned to face a pinhole looking along
+z, the root at `trans` (mm), focal `1.2 x` the image side.
"""

from __future__ import annotations

import roma
import torch

from handflow.papers.dhpc.render import WORLD_TO_CAM
from handflow.papers.dhpc.skeleton import HIPS, BodyModel


def rot6d(pose: torch.Tensor) -> torch.Tensor:
    """(..., 3) axis-angle -> (..., 6): the first two columns of the rotation matrix."""
    return roma.rotvec_to_rotmat(pose)[..., :, :2].flatten(-2)


def rotvec_of_6d(six: torch.Tensor) -> torch.Tensor:
    return roma.rotmat_to_rotvec(roma.special_gramschmidt(six.unflatten(-1, (3, 2))))


def posed_keypoints(body: BodyModel, pose: torch.Tensor, shape: torch.Tensor, trans: torch.Tensor) -> torch.Tensor:
    """(B, 14, 3) camera-space mm of bodies (axis-angle pose, shape values) whose root sits at `trans`."""
    joints = body(pose, shape).keypoints
    return (joints.float() @ torch.as_tensor(WORLD_TO_CAM, dtype=torch.float32).T) * 1000.0 + trans[:, None]


def project(points_mm: torch.Tensor, focal: torch.Tensor, size: int) -> torch.Tensor:
    return points_mm[..., :2] / points_mm[..., 2:3].clamp_min(1.0) * focal[:, None, None] + size / 2.0


def pelvis_relative(kp: torch.Tensor) -> torch.Tensor:
    return kp - kp[:, list(HIPS)].mean(1, keepdim=True)
