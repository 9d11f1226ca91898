"""The body model: anny (the embedded default) posed by a few major joints, with 14 body keypoints.

SMPL, which the seed uses, needs a licence and a download; anny (Apache-2.0 code, CC0
MakeHuman assets inside the wheel) loads offline. We use its low-poly `notoes_collapse5pc`
topology (615 vertices): images here are 32-64 px, where more vertices change nothing.

Pose: an axis-angle (degrees in recipes, radians here) per joint of `POSED`, in anny's
"local-ref" parameterisation, whose axes are the world's at rest (x the body's left, y its
back, z up), so a recipe reads "knee +x = flex". `POSED[0]` is the root: the global
orientation, the seed's theta[:3]; the rest is the body pose (VPoser's theta[3:66]).
Shape: anny's six phenotype values in [0, 1] (SMPL's betas' role).

The user's SMPL file, when params `dhpc.body_model` names one, replaces anny through the same
interface (`use_smpl`, `handflow.papers.dhpc.smpl`).

Keypoints: the heads of 14 bones (LSP's 14 joints: head, neck, shoulders, elbows, wrists,
hips, knees, ankles). anny's COCO regressor is defined on its full-resolution mesh only.
"""

from __future__ import annotations

import functools
import warnings
from pathlib import Path

import numpy as np
import torch

POSED = ("root", "spine03", "spine01", "neck01", "upperarm01.L", "lowerarm01.L", "upperarm01.R", "lowerarm01.R",
         "upperleg01.L", "lowerleg01.L", "foot.L", "upperleg01.R", "lowerleg01.R", "foot.R")  # fmt: skip
N_POSED = len(POSED)
BODY_DIM = 3 * (N_POSED - 1)  # the prior's input: every posed joint but the root
KEYPOINTS = ("head", "neck", "shoulder.L", "elbow.L", "wrist.L", "shoulder.R", "elbow.R", "wrist.R",
             "hip.L", "knee.L", "ankle.L", "hip.R", "knee.R", "ankle.R")  # fmt: skip
KEYPOINT_BONES = ("head", "neck01", "upperarm01.L", "lowerarm01.L", "wrist.L", "upperarm01.R", "lowerarm01.R", "wrist.R",
                  "upperleg01.L", "lowerleg01.L", "foot.L", "upperleg01.R", "lowerleg01.R", "foot.R")  # fmt: skip
HIPS = (KEYPOINTS.index("hip.L"), KEYPOINTS.index("hip.R"))  # the pelvis is their midpoint (the 3D metrics' root)
SHAPE_LABELS = ("gender", "age", "muscle", "weight", "height", "proportions")
TOPOLOGY = "notoes_collapse5pc"
# clothing regions by the bone that moves a vertex most
PART_SKIN, PART_TOP, PART_BOTTOM, PART_SHOES = 0, 1, 2, 3
_TOP = ("spine", "clavicle", "shoulder", "upperarm", "breast")
_BOTTOM = ("pelvis", "upperleg", "lowerleg", "root")


@functools.cache
def _anny():
    import anny

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return anny.Anny(topology=TOPOLOGY)


def _part(label: str) -> int:
    if label.startswith("foot") or label.startswith("toe"):
        return PART_SHOES
    if label.startswith(_BOTTOM):
        return PART_BOTTOM
    if label.startswith(_TOP):
        return PART_TOP
    return PART_SKIN


class Body:
    """anny, posed by `POSED` axis-angles and shaped by phenotypes; float64 on the CPU (differentiable)."""

    def __init__(self) -> None:
        self.model = _anny()
        labels = list(self.model.bone_labels)
        self.posed_index = torch.tensor([labels.index(b) for b in POSED])
        self.keypoint_index = torch.tensor([labels.index(b) for b in KEYPOINT_BONES])
        self.n_bones = len(labels)
        self.faces = self.model.faces.numpy().astype(np.int64)
        weights, bones = self.model.vertex_bone_weights, self.model.vertex_bone_indices
        dominant = bones.gather(1, weights.argmax(1, keepdim=True))[:, 0].numpy()
        self.vertex_part = np.array([_part(labels[b]) for b in dominant], np.int64)

    def __call__(self, pose: torch.Tensor, shape: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, N_POSED, 3) axis-angles (rad) and (B, 6) phenotypes -> vertices (B, V, 3) and keypoints (B, 14, 3), metres, z up."""
        import roma

        pose, shape = pose.double(), shape.double()
        b = len(pose)
        transforms = torch.eye(4, dtype=torch.float64).repeat(b, self.n_bones, 1, 1)
        transforms[:, self.posed_index, :3, :3] = roma.rotvec_to_rotmat(pose)
        out = self.model(transforms, phenotype_kwargs=dict(zip(SHAPE_LABELS, shape.unbind(1), strict=True)))
        return out["vertices"], out["bone_poses"][:, self.keypoint_index, :3, 3]


_SELECTED: dict[str, Path | None] = {"smpl": None}  # set once per process by the stage, from params


def use_smpl(path: Path | None) -> None:
    """Pose the user's SMPL file (`handflow.papers.dhpc.smpl`) instead of anny from now on; None: anny."""
    if path != _SELECTED["smpl"]:
        _SELECTED["smpl"] = path
        body.cache_clear()


@functools.cache
def body() -> Body:
    """The body every stage poses: anny, or the SMPL file of `use_smpl` (same interface)."""
    if _SELECTED["smpl"] is not None:
        from handflow.papers.dhpc.smpl import SmplBody

        return SmplBody(_SELECTED["smpl"])  # type: ignore[return-value]
    return Body()
