"""The pairs and frames files read back: every field checked, at the networks' size as tensors, training batches drawn.

The augmentation of `PairSet.batch` is the seed's, less its random-resized crop: a
horizontal flip (p 0.5, applied to the layout exactly: x -> -x, u_x -> -u_x, without the
seed's box-size quirk on flipped samples), the SDEdit copy of the object image in place of
the inpainted one (p 0.5), a Gaussian blur of the object image with sigma ~ U(0.1, 2)
pixels (p 0.5; the seed's `preprocess_obj`, after its crop to the network's side, so
at the network's size here), then Gaussian noise of 0.05 (p 0.5); and, for ContentNet, the
seed's layout jitter (`jitter`, its content config's 0.1): the keep-mask is drawn from the
layout with its centre and radius perturbed, so ContentNet learns to tolerate a layout
LayoutNet did not get exactly right. Layouts are
computed once per pair at the network's size (the seed computes them on the fly after its
crop; without the crop they would be the same each time), and pairs whose hand has under
50 pixels there are dropped as the seed drops them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from handflow.diffusion import resize_images, to_tensor
from handflow.errors import InputError
from handflow.papers.affordance.layout import MIN_HAND_PIXELS, jittered, layout_from_hand, render_hard
from handflow.storage.hdf5_files import TEXT, Field, check_fields, open_hdf5, read_fields, texts

_N, _S = "pairs", "side"
_IMAGE = Field((_N, _S, _S, 3), dtype="uint8")
PAIR_FIELDS = {
    "hoi": _IMAGE,
    "obj": _IMAGE,
    "obj_sdedit": _IMAGE,
    "keep": Field((_N, _S, _S), "u"),
    "obj_mask": Field((_N, _S, _S), "u"),
    "hand_box": Field((_N, 4), finite=True),
    "category": Field((_N,), "iu"),
    "vid": Field((_N,), TEXT),
    # embedded truth (the inpainting's target, the object's depth and camera) and the hand labels
    "obj_true": dataclasses.replace(_IMAGE, optional=True),
    "obj_depth": Field((_N, 2, _S, _S), finite=True, optional=True),
    "crop_camera": Field((_N, 4), finite=True, optional=True),
    "kps2d": Field((_N, 21, 2), finite=True, optional=True),
    "pose": Field((_N, 48), finite=True, optional=True),
    "beta": Field((_N, 10), finite=True, optional=True),
    "trans": Field((_N, 3), finite=True, optional=True),
}
TOGETHER = (("obj_depth", "crop_camera"), ("kps2d", "pose", "beta", "trans"))  # optional fields written together


def read_pairs_file(path: Path, keys: Iterable[str] | None = None) -> dict[str, np.ndarray]:
    """The arrays `keys` of a pairs file (all of `PAIR_FIELDS`, the optional ones when present, by default) once every
    field's form is checked; one line naming the file and the field when one is missing or misshapen."""
    with open_hdf5(path) as h5:
        sizes = check_fields(h5, path, PAIR_FIELDS)
        for group in TOGETHER:
            present = [k for k in group if k in h5]
            if present and len(present) < len(group):
                raise InputError(path, next(k for k in group if k not in h5), f"missing (the file has {present[0]})")
        return read_fields(h5, path, PAIR_FIELDS if keys is None else {k: PAIR_FIELDS[k] for k in keys}, sizes)


