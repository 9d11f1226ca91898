"""Actions: pose recipes (hard, athletic ones and everyday ones), their sampling, and the captions made from them.

A recipe is the mean axis-angle (degrees, anny's world-aligned "local-ref" axes: x the
body's left, y its back, z up) of the joints it moves; a pose is the recipe plus
Gaussian jitter of `jitter_deg` on every posed joint and a random heading. The
prompt templates are the seed's `generate_dataset.py` templates, filled in with the
action's phrase, so captions read "a photo of an athlete doing a handstand".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from handflow.papers.dhpc.skeleton import N_POSED, POSED

# the seed's templates (generate_dataset.py)
TEMPLATES = (
    "a picture of an athlete {}",
    "a photo of an athlete {}",
    "a low resolution picture of a person {}",
    "a blurry image of an athlete {}",
    "a nice shot of a person {}",
    "a side shot of a person {}",
    "a high speed shot of a person {}",
    "a slow motion shot of a person {}",
)


@dataclass(frozen=True)
class Action:
    phrase: str  # what fills the template
    hard: bool  # athletic: the poses text-to-image models get wrong (the seed's "hard" grid)
    joints: dict[str, tuple[float, float, float]]  # degrees, unlisted joints 0


_ARMS_DOWN = {"upperarm01.L": (0, 35, 0), "upperarm01.R": (0, -35, 0)}
ACTIONS: dict[str, Action] = {
    "standing": Action("standing", False, dict(_ARMS_DOWN)),
    "walking": Action(
        "walking",
        False,
        {
            **_ARMS_DOWN,
            "upperleg01.L": (-25, 0, 0),
            "upperleg01.R": (20, 0, 0),
            "lowerleg01.R": (30, 0, 0),
            "upperarm01.R": (-20, -35, 0),
            "upperarm01.L": (20, 35, 0),
        },
    ),
    "waving": Action(
        "waving", False, {"upperarm01.L": (0, 35, 0), "upperarm01.R": (0, 80, 0), "lowerarm01.R": (0, 0, 0), "lowerarm01.L": (-20, 0, 0)}
    ),
    "raising both arms": Action("raising both arms", False, {"upperarm01.L": (0, -80, 0), "upperarm01.R": (0, 80, 0)}),
    "squatting": Action(
        "squatting",
        False,
        {
            **_ARMS_DOWN,
            "upperleg01.L": (-100, 0, 0),
            "upperleg01.R": (-100, 0, 0),
            "lowerleg01.L": (110, 0, 0),
            "lowerleg01.R": (110, 0, 0),
            "spine03": (30, 0, 0),
            "upperarm01.L": (-70, 20, 0),
            "upperarm01.R": (-70, -20, 0),
        },
    ),
    "running": Action(
        "running",
        True,
        {
            "upperleg01.L": (-60, 0, 0),
            "lowerleg01.L": (70, 0, 0),
            "upperleg01.R": (30, 0, 0),
            "lowerleg01.R": (100, 0, 0),
            "upperarm01.L": (40, 30, 0),
            "lowerarm01.L": (-80, 0, 0),
            "upperarm01.R": (-50, -30, 0),
            "lowerarm01.R": (-80, 0, 0),
            "spine03": (15, 0, 0),
        },
    ),
    "kicking a ball": Action(
        "kicking a ball",
        True,
        {**_ARMS_DOWN, "upperleg01.L": (-95, 0, 0), "upperarm01.R": (0, 50, 0), "upperarm01.L": (0, 60, 0), "spine03": (-15, 0, 0)},
    ),
    "doing a handstand": Action(
        "doing a handstand",
        True,
        {
            "root": (180, 0, 0),
            "upperarm01.L": (0, -85, 0),
            "upperarm01.R": (0, 85, 0),
            "upperleg01.L": (0, 8, 0),
            "upperleg01.R": (0, -8, 0),
        },
    ),
    "doing a cartwheel": Action(
        "doing a cartwheel",
        True,
        {
            "root": (0, 90, 0),
            "upperarm01.L": (0, -80, 0),
            "upperarm01.R": (0, 80, 0),
            "upperleg01.L": (0, -35, 0),
            "upperleg01.R": (0, 35, 0),
        },
    ),
    "doing a split leap": Action(
        "doing a split leap",
        True,
        {
            "upperleg01.L": (-85, 0, 0),
            "upperleg01.R": (80, 0, 0),
            "upperarm01.L": (0, -70, 0),
            "upperarm01.R": (0, 70, 0),
            "spine03": (-10, 0, 0),
        },
    ),
    "diving": Action(
        "diving",
        True,
        {
            "root": (100, 0, 0),
            "upperarm01.L": (0, -85, 0),
            "upperarm01.R": (0, 85, 0),
            "upperleg01.L": (-30, 0, 0),
            "upperleg01.R": (-30, 0, 0),
        },
    ),
    "jumping": Action(
        "jumping",
        True,
        {
            "upperleg01.L": (-70, 0, 0),
            "upperleg01.R": (-70, 0, 0),
            "lowerleg01.L": (100, 0, 0),
            "lowerleg01.R": (100, 0, 0),
            "upperarm01.L": (0, -60, 0),
            "upperarm01.R": (0, 60, 0),
        },
    ),
}
HARD = tuple(k for k, a in ACTIONS.items() if a.hard)


def recipe(name: str) -> np.ndarray:
    """(N_POSED, 3) radians: the action's mean pose."""
    out = np.zeros((N_POSED, 3))
    for joint, deg in ACTIONS[name].joints.items():
        out[POSED.index(joint)] = np.deg2rad(deg)
    return out


def sample_poses(names: list[str], jitter_deg: float, heading_deg: float, rng: np.random.Generator) -> np.ndarray:
    """(N, N_POSED, 3) radians: each named action's recipe, jittered, turned about the vertical by U(-h, h)."""
    from scipy.spatial.transform import Rotation

    poses = np.stack([recipe(n) for n in names]) + rng.normal(0.0, np.deg2rad(jitter_deg), (len(names), N_POSED, 3))
    heading = Rotation.from_euler("z", rng.uniform(-heading_deg, heading_deg, (len(names), 1)), degrees=True)
    poses[:, 0] = (heading * Rotation.from_rotvec(poses[:, 0])).as_rotvec()
    return poses


def caption(action: str, rng: np.random.Generator) -> str:
    return TEMPLATES[rng.integers(len(TEMPLATES))].format(ACTIONS[action].phrase)
