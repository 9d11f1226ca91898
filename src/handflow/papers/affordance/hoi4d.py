"""HOI4D's files as Affordance Diffusion reads them (seed reference section 1): paths, hand-pose pickles, the split CSV.

Layout under the data root: videos `HOI4D_release/<vid>/align_rgb/image.mp4` (or frames
already decoded into `align_frames/`), masks `HOI4D_annotations/<vid>/2Dseg/shift_mask/
{frame:05d}.png` (falling back to `2Dseg/mask/`), right-hand poses `handpose/
refinehandpose_right/<vid>/{frame}.pickle` with `poseCoeff` (3 global + 45 MANO), `beta`
(10), `trans` (3) and `kps2D` (21 x 2 projected joints), and a split CSV of
`vid_index,frame_number,obj` rows whose `obj` holds '/'-separated names, the shortest being
the category's prompt.

A pose pickle is read by an unpickler that builds numpy arrays and builtin containers only
(the MANO loader's, narrowed): a file naming any other global is refused before it runs.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from handflow.errors import InputError
from handflow.hand.model_files import ALLOWED_GLOBALS, read_restricted_pickle

POSE_FIELDS = {"poseCoeff": (48,), "beta": (10,), "trans": (3,), "kps2D": (21, 2)}
_NUMPY_GLOBALS = {k: v for k, v in ALLOWED_GLOBALS.items() if k[0].startswith(("numpy", "_codecs"))}


@dataclass(frozen=True)
class HandPose:
    pose: np.ndarray  # (48,) axis-angle: 3 global + 45 MANO
    beta: np.ndarray  # (10,)
    trans: np.ndarray  # (3,)
    kps2d: np.ndarray  # (21, 2) pixels of the full frame


@dataclass(frozen=True)
class SplitRow:
    vid: str
    frame: int
    prompt: str  # the shortest of the row's '/'-separated category names


def video_path(root: Path, vid: str) -> Path:
    return root / "HOI4D_release" / vid / "align_rgb" / "image.mp4"


def frames_dir(root: Path, vid: str) -> Path:
    return root / "HOI4D_release" / vid / "align_frames"


def mask_path(root: Path, vid: str, frame: int) -> Path:
    seg = root / "HOI4D_annotations" / vid / "2Dseg"
    shifted = seg / "shift_mask" / f"{frame:05d}.png"
    return shifted if shifted.exists() else seg / "mask" / f"{frame:05d}.png"


def hand_pose_path(root: Path, vid: str, frame: int) -> Path:
    return root / "handpose" / "refinehandpose_right" / vid / f"{frame}.pickle"


def read_hand_pose(path: Path) -> HandPose:
    """A right-hand pose pickle, every field checked (present, numeric, its shape, finite)."""
    raw = read_restricted_pickle(path, "HOI4D hand-pose file", tuple(POSE_FIELDS), _NUMPY_GLOBALS)
    values = {}
    for key, shape in POSE_FIELDS.items():
        if key not in raw:
            raise InputError(path, key, "missing")
        try:
            arr = np.asarray(raw[key], dtype=np.float64)
        except (TypeError, ValueError):
            raise InputError(path, key, f"expected numbers of shape {shape}") from None
        if arr.size != int(np.prod(shape)):
            raise InputError(path, key, f"shape {arr.shape}, expected {shape}")
        if not np.isfinite(arr).all():
            raise InputError(path, key, "contains NaN or inf")
        values[key] = arr.reshape(shape)
    return HandPose(values["poseCoeff"], values["beta"], values["trans"], values["kps2D"])


def read_split(path: Path, root: Path) -> list[SplitRow]:
    """Rows of a split CSV whose videos exist under `root` (as a video or decoded frames); a bad row names its line."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise InputError(path, None, "file not found") from None
    except UnicodeDecodeError:
        raise InputError(path, None, "not a text file") from None
    reader = csv.DictReader(text.splitlines())
    if reader.fieldnames is None or not {"vid_index", "frame_number", "obj"} <= set(reader.fieldnames):
        raise InputError(path, "header", f"{reader.fieldnames}, expected vid_index,frame_number,obj")
    rows = []
    for line, row in enumerate(reader, start=2):
        vid, frame, obj = ((row.get(k) or "").strip() for k in ("vid_index", "frame_number", "obj"))
        if not frame.isdigit():
            raise InputError(path, f"line {line}: frame_number", f"{frame!r} is not a frame index")
        names = [n.strip() for n in obj.split("/") if n.strip()]
        if not vid or ".." in Path(vid).parts or Path(vid).is_absolute() or not names:
            raise InputError(path, f"line {line}", "needs a relative vid_index and an obj name")
        if not (video_path(root, vid).is_file() or frames_dir(root, vid).is_dir()):
            raise InputError(path, f"line {line}: vid_index", f"no video or frames for {vid} under {root}")
        rows.append(SplitRow(vid, int(frame), min(names, key=len).lower()))
    return rows
