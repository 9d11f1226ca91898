"""Hand models: one `create` factory over `smplx.MANO`, for the open model and real MANO alike.

A prepared model folder (the `hand_model` stage's output) holds
`MANO_RIGHT.npz`, `MANO_LEFT.npz` and `sidecar.json` (fingertip ids, per-vertex
and per-face part labels, faces that seal the wrist). Nothing downstream
hard-codes MANO vertex ids: they all come from the sidecar.
"""

from __future__ import annotations

import contextlib
import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import smplx
import torch

from handflow.errors import InputError
from handflow.hand.joints import MANO21_TO_IH26M, MANO21_TO_OPENPOSE

SIDES = ("right", "left")
N_PARTS = 16  # part label = MANO joint whose bone dominates the vertex (0 = palm)


@dataclass(frozen=True)
class Sidecar:
    tip_vertex_ids: np.ndarray  # (5,) thumb, index, middle, ring, pinky
    vertex_parts: np.ndarray  # (V + 1,) sealed mesh, the centroid vertex last
    seal_faces: np.ndarray  # (S, 3), the centroid vertex has id V
    face_parts: np.ndarray  # (F + S,)

    @staticmethod
    def load(path: Path, side: str) -> Sidecar:
        try:
            data = json.loads(Path(path).read_text())[side]
            return Sidecar(
                tip_vertex_ids=np.asarray(data["tip_vertex_ids"], np.int64),
                vertex_parts=np.asarray(data["vertex_parts"], np.int64),
                seal_faces=np.asarray(data["seal_faces"], np.int64),
                face_parts=np.asarray(data["face_parts"], np.int64),
            )
        except FileNotFoundError:
            raise InputError(path, None, "file not found") from None
        except (KeyError, json.JSONDecodeError, TypeError) as exc:
            raise InputError(path, f"{side}.{exc}" if isinstance(exc, KeyError) else side, "unreadable") from None


@dataclass
class HandOutput:
    vertices: torch.Tensor  # (B, V, 3) metres
    joints: torch.Tensor  # (B, 21, 3) InterHand2.6M order (tips first, wrist last)
    mano_joints: torch.Tensor  # (B, 16, 3) MANO kinematic joints

    def joints_openpose(self) -> torch.Tensor:
        """(B, 21, 3) wrist, thumb1-4, ..., pinky1-4 (InterHandGen's order)."""
        ih_to_mano21 = np.argsort(MANO21_TO_IH26M)
        return self.joints[:, ih_to_mano21[MANO21_TO_OPENPOSE]]


class HandModel(torch.nn.Module):
    """One hand. Pose convention is InterHand2.6M's NeuralAnnot: axis-angle minus the mean pose."""

    def __init__(self, layer: smplx.MANO, sidecar: Sidecar, side: str, pose_bank: np.ndarray | None = None) -> None:
        super().__init__()
        self.layer = layer
        # PCA coefficients of the poses the model's pose space was built from (`hands_coeffs`)
        self.pose_bank = pose_bank
        self.side = side
        self.sidecar = sidecar
        faces = np.asarray(layer.faces, np.int64)
        self.register_buffer("faces", torch.as_tensor(faces))
        self.register_buffer("sealed_faces", torch.as_tensor(np.vstack([faces, sidecar.seal_faces])))
        self.register_buffer("tip_ids", torch.as_tensor(sidecar.tip_vertex_ids))
        ring = np.unique(sidecar.seal_faces[:, :2])
        self.register_buffer("wrist_ring", torch.as_tensor(ring))
        comps = np.asarray(layer.np_hand_components, np.float64)
        self.register_buffer("hands_components", torch.as_tensor(comps, dtype=layer.v_template.dtype))

    @property
    def n_vertices(self) -> int:
        return int(self.layer.v_template.shape[0])

    def forward(
        self,
        global_orient: torch.Tensor,
        hand_pose: torch.Tensor,
        betas: torch.Tensor,
        transl: torch.Tensor | None = None,
    ) -> HandOutput:
        out = self.layer(global_orient=global_orient, hand_pose=hand_pose, betas=betas, transl=transl)
        verts = out.vertices
        joints21 = torch.cat([out.joints, verts[:, self.tip_ids]], dim=1)
        return HandOutput(vertices=verts, joints=joints21[:, MANO21_TO_IH26M], mano_joints=out.joints)

    def seal(self, vertices: torch.Tensor) -> torch.Tensor:
        """Append the wrist-centroid vertex so `sealed_faces` index a closed surface."""
        centre = vertices[:, self.wrist_ring].mean(dim=1, keepdim=True)
        return torch.cat([vertices, centre], dim=1)

    def pca_to_pose(self, coeffs: torch.Tensor) -> torch.Tensor:
        """Full-PCA coefficients (45) to the axis-angle pose minus mean (IntagHand's convention)."""
        return coeffs @ self.hands_components

    def pose_to_pca(self, pose: torch.Tensor) -> torch.Tensor:
        return pose @ torch.linalg.inv(self.hands_components)


def create(model_dir: Path | str, side: str, dtype: torch.dtype = torch.float32) -> HandModel:
    """The hand model of one side from a prepared folder (see `handflow.hand.prepare`)."""
    if side not in SIDES:
        raise ValueError(f"side must be one of {SIDES}, got {side!r}")
    model_dir = Path(model_dir)
    path = model_dir / f"MANO_{side.upper()}.npz"
    if not path.is_file():
        raise InputError(path, None, "file not found (run the hand_model stage)")
    with contextlib.redirect_stdout(io.StringIO()):  # smplx prints a warning on every MANO
        layer = smplx.MANO(
            str(path),
            is_rhand=side == "right",
            ext="npz",
            use_pca=False,
            flat_hand_mean=False,
            num_pca_comps=45,
            dtype=dtype,
        )
    with np.load(path) as data:
        bank = np.asarray(data["hands_coeffs"], np.float64) if "hands_coeffs" in data.files else None
    return HandModel(layer, Sidecar.load(model_dir / "sidecar.json", side), side, bank)


def create_pair(model_dir: Path | str, dtype: torch.dtype = torch.float32) -> dict[str, HandModel]:
    return {side: create(model_dir, side, dtype) for side in SIDES}
