"""How the judges no one here trained read a generated person: found or not, its mask, its pose against a body.

The seed masks people for H-FID/H-KID with Mask R-CNN and compares Inception features. Here
MediaPipe Pose (`handflow.judges.people`) finds the person and gives its segmentation (a
pixel is the person's where the mask exceeds 0.5; an image without a person is all black in
the H-variants, as the seed's), and EfficientNet-Lite0's ImageNet features
(`handflow.judges.features`) stand in for Inception's: FID and KID are named after it.

Pose agreement asks the question the paper's correction exists to answer: do the 2D
landmarks the judge finds on an image agree with a given body's projected keypoints (the
body the correction rendered for that sample)? It is PCK@0.1 of the image side over the
14 LSP keypoints visible in both (the judge's visibility above 0.5), per image, then the
mean over images; an image in which the judge finds no person scores 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from handflow.judges.features import ImageFeatures
from handflow.judges.people import PersonLandmarker

MASK_LEVEL = 0.5
VISIBLE = 0.5


@dataclass(frozen=True)
class PeopleReading:
    found: np.ndarray  # (N,) bool
    masks: np.ndarray  # (N, S, S) bool
    keypoints: np.ndarray  # (N, 14, 2) pixels, LSP order (NaN where no person)
    visible: np.ndarray  # (N, 14) bool


@dataclass
class Judges:
    people: PersonLandmarker
    features: ImageFeatures

    @staticmethod
    def from_packages(device: torch.device | None = None) -> Judges:
        """MediaPipe runs on the CPU (its CPU graph); the feature network on `device`."""
        return Judges(PersonLandmarker.from_package(), ImageFeatures.from_package(device))

    def provenance(self) -> dict[str, dict[str, str]]:
        return {"people": self.people.provenance(), "features": self.features.provenance()}

    def read(self, images: np.ndarray) -> PeopleReading:
        """The person in each of (N, S, S, 3) uint8 images."""
        n, side = len(images), images.shape[1]
        found, masks = np.zeros(n, bool), np.zeros((n, side, images.shape[2]), bool)
        keypoints, visible = np.full((n, 14, 2), np.nan), np.zeros((n, 14), bool)
        for i, person in enumerate(self.people(images)):
            if person is None:
                continue
            found[i], masks[i] = True, person.mask > MASK_LEVEL
            keypoints[i], vis = person.lsp()
            visible[i] = vis > VISIBLE
        return PeopleReading(found, masks, keypoints, visible)

    def features_of(self, images: np.ndarray, masks: np.ndarray | None = None) -> np.ndarray:
        """ImageNet features of the images; with `masks`, of the person alone on black (the H-variant)."""
        if masks is not None:
            images = np.where(masks[..., None], images, 0).astype(np.uint8)
        return self.features(images)


def pose_agreement(reading: PeopleReading, body_kp2d: np.ndarray, side: int, threshold: float = 0.1) -> float:
    """Mean PCK@`threshold` (x 100) between the judge's keypoints and (N, 14, 3) body keypoints (u, v, in view)."""
    both = reading.visible & (body_kp2d[..., 2] > 0)
    with np.errstate(invalid="ignore"):
        hit = (np.linalg.norm(reading.keypoints - body_kp2d[..., :2], axis=-1) < threshold * side) & both
    per_image = np.where(reading.found & both.any(1), hit.sum(1) / np.maximum(both.sum(1), 1), 0.0)
    return float(per_image.mean() * 100.0) if len(per_image) else float("nan")
