"""Hand motions for every hand, in joint angles: procedural grasps and gestures, and InterHand2.6M's MANO sequences.

A motion is a trajectory of bs-rotations (reference A3: each joint's deviation from the
canonical flat hand, in its own twist/bend/splay axes), so the same motion means the same
anatomical finger angles on any hand; `from_bs` turns it into that hand's local rotations
(what its BVH stores). This is how MANO sequences are retargeted to the characters "by
joint angles", and how a clip is played by several characters (the intra-domain test's
ground truth: the test character and a training character play the same clips).

Procedural clips: keyposes (flat, fist, point, pinch, OK, spread, power and precision
grasps, counting), each jittered per clip, joined by smoothstep in (twist, bend, splay)
Euler angles at 60 fps, then subsampled by 12 to 5 fps as the seed does its Mixamo clips.
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy.spatial.transform import Rotation

from handflow.papers.s2h.hand import FINGERS

FPS = 60
SUBSAMPLE = 12  # 60 -> 5 fps, the seed's [::12]


def _pose(bend: dict[str, tuple[float, float, float]] | None = None, splay: dict[str, float] | None = None) -> np.ndarray:
    """(5, 3, 3) Euler (twist, bend, splay) in degrees per finger and joint; no twist (the seed's anatomical prior).

    Splay of a right hand's knuckle: positive turns the finger towards the thumb's side (checked on rendered characters:
    the index spreads with +, ring and pinky with -)."""
    out = np.zeros((5, 3, 3))
    for finger, angles in (bend or {}).items():
        out[FINGERS.index(finger), :, 1] = angles
    for finger, angle in (splay or {}).items():
        out[FINGERS.index(finger), 0, 2] = angle
    return out


CURLED = (80.0, 95.0, 60.0)
STRAIGHT = (0.0, 0.0, 0.0)
OTHERS = ("Middle", "Ring", "Pinky")
KEYPOSES = {
    "flat": _pose(),
    "fist": _pose({f: CURLED for f in FINGERS[:4]} | {"Thumb": (30.0, 40.0, 40.0)}, {"Thumb": -20.0}),
    "point": _pose({f: CURLED for f in OTHERS} | {"Index": STRAIGHT, "Thumb": (25.0, 35.0, 30.0)}, {"Thumb": -15.0}),
    "pinch": _pose({"Index": (45.0, 40.0, 20.0), "Thumb": (20.0, 20.0, 15.0)} | {f: (15.0, 20.0, 10.0) for f in OTHERS}, {"Thumb": -35.0}),
    "ok": _pose({"Index": (50.0, 60.0, 30.0), "Thumb": (25.0, 25.0, 25.0)}, {"Thumb": -35.0, "Ring": -5.0, "Pinky": -10.0}),
    "spread": _pose(splay={"Index": 15.0, "Ring": -10.0, "Pinky": -20.0, "Thumb": 25.0}),
    "power": _pose({f: (55.0, 60.0, 35.0) for f in FINGERS[:4]} | {"Thumb": (20.0, 30.0, 20.0)}, {"Thumb": -30.0}),
    "precision": _pose({f: (35.0, 30.0, 15.0) for f in FINGERS[:4]} | {"Thumb": (15.0, 15.0, 10.0)}, {"Thumb": -40.0}),
    "two": _pose({f: CURLED for f in ("Ring", "Pinky")} | {"Thumb": (25.0, 35.0, 30.0)}, {"Index": 8.0}),
    "three": _pose({"Pinky": CURLED, "Thumb": (25.0, 35.0, 30.0)}, {"Index": 8.0, "Ring": -6.0}),
    "claw": _pose({f: (10.0, 70.0, 60.0) for f in FINGERS[:4]}, {"Index": 8.0, "Pinky": -12.0}),
}


def euler_to_bs(euler_deg: np.ndarray) -> np.ndarray:
    """(..., 5, 3, 3) Euler XYZ (twist, bend, splay) degrees -> (..., 15, 3, 3) bs-rotation matrices, finger-major."""
    flat = euler_deg.reshape(-1, 3)
    mats = Rotation.from_euler("XYZ", flat, degrees=True).as_matrix()
    return mats.reshape(*euler_deg.shape[:-3], 15, 3, 3)


def procedural_clip(rng: np.random.Generator, n_keys: int = 4, jitter_deg: float = 8.0) -> np.ndarray:
    """(T, 5, 3, 3) Euler angles of one clip at 60 fps: `n_keys` jittered keyposes joined by smoothstep, then held."""
    names = list(KEYPOSES)
    keys = [
        KEYPOSES[names[rng.integers(len(names))]] + rng.normal(0.0, jitter_deg, (5, 3, 3)) * np.array([0.0, 1.0, 0.5])
        for _ in range(n_keys)
    ]
    frames = []
    for a, b in itertools.pairwise(keys):
        n = int(rng.integers(int(0.5 * FPS), int(1.2 * FPS)))
        s = np.linspace(0.0, 1.0, n, endpoint=False)
        s = s * s * (3 - 2 * s)
        frames.append(a[None] + s[:, None, None, None] * (b - a)[None])
    frames.append(np.repeat(keys[-1][None], int(rng.integers(FPS // 4, FPS // 2)), 0))
    return np.concatenate(frames)
