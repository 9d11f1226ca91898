"""The seed's two-hand representation, its normalisation, and decoding to meshes.

Per hand a 64-vector `[pose PCA 45 | shape 10 | rot6d 6 | trans 3]`. The anchor is
the LEFT hand in its canonical frame: identity rotation, middle-finger knuckle
(MCP) at the origin. The second ("add") hand is the RIGHT hand, its rotation and
MCP position relative to the anchor's frame. Units are metres; rot6d is the first
two rows of the rotation matrix (pytorch3d's convention, as the seed).

Swap augmentation, as in the seed, puts the right hand in the anchor's place. The
seed does it by feeding right-hand parameters into the left MANO layer (relying
on MANO's left/right symmetry); we mirror the whole scene (x -> -x) instead, so a
mirrored right hand becomes a true left hand of the left model: the pose is
mirrored joint by joint and re-expressed in the other side's PCA basis.

Normalisation: `(x - mean) / std`. The seed divides by the *variance* (see the
reference notes): normalised translations then have a spread of 13-25 and shape
dimensions 5-12, far from the unit scale the noise schedule assumes. We divide by
the standard deviation, deliberately. Pose and shape statistics are shared by both
hands; the placement statistics come from the add hands (the anchor's placement is
constant by construction and never predicted).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from handflow.errors import InputError
from handflow.geometry.rotations import rotation_6d_to_matrix
from handflow.hand.joints import IH26M_NAMES
from handflow.hand.model import HandModel

DIM = 64
HAND_DIMS = 55  # pose PCA + shape: what the anchor hand's diffusion predicts
POSE, SHAPE, ROT, TRANS, PLACEMENT = slice(0, 45), slice(45, 55), slice(55, 61), slice(61, 64), slice(55, 64)
MIDDLE_MCP = IH26M_NAMES.index("middle1")  # index within one hand's 21 joints
MIRROR = np.diag([-1.0, 1.0, 1.0])
ANCHOR_PLACEMENT = np.r_[1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0]  # rot6d(I), zero translation


@dataclass(frozen=True)
class HandParams:
    """One side's fits of N frames: PCA pose, shape, root rotation (world), MCP position (world, m)."""

    pca: np.ndarray
    shape: np.ndarray
    rotmat: np.ndarray
    mcp: np.ndarray


def canonical_pair(anchor: HandParams, add: HandParams) -> np.ndarray:
    """(N, 2, 64): the anchor at identity/origin, the add hand relative to it."""
    rel_rot = np.einsum("nji,njk->nik", anchor.rotmat, add.rotmat)  # R_a^T R_b
    rel_trans = np.einsum("nji,nj->ni", anchor.rotmat, add.mcp - anchor.mcp)  # R_a^T (c_b - c_a)
    n = len(anchor.pca)
    x_anchor = np.concatenate([anchor.pca, anchor.shape, np.tile(ANCHOR_PLACEMENT, (n, 1))], axis=1)
    x_add = np.concatenate([add.pca, add.shape, rel_rot[:, :2, :].reshape(n, 6), rel_trans], axis=1)
    return np.stack([x_anchor, x_add], axis=1)


def mirror_hand(params: HandParams, src: HandModel, dst: HandModel) -> HandParams:
    """The scene mirrored in x: `src`'s hand becomes a hand of the other side's model `dst`."""
    with torch.no_grad():
        dtype = src.hands_components.dtype
        pose = src.pca_to_pose(torch.as_tensor(params.pca, dtype=dtype)) + src.layer.hand_mean.to(dtype)
        mirrored = pose.reshape(-1, 15, 3) * torch.tensor([1.0, -1.0, -1.0], dtype=dtype)
        dst_pose = mirrored.reshape(-1, 45) - dst.layer.hand_mean.to(dtype)
        pca = dst.pose_to_pca(dst_pose.to(dst.hands_components.dtype)).numpy()
    rotmat = MIRROR @ params.rotmat @ MIRROR
    return HandParams(pca=pca, shape=params.shape, rotmat=rotmat, mcp=params.mcp @ MIRROR)


