"""HO3Pairs (seed reference section 1): HOI crop, object-only image, keep-mask and hand box per contact frame, in HDF5.

Per split-CSV row: the video frame (decoded in memory, annotation frame f = decoded frame f;
the seed's ffmpeg numbering from 0001 made that f + 1), its palette mask, the object box,
the seed's 2.6x square crop, the keep-mask (not the right hand), and the hand box from the
pose pickle's `kps2D` (tight, no padding, as the seed). Crops are resized to `size` (area
interpolation down, cubic up) before inpainting, as the seed inpaints at a fixed 256.

Object-only image: the hand's hole (the keep-mask eroded by the seed's 7x7 at 256 px, scaled
to `size`: 5x5 at 128) is
filled by OpenCV's Telea inpainting by default; `inpaint.model` names a local diffusers
inpainting pipeline directory to use instead (the seed's GLIDE inpainting role), with the
category name as prompt. The SDEdit copy: the seed noises the inpainted image to t = 0.05
of a 1000-step schedule and denoises it with GLIDE. With no pretrained image model here,
the copy is that forward noising (the cosine schedule's alpha-bar at t) followed by
OpenCV's non-local-means denoiser: a re-synthesised copy whose fine texture differs from
the inpainted image's while its layout is the same, which is what the augmentation is for.
It is labelled as such in the file's attributes.

On the embedded data the true object-only render exists: the stage reports the inpainting
error in the hole (mean absolute error, 0-255) beside two trivial fills (the HOI image
itself, i.e. not removing the hand, and the crop's mean colour).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import h5py
import numpy as np

from handflow.config import Section
from handflow.errors import InputError
from handflow.local_diffusers import attempt, class_name
from handflow.papers.affordance import hoi4d
from handflow.papers.affordance.ho3pair import OBJECT, dilated_hole, keep_mask, object_box, read_palette_mask, square_crop_box
from handflow.storage.atomic import atomic_path

TRUTH_DIR = "handflow_truth"
IMAGE_COMPRESSION = {"compression": "gzip", "compression_opts": 4, "shuffle": True, "chunks": True}  # renders compress ~4x


@dataclass(frozen=True)
class InpaintConfig(Section):
    model: str | None  # a local diffusers inpainting pipeline directory; null: OpenCV Telea
    radius: int  # Telea's neighbourhood, pixels
    kernel: int  # the hole's dilation at 256 px, scaled to the crop size (the seed: 7 at 256)
    sdedit_t: float  # the SDEdit copy's noise level, a fraction of the schedule (the seed: 0.05)


def decode_video(path: Path) -> list[np.ndarray]:
    """All frames of a video as RGB uint8; a missing or undecodable file is one line."""
    if not path.is_file():
        raise InputError(path, None, "file not found")
    cap = cv2.VideoCapture(str(path))
    frames = []
    try:
        while True:
            ok, bgr = cap.read()
            if not ok:
                break
            frames.append(bgr[..., ::-1].copy())
    finally:
        cap.release()
    if not frames:
        raise InputError(path, None, "no frame could be decoded (not a video, or a codec OpenCV lacks)")
    return frames


class FrameSource:
    """Frames of the videos a split names, decoded once per video (rows are grouped by video)."""

    def __init__(self, root: Path) -> None:
        self.root, self._vid, self._frames = root, None, []

    def frame(self, vid: str, index: int) -> np.ndarray:
        if vid != self._vid:
            decoded = hoi4d.frames_dir(self.root, vid)
            if hoi4d.video_path(self.root, vid).is_file() or not decoded.is_dir():
                self._frames = decode_video(hoi4d.video_path(self.root, vid))
            else:  # frames already decoded by the seed's ffmpeg step: %04d.png from 0001
                self._frames = [p for p in sorted(decoded.glob("*.png"))]
            self._vid = vid
        if not 0 <= index < len(self._frames):
            raise InputError(hoi4d.video_path(self.root, vid), "frame_number", f"{index} is past the video's {len(self._frames)} frames")
        item = self._frames[index]
        if isinstance(item, Path):
            bgr = cv2.imread(str(item), cv2.IMREAD_COLOR)
            if bgr is None:
                raise InputError(item, None, "not a readable image")
            return bgr[..., ::-1].copy()
        return item


def _resize(img: np.ndarray, size: int, nearest: bool = False) -> np.ndarray:
    interp = cv2.INTER_NEAREST if nearest else (cv2.INTER_AREA if img.shape[0] > size else cv2.INTER_CUBIC)
    return cv2.resize(img, (size, size), interpolation=interp)


@dataclass
class Crop:
    hoi: np.ndarray  # (S, S, 3) uint8
    keep: np.ndarray  # (S, S) uint8, 255 keep / 0 hand
    box: np.ndarray  # (4,) crop box in frame pixels
    labels: np.ndarray  # (S, S) palette labels


def crop_frame(image: np.ndarray, labels: np.ndarray, size: int, source: Path) -> Crop:
    if image.shape[:2] != labels.shape:
        raise InputError(source, "palette", f"mask size {labels.shape[::-1]} differs from the video frame's {image.shape[1::-1]}")
    box = square_crop_box(object_box(labels, source), image.shape[1], image.shape[0])
    x1, y1, x2, y2 = (int(v) for v in box)
    lab = _resize(labels[y1:y2, x1:x2], size, nearest=True)
    return Crop(_resize(image[y1:y2, x1:x2], size), keep_mask(lab), box.astype(np.float64), lab)


def hand_box_in_crop(kps2d: np.ndarray, crop_box: np.ndarray, size: int) -> np.ndarray:
    """The tight box of the 2D joints (frame pixels) in the resized crop's pixels."""
    scale = size / (crop_box[2] - crop_box[0])
    lo, hi = kps2d.min(0), kps2d.max(0)
    return np.array(
        [(lo[0] - crop_box[0]) * scale, (lo[1] - crop_box[1]) * scale, (hi[0] - crop_box[0]) * scale, (hi[1] - crop_box[1]) * scale]
    )


