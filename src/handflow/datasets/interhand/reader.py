"""One reader for InterHand2.6M v1.0, embedded or real.

It checks the four annotation files of a split against the schema the dataset
documents and names the file and field of the first defect it meets. It also
tolerates what the real files contain: `None` MANO fits, frames with no MANO
entry at all, invalid joints, annotations without a usable hand type, and
joint_3d entries without `seq` (old downloads).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from handflow.errors import InputError
from handflow.geometry.camera import Camera

HAND_TYPES = ("right", "left", "interacting")
N_JOINTS = 42


def split_files(root: Path, split: str) -> dict[str, Path]:
    adir = root / "annotations" / split
    return {name: adir / f"InterHand2.6M_{split}_{name}.json" for name in ("data", "camera", "joint_3d", "MANO_NeuralAnnot")}


@dataclass(frozen=True)
class ManoFit:
    global_orient: np.ndarray  # (3,) axis-angle, world frame
    hand_pose: np.ndarray  # (45,) axis-angle minus the mean pose
    shape: np.ndarray  # (10,)
    trans: np.ndarray  # (3,) metres, smplx `transl`


@dataclass(frozen=True)
class TimeStep:
    """One capture time step (shared by all its camera images): world joints and fits."""

    capture: int
    frame_idx: int
    seq_name: str
    joints_world: np.ndarray  # (42, 3) mm
    joint_valid: np.ndarray  # (42,) bool: annotation succeeded
    hand_type: str | None
    mano: dict[str, ManoFit | None]


@dataclass(frozen=True)
class FrameRecord:
    """One image with everything the dataset says about it."""

    image_id: int
    image_path: Path
    file_name: str
    width: int
    height: int
    capture: int
    subject: int
    seq_name: str
    camera_id: str
    frame_idx: int
    camera: Camera
    bbox: np.ndarray  # (4,) x, y, w, h pixels
    joint_valid: np.ndarray  # (42,) bool, from data.json (annotated and inside the image)
    hand_type: str | None  # None when the annotation has none usable
    hand_type_valid: bool
    step: TimeStep

    @property
    def joints_cam(self) -> np.ndarray:
        return self.camera.world_to_cam(self.step.joints_world)

    @property
    def joints_img(self) -> np.ndarray:
        return self.camera.project(self.joints_cam)


def _load_json(path: Path) -> Any:
    try:
        with open(path) as fh:
            return json.load(fh)
    except FileNotFoundError:
        raise InputError(path, None, "file not found") from None
    except json.JSONDecodeError as exc:
        raise InputError(path, f"line {exc.lineno}", f"invalid JSON: {exc.msg}") from None


def _array(value: Any, shape: tuple[int, ...], path: Path, field: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(path, field, f"expected numbers of shape {shape}") from None
    if arr.size == int(np.prod(shape)) and arr.shape != shape:
        arr = arr.reshape(shape)  # joint_valid comes as 42x1 nested lists
    if arr.shape != shape:
        raise InputError(path, field, f"shape {arr.shape}, expected {shape}")
    if not np.isfinite(arr).all():
        raise InputError(path, field, "contains NaN or inf")
    return arr


def _require(obj: Any, key: str, kind: type | tuple[type, ...], path: Path, field: str) -> Any:
    if not isinstance(obj, dict) or key not in obj:
        raise InputError(path, field, "missing")
    value = obj[key]
    if not isinstance(value, kind):
        raise InputError(path, field, f"expected {getattr(kind, '__name__', kind)}, got {type(value).__name__}")
    return value


class InterHandSplit:
    """The annotations of one split, checked on load; iterate for `FrameRecord`s."""

    def __init__(self, root: Path | str, split: str) -> None:
        self.root = Path(root)
        self.split = split
        self.files = split_files(self.root, split)
        self.cameras = self._read_cameras()
        self.steps = self._read_steps()
        self.images, self.annotations = self._read_data()

    # -- camera.json -------------------------------------------------------------------------
    def _read_cameras(self) -> dict[tuple[str, str], Camera]:
        path = self.files["camera"]
        raw = _load_json(path)
        if not isinstance(raw, dict):
            raise InputError(path, None, "expected an object keyed by capture id")
        cams = {}
        for cap, entry in raw.items():
            for key in ("campos", "camrot", "focal", "princpt"):
                _require(entry, key, dict, path, f"{cap}.{key}")
            for cam_id in entry["campos"]:
                f = f"{cap}.%s.{cam_id}"
                cams[(cap, cam_id)] = Camera(
                    R=_array(_require(entry["camrot"], cam_id, list, path, f % "camrot"), (3, 3), path, f % "camrot"),
                    campos=_array(entry["campos"][cam_id], (3,), path, f % "campos"),
                    focal=_array(_require(entry["focal"], cam_id, list, path, f % "focal"), (2,), path, f % "focal"),
                    princpt=_array(_require(entry["princpt"], cam_id, list, path, f % "princpt"), (2,), path, f % "princpt"),
                )
        return cams

    # -- joint_3d.json + MANO_NeuralAnnot.json ------------------------------------------------
    def _read_steps(self) -> dict[tuple[int, int], TimeStep]:
        jpath, mpath = self.files["joint_3d"], self.files["MANO_NeuralAnnot"]
        joints, mano = _load_json(jpath), _load_json(mpath)
        for path, raw in ((jpath, joints), (mpath, mano)):
            if not isinstance(raw, dict):
                raise InputError(path, None, "expected an object keyed by capture id")
        steps = {}
        for cap, frames in joints.items():
            if not isinstance(frames, dict) or not cap.isdigit():
                raise InputError(jpath, cap, "expected a numeric capture id keying an object of frames")
            cap_fits = mano.get(cap, {})
            if not isinstance(cap_fits, dict):
                raise InputError(mpath, cap, "expected an object keyed by frame index")
            for frame, entry in frames.items():
                field = f"{cap}.{frame}"
                if not frame.isdigit():
                    raise InputError(jpath, field, "frame index is not a number")
                fits = cap_fits.get(frame) or {}
                if not isinstance(fits, dict):
                    raise InputError(mpath, field, "expected an object with right and left fits")
                wf, vf = f"{field}.world_coord", f"{field}.joint_valid"
                world = _array(_require(entry, "world_coord", list, jpath, wf), (N_JOINTS, 3), jpath, wf)
                valid = _array(_require(entry, "joint_valid", list, jpath, vf), (N_JOINTS,), jpath, vf)
                hand_type = entry.get("hand_type")
                steps[(int(cap), int(frame))] = TimeStep(
                    capture=int(cap),
                    frame_idx=int(frame),
                    seq_name=str(entry.get("seq", "")),
                    joints_world=world,
                    joint_valid=valid > 0,
                    hand_type=hand_type if hand_type in HAND_TYPES else None,
                    mano={side: self._fit(fits.get(side), mpath, f"{field}.{side}") for side in ("right", "left")},
                )
        return steps

    @staticmethod
    def _fit(entry: Any, path: Path, field: str) -> ManoFit | None:
        if entry is None:
            return None
        pose = _array(_require(entry, "pose", list, path, f"{field}.pose"), (48,), path, f"{field}.pose")
        return ManoFit(
            global_orient=pose[:3],
            hand_pose=pose[3:],
            shape=_array(_require(entry, "shape", list, path, f"{field}.shape"), (10,), path, f"{field}.shape"),
            trans=_array(_require(entry, "trans", list, path, f"{field}.trans"), (3,), path, f"{field}.trans"),
        )

    # -- data.json -------------------------------------------------------------------------
    def _read_data(self) -> tuple[list[dict], list[dict]]:
        path = self.files["data"]
        raw = _load_json(path)
        images = _require(raw, "images", list, path, "images")
        annotations = _require(raw, "annotations", list, path, "annotations")
        if len(images) != len(annotations):
            raise InputError(path, "annotations", f"{len(annotations)} entries for {len(images)} images")
        for i, (img, ann) in enumerate(zip(images, annotations, strict=True)):
            for key, kind in (
                ("id", int),
                ("file_name", str),
                ("width", int),
                ("height", int),
                ("capture", int),
                ("seq_name", str),
                ("camera", str),
                ("frame_idx", int),
            ):
                _require(img, key, kind, path, f"images[{i}].{key}")
            if not isinstance(img.get("subject", -1), int):
                raise InputError(path, f"images[{i}].subject", f"expected int, got {type(img['subject']).__name__}")
            for key, kind in (("image_id", int), ("bbox", list), ("joint_valid", list)):
                _require(ann, key, kind, path, f"annotations[{i}].{key}")
            if ann["image_id"] != img["id"]:
                raise InputError(path, f"annotations[{i}].image_id", f"{ann['image_id']} != images[{i}].id {img['id']}")
            key = (str(img["capture"]), img["camera"])
            if key not in self.cameras:
                raise InputError(path, f"images[{i}].camera", f"no camera {key[1]} for capture {key[0]} in {self.files['camera'].name}")
        return images, annotations

    def __len__(self) -> int:
        return len(self.images)

    def record(self, i: int) -> FrameRecord | None:
        """The i-th image, or None when its time step is absent from joint_3d.json."""
        img, ann = self.images[i], self.annotations[i]
        step = self.steps.get((img["capture"], img["frame_idx"]))
        if step is None:
            return None
        path = self.files["data"]
        hand_type = ann.get("hand_type")
        return FrameRecord(
            image_id=img["id"],
            image_path=self.root / "images" / self.split / img["file_name"],
            file_name=img["file_name"],
            width=img["width"],
            height=img["height"],
            capture=img["capture"],
            subject=int(img.get("subject", -1)),
            seq_name=img["seq_name"],
            camera_id=img["camera"],
            frame_idx=img["frame_idx"],
            camera=self.cameras[(str(img["capture"]), img["camera"])],
            bbox=_array(ann["bbox"], (4,), path, f"annotations[{i}].bbox"),
            joint_valid=_array(ann["joint_valid"], (N_JOINTS,), path, f"annotations[{i}].joint_valid") > 0,
            hand_type=hand_type if hand_type in HAND_TYPES else None,
            hand_type_valid=bool(ann.get("hand_type_valid", 0)) and hand_type in HAND_TYPES,
            step=step,
        )

    def __iter__(self) -> Iterator[FrameRecord]:
        for i in range(len(self)):
            rec = self.record(i)
            if rec is not None:
                yield rec
