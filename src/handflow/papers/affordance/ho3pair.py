"""HO3Pair construction, first steps (seed reference section 1, step 2): HOI4D's palette masks, the object crop, the keep-mask.

HOI4D's 2D motion segmentation is a colour PNG in the PASCAL-VOC palette: label 1 (128, 0, 0)
is the main object and label 2 (0, 128, 0) the right hand in every category; labels 3-6 are
(128, 128, 0), (0, 0, 128), (128, 0, 128), (0, 128, 128). Decisions against the seed:
- A pixel's label is read from its colour's bits, each channel at half the palette's 128;
  a colour that is not one of labels 0-6 (a channel far from 0 and 128) is an error naming
  the file and the colour, where the seed's thresholds would silently call it something.
- The object is label 1 only. The seed's rule ((R + B) > max / 2) also takes labels 3-6 (a
  second object, a chair's or a lamp's left hand) into the object's box, and overflows on
  uint8 for magenta (label 5).
- The keep-mask is the seed's: every pixel that is not the right hand (label 2).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from handflow.errors import InputError

OBJECT, RIGHT_HAND = 1, 2
# (R, G, B) bits -> VOC label, for the six labels HOI4D uses and background
_BITS_TO_LABEL = {(0, 0, 0): 0, (1, 0, 0): 1, (0, 1, 0): 2, (1, 1, 0): 3, (0, 0, 1): 4, (1, 0, 1): 5, (0, 1, 1): 6}
_TOLERANCE = 40  # a channel within this of 0 or 128 is that value (compression noise); anything else is foreign
CROP_PAD = 0.8  # the seed's square_bbox pad: half-side = half-extent x (1 + 2 pad), a crop 2.6x the object


def labels_of_palette(rgb: np.ndarray, source: Path | str) -> np.ndarray:
    """(H, W) labels 0-6 of an (H, W, 3) RGB palette mask; one line naming the file for a foreign colour."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise InputError(source, None, f"expected an RGB uint8 image, got shape {rgb.shape} {rgb.dtype}")
    value = rgb.astype(np.int16)
    on, off = np.abs(value - 128) <= _TOLERANCE, value <= _TOLERANCE
    bad = ~(on | off).all(-1)
    bits = on.astype(np.int16)
    code = bits[..., 0] + 2 * bits[..., 1] + 4 * bits[..., 2]
    lut = np.full(8, -1, np.int16)
    for (r, g, b), label in _BITS_TO_LABEL.items():
        lut[r + 2 * g + 4 * b] = label
    labels = lut[code]
    bad |= labels < 0
    if bad.any():
        y, x = np.argwhere(bad)[0]
        raise InputError(source, "palette", f"colour {tuple(int(v) for v in rgb[y, x])} at ({x}, {y}) is not one of HOI4D's labels 0-6")
    return labels.astype(np.uint8)


def read_palette_mask(path: Path) -> np.ndarray:
    """Labels of a HOI4D `2Dseg` PNG."""
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise InputError(path, None, "not a readable image")
    return labels_of_palette(bgr[..., ::-1], path)


def object_box(labels: np.ndarray, source: Path | str) -> np.ndarray:
    """(x1, y1, x2, y2) of the object's pixels (label 1), pixel edges; an object-free frame is an error."""
    ys, xs = np.nonzero(labels == OBJECT)
    if len(xs) == 0:
        raise InputError(source, "palette", "no object pixels (label 1) in this frame")
    return np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], np.float64)


def square_crop_box(box: np.ndarray, width: int, height: int, pad: float = CROP_PAD) -> np.ndarray:
    """The seed's crop: a square of half-side (1 + 2 pad) x the box's larger half-extent, moved inside the image and,
    where it is still larger than the image, shrunk to the image's smaller side about its centre. Integer pixel edges."""
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    half = max(box[2] - box[0], box[3] - box[1]) / 2 * (1 + 2 * pad)
    half = min(half, width / 2, height / 2)
    cx, cy = min(max(cx, half), width - half), min(max(cy, half), height - half)
    x1, y1 = round(cx - half), round(cy - half)
    side = round(2 * half)
    x1, y1 = min(max(x1, 0), width - side), min(max(y1, 0), height - side)
    return np.array([x1, y1, x1 + side, y1 + side])


def keep_mask(labels: np.ndarray) -> np.ndarray:
    """uint8, 255 where the pixel is not the right hand (the seed's `det_mask`), 0 on the hand."""
    return np.where(labels == RIGHT_HAND, 0, 255).astype(np.uint8)


SEED_SIDE = 256  # the seed inpaints (and erodes the keep-mask) at 256 px


def kernel_at(kernel: int, side: int) -> int:
    """The odd kernel that grows the hole by the same share of the crop at `side` px as `kernel` does at the seed's
    256 (its 7x7 grows the hole by 3 px at 256, so by 1.5 -> 2 px, a 5x5, at 128); at least 1 (no growth)."""
    return 2 * round((kernel - 1) / 2 * side / SEED_SIDE) + 1


def dilated_hole(keep: np.ndarray, kernel: int = 7) -> np.ndarray:
    """The keep-mask eroded by a `kernel` x `kernel` square at 256 px (the seed's 7x7), scaled to the mask's side
    (`kernel_at`): the hand's hole grows by the same share of the crop at any crop size."""
    k = kernel_at(kernel, keep.shape[0])
    return cv2.erode(keep, np.ones((k, k), np.uint8))
