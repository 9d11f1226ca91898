"""How the judges no one here trained read a HOI image: is there a hand, do its fingertips touch the object, its features.

The seed reads contact with the 100DOH hand-object detector (a pretrained network). Here:
MediaPipe Hands (`handflow.judges.hands`) finds the hands; a hand is **in contact** when
one of its five fingertip landmarks lies on the object's visible pixels in the crop
(`obj_mask`, from the dataset's segmentation) dilated by `reach` x the image side (a
fingertip on the object's outline, or on the near edge of a part the hand hides). The
share of images with a hand is *hand present*, with a hand in contact *contact recall*.
FID and KID are computed on EfficientNet-Lite0's ImageNet features
(`handflow.judges.features`), not Inception's: they compare the table's rows, not the
paper's numbers. The reference rows calibrate both: the real HOI crops (every one has a
hand in contact) and the object image returned unchanged (none has a hand).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from handflow.judges.hands import FINGERTIPS, HandLandmarker


@dataclass(frozen=True)
class HandReading:
    present: np.ndarray  # (N,) bool: the judge found a hand
    contact: np.ndarray  # (N,) bool: a fingertip of a found hand on the (dilated) object


def dilated(masks: np.ndarray, reach: float) -> np.ndarray:
    """(N, S, S) bool masks grown by a disc of radius `reach` x S pixels (at least 1)."""
    radius = max(1, round(reach * masks.shape[-1]))
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    return np.stack([cv2.dilate(m.astype(np.uint8), disc) > 0 for m in masks]) if len(masks) else masks.astype(bool)


def read_hands(judge: HandLandmarker, images: np.ndarray, obj_mask: np.ndarray, reach: float) -> HandReading:
    """Hand presence and fingertip contact of (N, S, S, 3) uint8 images whose object occupies `obj_mask` (N, S, S)."""
    found = judge(images)
    near = dilated(obj_mask, reach)
    side = images.shape[2], images.shape[1]
    contact = np.zeros(len(images), bool)
    for i, hands in enumerate(found):
        for hand in hands:
            tips = np.round(hand.landmarks[list(FINGERTIPS)]).astype(int)
            inside = (tips[:, 0] >= 0) & (tips[:, 0] < side[0]) & (tips[:, 1] >= 0) & (tips[:, 1] < side[1])
            if near[i][tips[inside, 1], tips[inside, 0]].any():
                contact[i] = True
    return HandReading(np.array([bool(h) for h in found]), contact)