@dataclass(frozen=True)
class Normalizer:
    mean: np.ndarray  # (64,)
    std: np.ndarray  # (64,)

    @staticmethod
    def fit(pairs: np.ndarray, min_std: float = 1e-4) -> Normalizer:
        """Statistics of (N, 2, 64) training pairs (see the module docstring)."""
        hands = pairs[:, :, :HAND_DIMS].reshape(-1, HAND_DIMS)
        placement = pairs[:, 1, PLACEMENT]
        mean = np.r_[hands.mean(0), placement.mean(0)]
        std = np.maximum(np.r_[hands.std(0), placement.std(0)], min_std)
        return Normalizer(mean, std)

    def normalize(self, x):
        return (x - _like(self.mean, x)) / _like(self.std, x)

    def denormalize(self, x):
        return x * _like(self.std, x) + _like(self.mean, x)

    def anchor_placement(self) -> np.ndarray:
        """The anchor's constant placement dims in normalised space."""
        return (ANCHOR_PLACEMENT - self.mean[PLACEMENT]) / self.std[PLACEMENT]

    def save(self, path: Path) -> None:
        path.write_text(json.dumps({"mean": self.mean.tolist(), "std": self.std.tolist(), "division": "standard deviation"}, indent=1))

    @staticmethod
    def load(path: Path) -> Normalizer:
        try:
            data = json.loads(Path(path).read_text())
            mean, std = np.asarray(data["mean"], np.float64), np.asarray(data["std"], np.float64)
        except FileNotFoundError:
            raise InputError(path, None, "file not found") from None
        except (KeyError, ValueError, TypeError) as exc:
            raise InputError(path, str(exc).strip("'"), "unreadable normalisation statistics") from None
        for name, arr in (("mean", mean), ("std", std)):
            if arr.shape != (DIM,) or not np.isfinite(arr).all():
                raise InputError(path, name, f"expected {DIM} finite values, got shape {arr.shape}")
        if (std <= 0).any():
            raise InputError(path, "std", "must be positive")
        return Normalizer(mean, std)


def _like(arr: np.ndarray, x):
    return torch.as_tensor(arr, dtype=x.dtype, device=x.device) if isinstance(x, torch.Tensor) else arr


@dataclass
class TwoHandMeshes:
    vertices: torch.Tensor  # (B, V_left + V_right, 3) anchor (left) first, metres, canonical frame
    joints: torch.Tensor  # (B, 42, 3) InterHand2.6M order: right 0-20, left 21-41


class TwoHandDecoder(torch.nn.Module):
    """Raw (denormalised) pairs to meshes; differentiable, batched, used by APG and evaluation."""

    def __init__(self, hands: dict[str, HandModel]) -> None:
        super().__init__()
        self.left, self.right = hands["left"], hands["right"]
        n_left = self.left.n_vertices
        sealed = torch.cat([self.left.sealed_faces, self.right.sealed_faces + n_left + 1])
        self.register_buffer("sealed_faces", sealed)  # over the sealed vertices of both hands (see `sealed`)

    def hand(self, model: HandModel, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Vertices and joints of one hand placed by its rot6d and MCP translation."""
        dtype = model.hands_components.dtype
        x = x.to(dtype)
        out = model(torch.zeros(len(x), 3, dtype=dtype, device=x.device), model.pca_to_pose(x[:, POSE]), x[:, SHAPE])
        centre = out.joints[:, MIDDLE_MCP : MIDDLE_MCP + 1]
        rot = rotation_6d_to_matrix(x[:, ROT])
        place = lambda p: (p - centre) @ rot.transpose(1, 2) + x[:, None, TRANS]  # noqa: E731
        return place(out.vertices), place(out.joints)

    def forward(self, anchor: torch.Tensor, add: torch.Tensor) -> TwoHandMeshes:
        v_left, j_left = self.hand(self.left, anchor)
        v_right, j_right = self.hand(self.right, add)
        return TwoHandMeshes(torch.cat([v_left, v_right], 1), torch.cat([j_right, j_left], 1))

    def split(self, vertices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        n = self.left.n_vertices
        return vertices[:, :n], vertices[:, n:]

    def sealed(self, vertices: torch.Tensor) -> torch.Tensor:
        """Both hands with their wrist-centroid vertices, indexed by `sealed_faces`."""
        left, right = self.split(vertices)
        return torch.cat([self.left.seal(left), self.right.seal(right)], 1)
