"""Real few-shot frames from a COCO-keypoints file (`dhpc.real`), in place of the embedded real-style renders.

The seed fine-tunes on SMART / SkiPose frames with 2D keypoints (and SkiPose's 3D joints).
Those datasets ship in their own formats; mmpose's converters (and most others) write the
COCO person-keypoints format, which is read here: `images` (`id`, `file_name`), and
`annotations` (`image_id`, `keypoints` as 17 x (x, y, v) in COCO's order, `bbox` as x, y,
w, h, optionally `iscrowd`, and optionally `keypoints_3d` as 17 x (x, y, z) or 17 x (x, y,
z, v) in millimetres, camera frame). Each person becomes one frame: a square crop around
its box (1.2 x its longer side, SPIN's evaluation crop; outside the image is black), resized
to the pipeline's image size, with its keypoints moved into the crop.

COCO's 17 joints are mapped onto the 14 evaluation joints by name (shoulders, elbows,
wrists, hips, knees, ankles); the 14's `head` and `neck` have no COCO joint and are marked
not visible, so PCK and the fine-tuning's 2D loss use the 12 joints both have. A person
with fewer than `min_keypoints` visible mapped joints is skipped (counted). COCO has no
caption: the synthetic set's prompts use the seed's templates with `action`. Fields a
photograph does not have (person mask, depth, background, body pose and shape) are zeros
and the split says so (`labels: 2d`); `has_3d` says whether `keypoints_3d` came with every
person (else MPJPE is not computed on it).

Every malformed file is one line naming the file and the field (`annotations[3].keypoints`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import h5py
import numpy as np

from handflow.config import Section
from handflow.errors import InputError
from handflow.papers.dhpc.dataset import FIELDS
from handflow.papers.dhpc.poses import ACTIONS, caption
from handflow.papers.dhpc.skeleton import KEYPOINTS, N_POSED
from handflow.storage.atomic import atomic_path

COCO_JOINTS = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder", "left_elbow",
    "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
)  # fmt: skip
# our joint -> COCO's (the person's own left and right, as ours); head and neck have none
FROM_COCO = {
    f"{part}.{side[0].upper()}": COCO_JOINTS.index(f"{side}_{part}")
    for part in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle")
    for side in ("left", "right")
}
CROP_SCALE = 1.2  # the square crop's side over the box's longer side (SPIN's)
FOCAL = 1.2  # x the image size: the renders' camera, which the regressor's translation assumes


@dataclass(frozen=True)
class RealConfig(Section):
    """params `dhpc.real`."""

    train_json: str | None
    test_json: str | None
    images: str | None
    action: str
    min_keypoints: int


def _numbers(value, path: Path, field: str, count: int | tuple[int, ...]) -> np.ndarray:
    counts = (count,) if isinstance(count, int) else count
    try:
        arr = np.asarray(value, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise InputError(path, field, "expected a list of numbers") from None
    if arr.size not in counts or not np.isfinite(arr).all():
        raise InputError(path, field, f"expected {' or '.join(map(str, counts))} finite numbers, got {arr.size}")
    return arr


def _load(path: Path) -> tuple[dict[int, str], list[dict]]:
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(path, None, "file not found") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(path, None, f"not a JSON file ({exc.__class__.__name__})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("images"), list) or not isinstance(doc.get("annotations"), list):
        raise InputError(path, "images", "a COCO keypoints file has 'images' and 'annotations' lists")
    files = {}
    for i, image in enumerate(doc["images"]):
        if not isinstance(image, dict) or not isinstance(image.get("id"), int) or not isinstance(image.get("file_name"), str):
            raise InputError(path, f"images[{i}]", "needs an integer 'id' and a 'file_name'")
        name = image["file_name"]
        if not name or Path(name).is_absolute() or ".." in Path(name).parts:
            raise InputError(path, f"images[{i}].file_name", f"{name!r} is not a path inside the images folder")
        files[image["id"]] = name
    for i, ann in enumerate(doc["annotations"]):
        if not isinstance(ann, dict) or not isinstance(ann.get("image_id"), int) or ann["image_id"] not in files:
            raise InputError(path, f"annotations[{i}].image_id", "not the id of an image in the file")
    return files, doc["annotations"]


def _crop(image: np.ndarray, box: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray, float]:
    """The square crop around `box` (x, y, w, h) resized to `size`: (crop, its top-left in the image, scale)."""
    x, y, w, h = box
    side = CROP_SCALE * max(w, h)
    corner = np.array([x + w / 2 - side / 2, y + h / 2 - side / 2])
    scale = size / side
    affine = np.array([[scale, 0.0, -corner[0] * scale], [0.0, scale, -corner[1] * scale]])
    crop = cv2.warpAffine(image, affine, (size, size), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return crop, corner, scale


def read_coco(path: Path, images: Path, size: int, min_keypoints: int) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """The persons of one COCO keypoints file as frames (see the module docstring): arrays by field, and counts."""
    files, annotations = _load(path)
    ours = [FROM_COCO.get(name) for name in KEYPOINTS]
    out: dict[str, list] = {k: [] for k in ("image", "kp2d", "kp3d")}
    skipped, with_3d, cache = 0, 0, {}
    for i, ann in enumerate(annotations):
        if ann.get("iscrowd"):
            skipped += 1
            continue
        kps = _numbers(ann.get("keypoints"), path, f"annotations[{i}].keypoints", 51).reshape(17, 3)
        box = _numbers(ann.get("bbox"), path, f"annotations[{i}].bbox", 4)
        if box[2] <= 0 or box[3] <= 0:
            raise InputError(path, f"annotations[{i}].bbox", f"{box.tolist()} has no area")
        visible = np.array([j is not None and kps[j, 2] > 0 for j in ours])
        if visible.sum() < min_keypoints:
            skipped += 1
            continue
        name = files[ann["image_id"]]
        if name not in cache:
            bgr = cv2.imread(str(images / name), cv2.IMREAD_COLOR)
            if bgr is None:
                raise InputError(images / name, None, f"not a readable image (images of {path.name})")
            cache = {name: bgr[..., ::-1].copy()}  # files are usually in image order: one decoded at a time
        crop, corner, scale = _crop(cache[name], box, size)
        kp2d = np.zeros((len(KEYPOINTS), 3))
        for k, j in enumerate(ours):
            if visible[k]:
                kp2d[k] = [*((kps[j, :2] - corner) * scale), 1.0]
        inside = ((kp2d[:, :2] >= 0) & (kp2d[:, :2] < size)).all(1)
        kp2d[~inside] = 0.0
        kp3d = np.zeros((len(KEYPOINTS), 3))
        if "keypoints_3d" in ann:
            raw = _numbers(ann["keypoints_3d"], path, f"annotations[{i}].keypoints_3d", (51, 68))
            joints = raw.reshape(17, -1)[:, :3]
            kp3d = np.array([joints[j] if j is not None else np.zeros(3) for j in ours])
            with_3d += 1
        out["image"].append(crop)
        out["kp2d"].append(kp2d)
        out["kp3d"].append(kp3d)
    n = len(out["image"])
    if n == 0:
        raise InputError(path, "annotations", f"no person with {min_keypoints} visible joints of the 14 ({skipped} skipped)")
    if 0 < with_3d < n:
        raise InputError(path, "keypoints_3d", f"given for {with_3d} of {n} persons: all or none")
    arrays = {k: np.stack(v) for k, v in out.items()}
    return arrays, {"n": float(n), "skipped": float(skipped), "has_3d": float(with_3d == n)}


def build_real(cfg: RealConfig, root: Path, size: int, seed: int, out: Path, provenance: dict) -> dict[str, float]:
    """`real_train` and `real_test` from the user's COCO files into `out`, in the renders file's split format."""
    if cfg.action not in ACTIONS:
        raise InputError("params/dhpc.yaml", "real.action", f"{cfg.action!r}: one of {list(ACTIONS)}")
    if not (cfg.train_json and cfg.test_json and cfg.images):
        raise InputError("params/dhpc.yaml", "real", "train_json, test_json and images are all needed for real frames")
    rng = np.random.default_rng(seed)
    stats = {}
    with atomic_path(out) as tmp, h5py.File(tmp, "w") as f:
        f.attrs["provenance"] = json.dumps(provenance)
        f.attrs["actions"] = json.dumps(list(ACTIONS))
        f.attrs["image_size"] = size
        for split, name in (("real_train", cfg.train_json), ("real_test", cfg.test_json)):
            arrays, counts = read_coco(root / name, root / cfg.images, size, cfg.min_keypoints)
            n = len(arrays["image"])
            zeros = {
                "mask": (n, size, size),
                "depth": (n, size, size),
                "background": (n, size, size, 3),
                "pose": (n, N_POSED, 3),
                "shape": (n, 6),
                "trans": (n, 3),
            }
            g = f.create_group(split)
            g.attrs["labels"] = "2d"
            g.attrs["has_3d"] = bool(counts["has_3d"])
            g.attrs["source"] = str(name)
            for key, values in {**arrays, **{k: np.zeros(s) for k, s in zeros.items()}}.items():
                g.create_dataset(key, data=values.astype(FIELDS.get(key, np.float32)), compression="gzip" if values.ndim > 2 else None)
            g.create_dataset("focal", data=np.full(n, FOCAL * size, np.float32))
            g.create_dataset("action", data=np.full(n, list(ACTIONS).index(cfg.action), np.int64))
            g.create_dataset("caption", data=np.array([caption(cfg.action, rng) for _ in range(n)], dtype=h5py.string_dtype()))
            stats |= {f"{split}_{k}": v for k, v in counts.items()}
    return stats