@dataclass
class PairSet:
    """The pairs at one network size, as tensors; `layout` and `keep` for both flips (index 0 as stored, 1 flipped)."""

    hoi: torch.Tensor  # (N, 3, S, S) in [-1, 1]
    obj: torch.Tensor
    obj_sdedit: torch.Tensor
    layout: torch.Tensor  # (2, N, 5)
    keep: torch.Tensor  # (2, N, 1, S, S): the hard lollipop keep-mask of the layout, 1 keep / 0 hand
    category: torch.Tensor  # (N,)
    obj_mask: np.ndarray  # (N, S, S) bool: the object's visible pixels in the crop (the judges' contact test)
    hoi_full: torch.Tensor  # (N, 3, F, F) at the pairs' stored size (the upsampler's target)
    obj_true: torch.Tensor | None
    kept: np.ndarray  # indices into the file of the pairs kept
    dropped: int
    vid: list[str]  # each kept pair's source video

    @staticmethod
    def load(path: Path, size: int) -> PairSet:
        raw = read_pairs_file(path)
        full = raw["hoi"].shape[1]
        keep = resize_images(raw["keep"], size, nearest=True)
        boxes = raw["hand_box"] * size / full
        layouts, kept = [], []
        for i in range(len(keep)):
            hand = keep[i] == 0
            if hand.sum() >= MIN_HAND_PIXELS:
                kept.append(i)
                layouts.append(layout_from_hand(boxes[i], hand, str(path)))
        if len(kept) < 2:
            raise InputError(path, "keep", f"{len(kept)} pairs with a hand of at least {MIN_HAND_PIXELS} pixels at {size} px; 2 needed")
        lay = np.stack(layouts)
        flipped = lay * np.array([-1, 1, 1, -1, 1])
        masks = np.stack([[render_hard(v, size) for v in ls] for ls in (lay, flipped)]) / 255.0
        pick = lambda key: to_tensor(resize_images(raw[key][kept], size))  # noqa: E731
        vids = texts(raw["vid"])
        return PairSet(
            pick("hoi"),
            pick("obj"),
            pick("obj_sdedit"),
            torch.as_tensor(np.stack([lay, flipped]), dtype=torch.float32),
            torch.as_tensor(masks, dtype=torch.float32)[:, :, None],
            torch.as_tensor(raw["category"][kept]),
            resize_images(raw["obj_mask"][kept], size, nearest=True) > 0,
            to_tensor(raw["hoi"][kept]),
            to_tensor(resize_images(raw["obj_true"][kept], size)) if "obj_true" in raw else None,
            np.array(kept),
            len(keep) - len(kept),
            [vids[i] for i in kept],
        )

    def __len__(self) -> int:
        return len(self.hoi)

    def batch(self, n: int, g: torch.Generator, augment: bool = True, jitter: float = 0.0) -> dict[str, torch.Tensor]:
        """A training batch drawn with `g` (flip, SDEdit copy, blur, noise and the layout `jitter` of the keep-mask, as
        the module docstring says; `layout` stays the exact one, which LayoutNet learns)."""
        idx = torch.randint(0, len(self), (n,), generator=g)
        flip = (torch.rand(n, generator=g) < 0.5).long() if augment else torch.zeros(n, dtype=torch.long)
        sub = torch.rand(n, generator=g) < 0.5 if augment else torch.zeros(n, dtype=torch.bool)
        blurred = torch.rand(n, generator=g) < 0.5 if augment else torch.zeros(n, dtype=torch.bool)
        sigma = 0.1 + 1.9 * torch.rand(n, generator=g)
        noisy = torch.rand(n, generator=g) < 0.5 if augment else torch.zeros(n, dtype=torch.bool)
        obj = torch.where(sub[:, None, None, None], self.obj_sdedit[idx], self.obj[idx])
        obj = torch.stack([_blur(o, float(s)) if b else o for o, b, s in zip(obj, blurred.tolist(), sigma, strict=True)])
        obj = obj + noisy[:, None, None, None] * 0.05 * torch.randn(obj.shape, generator=g)
        hoi = self.hoi[idx]
        flip_img = lambda x: torch.where(flip.bool()[:, None, None, None], x.flip(-1), x)  # noqa: E731
        keep = self.keep[flip, idx]
        if augment and jitter > 0:
            side = keep.shape[-1]
            drawn = [render_hard(v, side) for v in jittered(self.layout[flip, idx], jitter, g).numpy()]
            keep = torch.as_tensor(np.stack(drawn) / 255.0, dtype=keep.dtype)[:, None]
        return {
            "hoi": flip_img(hoi),
            "obj": flip_img(obj),
            "layout": self.layout[flip, idx],
            "keep": keep,
            "hoi_full": torch.where(flip.bool()[:, None, None, None], self.hoi_full[idx].flip(-1), self.hoi_full[idx]),
        }


def _blur(image: torch.Tensor, sigma: float) -> torch.Tensor:
    """(3, H, W) image blurred by a Gaussian of `sigma` pixels (OpenCV's kernel size rule: 2 ceil(3 sigma) + 1 here)."""
    k = 2 * int(np.ceil(3 * sigma)) + 1
    out = cv2.GaussianBlur(np.ascontiguousarray(image.permute(1, 2, 0).numpy()), (k, k), sigma, borderType=cv2.BORDER_REFLECT_101)
    return torch.from_numpy(out).permute(2, 0, 1)
