"""Stage 2: per image, what DIGIT's data loader needs, in one HDF5 (the seed's annotation pickle and meta dict).

Rows follow the split's `data.json` order, keyed like the LMDBs (`<split>/<file_name>`).
Per row: the annotation box and the square crop box around it (InterNet's
`process_bbox`: centre kept, aspect 1, x1.25, as DIGIT's training crop), the 42
joints in camera space (mm) and in the image (u, v in pixels, z camera depth in mm),
their validity (a hand's joints are all invalid when its wrist is, as the seed
zeroes them), hand type, each hand's root (wrist) depth, and the camera.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from handflow.datasets.interhand.reader import HAND_TYPES, InterHandSplit
from handflow.errors import InputError
from handflow.papers.digit.images import image_key
from handflow.storage.atomic import atomic_path
from handflow.storage.hdf5_files import TEXT, Field, check_fields, check_version, open_hdf5, read_fields

SCHEMA_VERSION = 1
ROOTS = (20, 41)  # right and left wrist, InterHand2.6M order
CROP_SCALE = 1.25


_N = "images"
FIELDS = {
    "key": Field((_N,), TEXT),
    "image_id": Field((_N,), "iu"),
    "capture": Field((_N,), "iu"),
    "frame_idx": Field((_N,), "iu"),
    "camera_id": Field((_N,), TEXT),
    "imsize": Field((_N, 2), "iu"),
    "bbox": Field((_N, 4), finite=True),
    "crop_box": Field((_N, 4), finite=True),
    "joints_cam": Field((_N, 42, 3)),
    "joints_img": Field((_N, 42, 3)),
    "joint_valid": Field((_N, 42), "b"),
    "hand_type": Field((_N,), "iu"),
    "hand_type_valid": Field((_N,), "b"),
    "root_depth": Field((_N, 2)),  # NaN: no valid wrist
    "focal": Field((_N, 2), finite=True),
    "princpt": Field((_N, 2), finite=True),
    "cam_R": Field((_N, 3, 3), finite=True),
    "cam_t": Field((_N, 3), finite=True),
}


def crop_box(bbox: np.ndarray, scale: float = CROP_SCALE) -> np.ndarray:
    """Square box (x, y, w, h) around the annotation box: centre kept, the longer side x scale."""
    x, y, w, h = bbox
    side = max(w, h) * scale
    return np.array([x + w / 2 - side / 2, y + h / 2 - side / 2, side, side])


def write_annotations(root: Path, split: str, out: Path, provenance: dict[str, str]) -> dict[str, int]:
    data = InterHandSplit(root, split)
    rows = list(data)
    n = len(rows)
    valid = np.stack([r.joint_valid for r in rows]) if n else np.zeros((0, 42), bool)
    for off, root_joint in zip((0, 21), ROOTS, strict=True):
        valid[:, off : off + 21] &= valid[:, root_joint : root_joint + 1]
    cam = np.stack([r.joints_cam for r in rows]) if n else np.zeros((0, 42, 3))
    uv = np.stack([r.joints_img for r in rows]) if n else np.zeros((0, 42, 2))
    with atomic_path(out) as tmp, h5py.File(tmp, "w") as h5:
        h5.attrs.update(
            {
                **provenance,
                "split": split,
                "schema_version": SCHEMA_VERSION,
                "units": "mm, pixels",
                "joint_order": "InterHand2.6M (right 0-20, left 21-41, wrist last)",
            }
        )
        h5["key"] = np.array([image_key(split, r.file_name) for r in rows], dtype=h5py.string_dtype())
        h5["image_id"] = np.array([r.image_id for r in rows], np.int64)
        h5["capture"] = np.array([r.capture for r in rows], np.int32)
        h5["frame_idx"] = np.array([r.frame_idx for r in rows], np.int32)
        h5["camera_id"] = np.array([r.camera_id for r in rows], dtype=h5py.string_dtype())
        h5["imsize"] = np.array([[r.width, r.height] for r in rows], np.int32).reshape(n, 2)
        h5["bbox"] = np.array([r.bbox for r in rows], np.float32).reshape(n, 4)
        h5["crop_box"] = np.array([crop_box(r.bbox) for r in rows], np.float32).reshape(n, 4)
        h5["joints_cam"] = cam.astype(np.float32)
        h5["joints_img"] = np.concatenate([uv, cam[..., 2:]], axis=-1).astype(np.float32)
        h5["joint_valid"] = valid
        h5["hand_type"] = np.array([HAND_TYPES.index(r.hand_type) if r.hand_type else -1 for r in rows], np.int8)
        h5["hand_type"].attrs["codes"] = ", ".join(f"{i}={t}" for i, t in enumerate(HAND_TYPES)) + ", -1=unknown"
        h5["hand_type_valid"] = np.array([r.hand_type_valid for r in rows], bool)
        h5["root_depth"] = np.where(valid[:, list(ROOTS)], cam[:, list(ROOTS), 2], np.nan).astype(np.float32)  # NaN: no valid wrist
        h5["focal"] = np.array([r.camera.focal for r in rows], np.float32).reshape(n, 2)
        h5["princpt"] = np.array([r.camera.princpt for r in rows], np.float32).reshape(n, 2)
        h5["cam_R"] = np.array([r.camera.R for r in rows], np.float32).reshape(n, 3, 3)
        h5["cam_t"] = np.array([r.camera.t for r in rows], np.float32).reshape(n, 3)
    return {"images": n, "interacting": int(sum(r.hand_type == "interacting" for r in rows)), "skipped": len(data) - n}


def read_annotations(path: Path, keys: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The fields `keys` (of `FIELDS`) of an annotations file, once its version and every field's form are checked;
    valid joints must be finite and crop boxes of positive size (the crop divides by them)."""
    with open_hdf5(path) as h5:
        check_version(h5, path, SCHEMA_VERSION, "digit annotations")
        sizes = check_fields(h5, path, FIELDS)
        out = read_fields(h5, path, {k: FIELDS[k] for k in {*keys, "crop_box", "joint_valid", "joints_img"}}, sizes)
    if not (out["crop_box"][:, 2:] > 0).all():
        raise InputError(path, "crop_box", "a box of zero or negative size")
    if not np.isfinite(out["joints_img"][out["joint_valid"]]).all():
        raise InputError(path, "joints_img", "a valid joint with NaN or inf coordinates")
    if "joints_cam" in keys and not np.isfinite(out["joints_cam"][out["joint_valid"]]).all():
        raise InputError(path, "joints_cam", "a valid joint with NaN or inf coordinates")
    return {k: out[k] for k in keys}
