"""Joint orders and the conversions between them.

Three orders meet in this project:

* MANO (16, the kinematic tree smplx returns): 0 wrist, 1-3 index, 4-6 middle,
  7-9 pinky, 10-12 ring, 13-15 thumb; fingertips are mesh vertices added after.
* InterHand2.6M (21 per hand; right 0-20, left 21-41): per finger tip first
  (thumb4, thumb3, thumb2, thumb1, index4..1, middle4..1, ring4..1, pinky4..1),
  the wrist last (20 / 41). This is the order of the dataset's `joint_3d.json`.
* OpenPose/"MANO 21" (InterHandGen, IntagHand, HaMeR): wrist, thumb1-4, index1-4,
  middle1-4, ring1-4, pinky1-4 (so joint 9 is the middle-finger knuckle).

Index arrays below are "take" maps: `joints_b = joints_a[..., A_TO_B, :]`.
"""

from __future__ import annotations

import numpy as np

FINGERS = ("thumb", "index", "middle", "ring", "pinky")

MANO16_NAMES = (
    "wrist",
    "index1",
    "index2",
    "index3",
    "middle1",
    "middle2",
    "middle3",
    "pinky1",
    "pinky2",
    "pinky3",
    "ring1",
    "ring2",
    "ring3",
    "thumb1",
    "thumb2",
    "thumb3",
)
TIP_NAMES = tuple(f"{f}4" for f in FINGERS)
# joints as `HandModel` computes them: the 16 MANO joints, then tips thumb..pinky
MANO21_NAMES = MANO16_NAMES + TIP_NAMES

IH26M_NAMES = (*(f"{f}{k}" for f in FINGERS for k in (4, 3, 2, 1)), "wrist")
OPENPOSE_NAMES = ("wrist", *(f"{f}{k}" for f in FINGERS for k in (1, 2, 3, 4)))

HAND_OFFSET = {"right": 0, "left": 21}


def _take(src: tuple[str, ...], dst: tuple[str, ...]) -> np.ndarray:
    return np.array([src.index(n) for n in dst])


MANO21_TO_IH26M = _take(MANO21_NAMES, IH26M_NAMES)
MANO21_TO_OPENPOSE = _take(MANO21_NAMES, OPENPOSE_NAMES)
IH26M_TO_OPENPOSE = _take(IH26M_NAMES, OPENPOSE_NAMES)
OPENPOSE_TO_IH26M = _take(OPENPOSE_NAMES, IH26M_NAMES)


def ih26m_parents() -> np.ndarray:
    """Parent of each of the 42 InterHand2.6M joints (-1 for the wrists), as in skeleton.txt."""
    per_hand = []
    for name in IH26M_NAMES:
        if name == "wrist":
            per_hand.append(-1)
        elif name.endswith("1"):
            per_hand.append(IH26M_NAMES.index("wrist"))
        else:
            per_hand.append(IH26M_NAMES.index(name[:-1] + str(int(name[-1]) - 1)))
    right = np.array(per_hand)
    left = np.where(right >= 0, right + 21, -1)
    return np.concatenate([right, left])


def skeleton_lines() -> list[str]:
    """Lines of InterHand2.6M's skeleton.txt (name, id, parent)."""
    parents = ih26m_parents()
    lines = ["# keypoint name, keypoint index, parent index"]
    for side, prefix in (("right", "r"), ("left", "l")):
        for i, name in enumerate(IH26M_NAMES):
            jid = HAND_OFFSET[side] + i
            lines.append(f"{prefix}_{name} {jid} {parents[jid]}")
    return lines
