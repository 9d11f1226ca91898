"""The seed's synthetic training set (`generate_dataset.py` with real guidance and SPIN pose augmentation).

Each few-shot real frame is a guide: its person mask and regressed body, k bodies from the
seed's pose augmentation (`generate.augment`), each body's depth, and the guide regenerated
under that depth with its action's caption (fresh noise inside the person and body region,
strength as params). A sample's label is the body that made its depth: pose, shape, root
translation, its 14 keypoints in 3D and projected (the seed's `spin_gt.pkl`). A guide in
which the mask network finds no person is skipped (the seed's -1) and counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from handflow.config import Section
from handflow.diffusion import to_tensor, to_uint8
from handflow.errors import ComputationError
from handflow.papers.dhpc.dataset import Split
from handflow.papers.dhpc.generate import augment, person_masks, regress, render_depth
from handflow.papers.dhpc.generators import SampleConfig, as_generator
from handflow.papers.dhpc.poses import ACTIONS, TEMPLATES
from handflow.papers.dhpc.posing import posed_keypoints
from handflow.papers.dhpc.render import depth_map
from handflow.papers.dhpc.samples import write
from handflow.papers.dhpc.skeleton import BodyModel


@dataclass(frozen=True)
class SyntheticConfig(Section):
    """params `dhpc.synthetic`: the seed's defaults are k 3, strength 0.7, 50 steps."""

    k: int
    strength: float
    min_person_fraction: float
    sample: SampleConfig


def synthesize_set(
    guides: Split, nets: dict, cfg: SyntheticConfig, g: torch.Generator, backend: str, body: BodyModel, out: Path, provenance: dict
) -> dict[str, float]:
    images = to_tensor(guides.image)
    size = images.shape[-1]
    masks = person_masks(nets["mask"], images)
    found = np.flatnonzero(masks.flatten(1).float().mean(1).numpy() >= cfg.min_person_fraction)
    if len(found) == 0:
        raise ComputationError(f"synthetic set: the mask network finds a person in none of the {len(images)} guide frames")
    bodies = regress(nets["hmr"], images[found])
    many = augment(bodies, nets["prior"], cfg.k, g)
    guide = np.repeat(found, cfg.k)
    depth_mm, kp2d = render_depth(body, many, size, backend)
    depth = torch.as_tensor(np.stack([depth_map(d) for d in depth_mm]))[:, None]
    names = list(ACTIONS)
    templates = torch.randint(len(TEMPLATES), (len(guide),), generator=g).tolist()
    prompts = [TEMPLATES[t].format(ACTIONS[names[guides.action[i]]].phrase) for t, i in zip(templates, guide, strict=True)]
    region = masks[guide] | torch.as_tensor(depth_mm > 0)
    gen = as_generator(nets["depth"])
    regenerated = gen.regenerate(images[guide], region, depth, prompts, "synthetic prompts", cfg.strength, True, cfg.sample, g)
    with torch.no_grad():
        kp3d = posed_keypoints(body, many.pose, many.shape, many.trans).numpy()
    n = len(guide)
    arrays = {
        "image": to_uint8(regenerated),
        "mask": depth_mm > 0,
        "depth": depth_mm,
        "background": np.zeros((n, size, size, 3), np.uint8),
        "kp2d": kp2d,
        "kp3d": kp3d.astype(np.float32),
        "pose": many.pose.numpy().astype(np.float32),
        "shape": many.shape.numpy().astype(np.float32),
        "trans": many.trans.numpy().astype(np.float32),
        "focal": np.full(n, 1.2 * size, np.float32),
        "action": guides.action[guide],
        "guide": guide,
    }
    skipped = sorted(set(range(len(images))) - set(found.tolist()))
    write(out, "synthetic", arrays, prompts, {"provenance": provenance, "generator": gen.describe(), "skipped_guides": skipped})
    return {"n_samples": float(n), "n_guides": float(len(found)), "n_skipped": float(len(images) - len(found))}
