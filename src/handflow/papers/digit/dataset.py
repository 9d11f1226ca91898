"""DIGIT's training samples straight from the LMDBs: crop, augmentation and targets as the seed builds them.

Per sample (reference section 3): the square crop box (x1.25 around the annotation
box) with, in training, InterNet's augmentation: centre shift U(-0.15, 0.15) of the
box, scale 1 + 0.25 clip(N, -1, 1), rotation clip(N, -2, 2) x 45 deg with p 0.6,
horizontal flip p 0.5 (left and right swap: joints, validity, hand type, mask labels
1-16 <-> 17-32) and a per-channel colour scale U(0.8, 1.2). The image is warped to
`input_size` (256 in the seed; bilinear), the part mask to half that (nearest) by the same
map. Targets: x, y in heatmap units (64 per crop width, whatever the input size), z = ((z - z_own_wrist) / 200 mm + 1) / 2 x 64; joints
outside [0, 64) become invalid; the relative root depth ((z_left_wrist - z_right_wrist)
/ 200 + 1) / 2 x 64, valid when both wrists are; hand type [right, left].

Randomness comes from a generator seeded by (seed, epoch, index), so a sample is the
same in any worker and after a resume.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from handflow.checkpoints import file_digest
from handflow.errors import InputError
from handflow.papers.digit.annotations import read_annotations
from handflow.storage.hdf5_files import texts
from handflow.storage.json_files import read_json
from handflow.storage.lmdb_store import PackedFiles

INPUT, HEATMAP = 256, 64  # the seed's input size; target units per crop width
BBOX_3D_MM = 400.0
LEFT = slice(21, 42)
RIGHT = slice(0, 21)
WRISTS = (20, 41)


@dataclass(frozen=True)
class Augment:
    shift: float = 0.15
    scale: float = 0.25
    rotation_deg: float = 45.0
    rotation_p: float = 0.6
    flip_p: float = 0.5
    colour: float = 0.2


def _affine(box: np.ndarray, out_size: int, scale: float, rot_deg: float, flip: bool) -> np.ndarray:
    """2x3 map from image pixels to the out_size crop of `box` (x, y, w, h), scaled, rotated, mirrored."""
    cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
    half = box[2] * scale / 2
    rot = np.deg2rad(rot_deg)
    right = np.array([np.cos(rot), np.sin(rot)]) * half
    down = np.array([-np.sin(rot), np.cos(rot)]) * half
    src = np.float32([[cx, cy], [cx + down[0], cy + down[1]], [cx + right[0], cy + right[1]]])
    c = (out_size - 1) / 2
    dst = np.float32([[c, c], [c, c + out_size / 2], [c - out_size / 2 if flip else c + out_size / 2, c]])
    return cv2.getAffineTransform(src, dst)


def _swap_hands(a: np.ndarray) -> np.ndarray:
    return np.concatenate([a[LEFT], a[RIGHT]])


def read_masks_meta(path: Path, keys: list[str]) -> tuple[float, np.ndarray]:
    """The segmentation stage's metadata: the masks' scale (mask pixels per image pixel) and, per key, whether its mask
    is valid (a key without an entry is not)."""
    meta = read_json(path)
    scale = meta.get("scale") if isinstance(meta, dict) else None
    if isinstance(scale, bool) or not isinstance(scale, int | float) or not 0 < scale < float("inf"):
        raise InputError(path, "scale", f"{scale!r}, expected a positive number")
    images = meta.get("images")
    if not isinstance(images, dict) or not all(isinstance(v, dict) for v in images.values()):
        raise InputError(path, "images", "expected an object of per-image objects")
    valid = [images.get(k, {}).get("segm_valid", False) for k in keys]
    if not all(isinstance(v, bool) for v in valid):
        raise InputError(path, "segm_valid", "expected true or false")
    return float(scale), np.array(valid, bool)


class DigitSamples(torch.utils.data.Dataset):
    def __init__(
        self,
        annotations: Path,
        images: Path,
        masks: Path,
        masks_meta: Path,
        augment: Augment | None,
        seed: int = 0,
        input_size: int = INPUT,
    ) -> None:
        self.input_size, self.mask_size = input_size, input_size // 2
        fields = ("key", "crop_box", "joints_img", "joint_valid", "hand_type", "hand_type_valid", "imsize")
        self.ann = read_annotations(annotations, fields)
        self.keys = texts(self.ann["key"])
        self.images, self.masks = PackedFiles(images), PackedFiles(masks)
        for store in (self.images, self.masks):
            missing = set(self.keys) - set(store.keys())
            if missing:
                raise InputError(
                    annotations, "key", f"{len(missing)} images not in {store.path} (first: {min(missing)!r}): stores of another split"
                )
        self.mask_scale, self.segm_valid = read_masks_meta(masks_meta, self.keys)
        self.augment, self.seed, self.epoch = augment, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.keys)

    def _decode(self, store: PackedFiles, key: str, flags: int) -> np.ndarray:
        img = cv2.imdecode(np.frombuffer(store.get(key), np.uint8), flags)
        if img is None:
            raise InputError(store.path, key, "undecodable image")
        return img

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return self.sample(i, self.epoch)

    def sample(self, i: int, epoch: int) -> dict[str, torch.Tensor]:
        """Sample `i` as the augmentation draws it in `epoch`: no state is read but the stores, so threads may share it."""
        key = self.keys[i]
        rng = np.random.default_rng([self.seed, epoch, i])
        box = self.ann["crop_box"][i].astype(np.float64)
        scale, rot, flip, colour = 1.0, 0.0, False, np.ones(3)
        if self.augment:
            a = self.augment
            box = box + np.r_[rng.uniform(-a.shift, a.shift, 2) * box[2:], 0.0, 0.0]
            scale = 1.0 + a.scale * np.clip(rng.normal(), -1.0, 1.0)
            rot = np.clip(rng.normal(), -2.0, 2.0) * a.rotation_deg if rng.uniform() < a.rotation_p else 0.0
            flip = bool(rng.uniform() < a.flip_p)
            colour = rng.uniform(1 - a.colour, 1 + a.colour, 3)
        image = cv2.cvtColor(self._decode(self.images, key, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        size, mask_size = self.input_size, self.mask_size
        m_img = _affine(box, size, scale, rot, flip)
        crop = cv2.warpAffine(image, m_img, (size, size), flags=cv2.INTER_LINEAR)
        crop = np.clip(crop.astype(np.float32) * colour.astype(np.float32), 0, 255) / np.float32(255.0)
        mask = self._decode(self.masks, key, cv2.IMREAD_UNCHANGED)
        # the same crop in the mask's own pixels: pixel centres scale as (u + 0.5) s - 0.5
        s = self.mask_scale
        m_box = np.r_[(box[:2] + 0.5) * s - 0.5, box[2:] * s]
        mask = cv2.warpAffine(mask, _affine(m_box, mask_size, scale, rot, flip), (mask_size, mask_size), flags=cv2.INTER_NEAREST)
        joints = self.ann["joints_img"][i].astype(np.float64)
        valid = self.ann["joint_valid"][i].astype(bool).copy()
        uv = np.c_[joints[:, :2], np.ones(42)] @ m_img.T
        z = joints[:, 2]
        hand_type = self.ann["hand_type"][i]
        types = np.array([hand_type in (0, 2), hand_type in (1, 2)], np.float32)  # [right, left]
        if flip:
            uv, z, valid = _swap_hands(uv), _swap_hands(z), _swap_hands(valid)
            types = types[::-1].copy()
            mask = np.where(mask > 16, mask - 16, np.where(mask > 0, mask + 16, 0)).astype(np.uint8)
        wrist_z = np.r_[np.full(21, z[WRISTS[0]]), np.full(21, z[WRISTS[1]])]
        target = np.c_[uv * HEATMAP / size, ((z - wrist_z) / (BBOX_3D_MM / 2) + 1) / 2 * HEATMAP]
        valid &= ((target >= 0) & (target < HEATMAP)).all(1)
        roots_ok = valid[WRISTS[0]] and valid[WRISTS[1]]
        rel_root = ((z[WRISTS[1]] - z[WRISTS[0]]) / (BBOX_3D_MM / 2) + 1) / 2 * HEATMAP
        return {
            "image": torch.from_numpy(crop.transpose(2, 0, 1).copy()),
            "mask": torch.from_numpy(mask.astype(np.int64)),
            "joints": torch.from_numpy(target.astype(np.float32)),
            "joint_valid": torch.from_numpy(valid),
            "rel_root_depth": torch.tensor(rel_root if roots_ok else 0.0, dtype=torch.float32),
            "rel_root_valid": torch.tensor(bool(roots_ok)),
            "hand_type": torch.from_numpy(types),
            "hand_type_valid": torch.tensor(bool(self.ann["hand_type_valid"][i])),
            "segm_valid": torch.tensor(bool(self.segm_valid[i])),
            "index": torch.tensor(i),
        }


@dataclass(frozen=True)
class SplitStores:
    """A split's four stores, as the data stages write them (annotations HDF5, image LMDB, mask LMDB, mask metadata)."""

    annotations: Path
    images: Path
    masks: Path
    masks_meta: Path

    def digest(self) -> list[str]:
        return [file_digest(self.annotations), file_digest(self.images / "data.mdb"), file_digest(self.masks / "data.mdb")]

    def samples(self, augment: Augment | None, input_size: int, seed: int = 0) -> DigitSamples:
        return DigitSamples(self.annotations, self.images, self.masks, self.masks_meta, augment, seed=seed, input_size=input_size)
