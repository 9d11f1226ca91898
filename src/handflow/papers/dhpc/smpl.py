"""SMPL, the seed's body model, from the user's own file, posed by the same recipes and read by the same stages as anny.

The file is the official `SMPL_{NEUTRAL,MALE,FEMALE}.pkl` (a Python-2 pickle with chumpy
arrays, read by the hand model's restricted, chumpy-free unpickler) or an `.npz` with the
same keys. Every array is checked before use: one line names the file and the key of a
missing array, a wrong shape, a face index out of range or a NaN. Posing is smplx's own
`lbs` on the checked arrays.

Our poses are anny's (`skeleton.POSED`, axes x left, y back, z up, arms 45 degrees down at
rest); SMPL's rest is a T-pose with y up and z forward. A recipe's rotation R about anny's
axes is M R M^T about SMPL's (M: anny -> SMPL axes), and the shoulders first lower the
arms by 45 degrees, so a recipe means the same pose on both bodies. anny's six phenotypes
(0..1) drive SMPL's first six betas as (p - 0.5) x 4, i.e. +-2 standard deviations: SMPL
has no gender or age axes, so this is a shape variation, not a translation.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from handflow.errors import InputError
from handflow.papers.dhpc.skeleton import PART_BOTTOM, PART_SHOES, PART_SKIN, PART_TOP, POSED, BodyOutput

N_JOINTS = 24
POSE_JOINT = {
    "root": 0,
    "spine03": 6,
    "spine01": 9,
    "neck01": 12,
    "upperarm01.L": 16,
    "lowerarm01.L": 18,
    "upperarm01.R": 17,
    "lowerarm01.R": 19,
    "upperleg01.L": 1,
    "lowerleg01.L": 4,
    "foot.L": 7,
    "upperleg01.R": 2,
    "lowerleg01.R": 5,
    "foot.R": 8,
}
KEYPOINT_JOINTS = (15, 12, 16, 18, 20, 17, 19, 21, 1, 4, 7, 2, 5, 8)  # body.KEYPOINTS in SMPL's joint order
ANNY_TO_SMPL = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])
_PARTS = {PART_SHOES: (7, 8, 10, 11), PART_BOTTOM: (0, 1, 2, 4, 5), PART_TOP: (3, 6, 9, 13, 14, 16, 17)}
KEYS = ("v_template", "f", "shapedirs", "posedirs", "J_regressor", "weights", "kintree_table")


def _load_raw(path: Path) -> dict:
    from handflow.hand.model_files import read_restricted_pickle  # the MANO reader's checks apply to SMPL's pickle as they are

    if not path.is_file():
        raise InputError(path, None, "file not found")
    if path.suffix == ".npz":
        try:
            with np.load(path, allow_pickle=False) as npz:
                return {k: npz[k] for k in npz.files if k in KEYS}
        except Exception as exc:  # a damaged zip raises many types
            raise InputError(path, None, f"not a readable npz ({type(exc).__name__})") from None
    return read_restricted_pickle(path, "SMPL pickle", KEYS)


def read_smpl(path: Path) -> dict[str, np.ndarray]:
    """The checked arrays of an SMPL model file (see the module docstring)."""
    arrays = _load_raw(path)
    for key in KEYS:
        if key not in arrays:
            raise InputError(path, key, "missing")
        if not isinstance(arrays[key], np.ndarray) or arrays[key].dtype.kind not in "biuf":
            raise InputError(path, key, "not a numeric array")
    v = arrays["v_template"].shape[0] if arrays["v_template"].ndim == 2 else -1
    expected = {
        "v_template": (v, 3),
        "shapedirs": (v, 3, None),
        "posedirs": (v, 3, 9 * (N_JOINTS - 1)),
        "J_regressor": (N_JOINTS, v),
        "weights": (v, N_JOINTS),
        "kintree_table": (2, N_JOINTS),
        "f": (None, 3),
    }
    for key, shape in expected.items():
        got = arrays[key].shape
        if len(got) != len(shape) or any(s is not None and s != g for s, g in zip(shape, got, strict=True)) or v < 1:
            raise InputError(path, key, f"shape {got}, expected {tuple('N' if s is None else s for s in shape)}")
    if arrays["shapedirs"].shape[2] < 6:
        raise InputError(path, "shapedirs", f"{arrays['shapedirs'].shape[2]} shape directions, at least 6 needed")
    faces, parents = arrays["f"], arrays["kintree_table"][0]
    if faces.dtype.kind not in "iu" or faces.size == 0 or faces.min() < 0 or faces.max() >= v:
        raise InputError(path, "f", f"face indices outside [0, {v})")
    if parents.dtype.kind not in "iu" or not all(0 <= parents[j] < j for j in range(1, N_JOINTS)):
        raise InputError(path, "kintree_table", "parents must come before their joints (SMPL's order)")
    for key in ("v_template", "shapedirs", "posedirs", "J_regressor", "weights"):
        if not np.isfinite(arrays[key]).all():
            raise InputError(path, key, "NaN or inf values")
    return arrays


def _rest_offsets() -> torch.Tensor:
    """(24, 3) axis-angles taking SMPL's T-pose to anny's rest: the arms 45 degrees down."""
    out = torch.zeros(N_JOINTS, 3, dtype=torch.float64)
    out[16, 2], out[17, 2] = -np.pi / 4, np.pi / 4  # left arm along +x, right along -x; z is SMPL's forward
    return out


class SmplBody:
    """A `skeleton.BodyModel` on an SMPL file: (B, N_POSED, 3) anny-axis poses and (B, 6) phenotypes in, anny axes out."""

    def __init__(self, path: Path) -> None:
        import roma

        a = read_smpl(path)
        self.path = path
        t = lambda x: torch.as_tensor(np.asarray(x, np.float64))  # noqa: E731
        self.v_template, self.shapedirs = t(a["v_template"]), t(a["shapedirs"])
        self.J_regressor, self.weights = t(a["J_regressor"]), t(a["weights"])
        self.posedirs = t(a["posedirs"]).reshape(-1, 9 * (N_JOINTS - 1)).T  # smplx's layout: (207, V * 3)
        self.parents = torch.as_tensor(a["kintree_table"][0].astype(np.int64))
        self.parents[0] = -1
        self.faces = a["f"].astype(np.int64)
        dominant = a["weights"].argmax(1)
        self.vertex_part = np.full(len(dominant), PART_SKIN, np.int64)
        for part, joints in _PARTS.items():
            self.vertex_part[np.isin(dominant, joints)] = part
        self.m = torch.as_tensor(ANNY_TO_SMPL)
        self.rest = roma.rotvec_to_rotmat(_rest_offsets())
        self.joint_of = torch.tensor([POSE_JOINT[b] for b in POSED])

    def __call__(self, pose: torch.Tensor, shape: torch.Tensor) -> BodyOutput:
        import roma
        from smplx.lbs import lbs

        pose, shape = pose.double(), shape.double()
        b = len(pose)
        rot = torch.eye(3, dtype=torch.float64).repeat(b, N_JOINTS, 1, 1)
        rot[:, self.joint_of] = self.m @ roma.rotvec_to_rotmat(pose) @ self.m.T
        # the shoulders' rest offset A first, then the recipe's R; the elbows sit in the offset frame, so their world-axis
        # rotation is A^-1 R A there (anny's local-ref frames are world-aligned at its A-pose rest)
        rot = rot @ self.rest
        for elbow, shoulder in ((18, 16), (19, 17)):
            rot[:, elbow] = self.rest[shoulder].T @ rot[:, elbow] @ self.rest[shoulder]
        betas = torch.zeros(b, self.shapedirs.shape[2], dtype=torch.float64)
        betas[:, :6] = (shape - 0.5) * 4.0
        verts, joints = lbs(
            betas, rot, self.v_template, self.shapedirs, self.posedirs, self.J_regressor, self.parents, self.weights, pose2rot=False
        )
        root = joints[:, :1]
        to_anny = lambda x: (x - root) @ self.m  # noqa: E731  (row vectors: x_anny = M^T x_smpl)
        return BodyOutput(to_anny(verts), to_anny(joints[:, list(KEYPOINT_JOINTS)]))