class Inpainter:
    """Fills the hand's hole of a crop (see the module docstring)."""

    def __init__(self, cfg: InpaintConfig, root: Path) -> None:
        self.cfg, self.pipe = cfg, None
        if cfg.model:
            path = root / cfg.model
            class_name(path, "model_index.json", "affordance.pairs.inpaint.model")
            from diffusers import AutoPipelineForInpainting

            pipeline = lambda: AutoPipelineForInpainting.from_pretrained(str(path), local_files_only=True)  # noqa: E731
            self.pipe = attempt(path, "load the inpainting pipeline", pipeline)

    def hole(self, keep: np.ndarray) -> np.ndarray:
        return dilated_hole(keep, self.cfg.kernel) == 0

    def __call__(self, hoi: np.ndarray, keep: np.ndarray, prompt: str) -> np.ndarray:
        hole = self.hole(keep)
        if self.pipe is not None:
            from PIL import Image

            size = hoi.shape[0]
            out = self.pipe(prompt=prompt, image=Image.fromarray(hoi), mask_image=Image.fromarray(hole.astype(np.uint8) * 255)).images[0]
            filled = _resize(np.asarray(out.convert("RGB")), size)
            return np.where(hole[..., None], filled, hoi)
        return cv2.inpaint(hoi, hole.astype(np.uint8), self.cfg.radius, cv2.INPAINT_TELEA)

    def sdedit(self, image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Noise to t (the cosine schedule's alpha-bar), then OpenCV's non-local-means denoiser."""
        abar = np.cos((self.cfg.sdedit_t + 0.008) / 1.008 * np.pi / 2) ** 2 / np.cos(0.008 / 1.008 * np.pi / 2) ** 2
        x = image.astype(np.float64) / 127.5 - 1
        noisy = np.sqrt(abar) * x + np.sqrt(1 - abar) * rng.standard_normal(x.shape)
        as8 = np.clip((noisy + 1) * 127.5, 0, 255).astype(np.uint8)
        return cv2.fastNlMeansDenoisingColored(as8, None, 10, 10, 5, 15)


def _truth_image(root: Path, vid: str, frame: int, box: np.ndarray, size: int) -> np.ndarray | None:
    path = root / TRUTH_DIR / vid / "object_only" / f"{frame:05d}.png"
    if not path.is_file():
        return None
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    x1, y1, x2, y2 = (int(v) for v in box)
    return _resize(bgr[y1:y2, x1:x2, ::-1], size)


class DepthTruth:
    """The embedded tree's per-video object depth (`object_depth.npz`), cropped like the pairs; None on real HOI4D."""

    def __init__(self, root: Path) -> None:
        self.root, self.vid, self.data = root, None, None

    def __call__(self, vid: str, frame: int, box: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray] | None:
        """(2, S, S) near/far object depth in mm (0 off the object) and the crop's (fx, fy, cx, cy) in crop pixels."""
        if vid != self.vid:
            path = self.root / TRUTH_DIR / vid / "object_depth.npz"
            self.vid, self.data = vid, (dict(np.load(path)) if path.is_file() else None)
        if self.data is None:
            return None
        x1, y1, x2, y2 = (int(v) for v in box)
        scale = size / (x2 - x1)
        depth = np.stack([_resize(d[y1:y2, x1:x2].astype(np.float32), size, nearest=True) for d in self.data["depth"][frame]])
        camera = np.concatenate([self.data["focal"] * scale, (self.data["princpt"] - box[:2]) * scale])
        return depth.astype(np.float16), camera.astype(np.float32)


def _rows_by_video(rows: list[hoi4d.SplitRow]) -> Iterator[hoi4d.SplitRow]:
    order = {vid: i for i, vid in enumerate(dict.fromkeys(r.vid for r in rows))}
    return iter(sorted(rows, key=lambda r: (order[r.vid], r.frame)))


def build_pairs(root: Path, split_csv: Path, out: Path, size: int, cfg: InpaintConfig, seed: int, provenance: dict) -> dict[str, float]:
    """The HO3Pairs of one split CSV into `out` (HDF5), with the inpainting error where the truth exists."""
    rows = list(_rows_by_video(hoi4d.read_split(split_csv, root)))
    if not rows:
        raise InputError(split_csv, None, "no rows")
    inpaint, frames, rng = Inpainter(cfg, root), FrameSource(root), np.random.default_rng(seed)
    prompts = sorted({r.prompt for r in rows})
    data: dict[str, list] = {
        k: []
        for k in (
            "hoi",
            "obj",
            "obj_sdedit",
            "obj_true",
            "obj_depth",
            "crop_camera",
            "keep",
            "obj_mask",
            "hand_box",
            "crop_box",
            "category",
            "kps2d",
            "pose",
            "beta",
            "trans",
            "frame",
        )
    }
    depth_truth = DepthTruth(root)
    vids, errors = [], {"inpainted": [], "unfilled": [], "mean_colour": []}
    for row in rows:
        mask_file = hoi4d.mask_path(root, row.vid, row.frame)
        crop = crop_frame(frames.frame(row.vid, row.frame), read_palette_mask(mask_file), size, mask_file)
        pose = hoi4d.read_hand_pose(hoi4d.hand_pose_path(root, row.vid, row.frame))
        obj = inpaint(crop.hoi, crop.keep, row.prompt)
        truth = _truth_image(root, row.vid, row.frame, crop.box, size)
        if truth is not None:
            hole = inpaint.hole(crop.keep)
            if hole.any():
                mean_fill = np.broadcast_to(crop.hoi.reshape(-1, 3).mean(0), crop.hoi.shape)
                for name, img in (("inpainted", obj), ("unfilled", crop.hoi), ("mean_colour", mean_fill)):
                    errors[name].append(float(np.abs(img[hole].astype(np.float64) - truth[hole]).mean()))
        scale = size / (crop.box[2] - crop.box[0])
        for key, value in (
            ("hoi", crop.hoi),
            ("obj", obj),
            ("obj_sdedit", inpaint.sdedit(obj, rng)),
            ("keep", crop.keep),
            ("obj_mask", (crop.labels == OBJECT).astype(np.uint8)),
            ("hand_box", hand_box_in_crop(pose.kps2d, crop.box, size)),
            ("crop_box", crop.box),
            ("category", prompts.index(row.prompt)),
            ("kps2d", (pose.kps2d - crop.box[:2]) * scale),
            ("pose", pose.pose),
            ("beta", pose.beta),
            ("trans", pose.trans),
            ("frame", row.frame),
        ):
            data[key].append(value)
        data["obj_true"].append(truth if truth is not None else np.zeros_like(crop.hoi))
        depth = depth_truth(row.vid, row.frame, crop.box, size)
        if depth is not None:
            data["obj_depth"].append(depth[0])
            data["crop_camera"].append(depth[1])
        vids.append(row.vid)
    has_truth = len(errors["inpainted"]) == len(rows)
    has_depth = len(data["obj_depth"]) == len(rows)
    stats = {"pairs": float(len(rows)), "videos": float(len(set(vids)))}
    if has_truth:
        stats |= {f"hole_mae_{k}": float(np.mean(v)) for k, v in errors.items()}
    with atomic_path(out) as tmp, h5py.File(tmp, "w") as h5:
        for key, values in data.items():
            if (key == "obj_true" and not has_truth) or (key in ("obj_depth", "crop_camera") and not has_depth):
                continue
            array = np.stack(values) if key not in ("category", "frame") else np.asarray(values)
            h5.create_dataset(key, data=array, **(IMAGE_COMPRESSION if array.ndim >= 3 else {}))
        h5.create_dataset("vid", data=np.array(vids, dtype=h5py.string_dtype()))
        h5.attrs["categories"] = json.dumps(prompts)
        h5.attrs["size"] = size
        h5.attrs["inpainting"] = cfg.model or "opencv-telea"
        # the SDEdit copy never goes through the inpainting pipeline (`Inpainter.sdedit`): say what made it, either way
        h5.attrs["sdedit"] = f"forward noise to t={cfg.sdedit_t} + OpenCV non-local means (no image model)"
        h5.attrs["provenance"] = json.dumps(provenance)
        h5.attrs["stats"] = json.dumps(stats)
    return stats
