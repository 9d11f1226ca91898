"""The paper's pose-conditioned generation table (the seed's `mpii_gen.py` / `smart_gen.py`, section B4).

For each real frame with a fitted body (the seed: EFT's SMPL fit of an MPII or SMART crop),
the body's depth conditions the depth model three ways, the seed's guidance flags:

- `posegen_ours` (use_real + use_text): the real frame is the initial image (fresh noise in the
  person and body region, `strength` of the schedule), the frame's caption the prompt;
- `posegen_notext` (use_real only): the same with the null prompt;
- `posegen_nor` (use_text only): from pure noise (strength 1, the whole image random), the caption.

The bodies: a frame's own body where the file has one (the real-style renders are rendered
from theirs, so it fits exactly: EFT's role); otherwise (the user's COCO frames, which have
no body) the regressor's fit of the frame, its depth rendered as the correction renders it.

Guides and reference (a deliberate change): the seed generates from every real crop and
compares with those same crops, where copying the guide would score a perfect 0. Here the
real test frames are split in two: the first half guides the generation, the second half is
the reference every row is scored against, so the guide frames themselves are the floor row
(real frames of the same distribution, not the same images) and copying cannot win.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from handflow.config import Section
from handflow.diffusion import to_tensor, to_uint8
from handflow.errors import InputError
from handflow.papers.dhpc.dataset import Split, read_split
from handflow.papers.dhpc.generate import regress, render_depth
from handflow.papers.dhpc.generators import SampleConfig, as_generator
from handflow.papers.dhpc.render import depth_map
from handflow.papers.dhpc.samples import write
from handflow.papers.dhpc.skeleton import BodyModel
from handflow.papers.dhpc.variants import POSEGEN_ROWS

GROUP = "posegen"


@dataclass(frozen=True)
class PosegenConfig(Section):
    """params `dhpc.posegen`."""

    strength: float  # use_real: the share of the schedule run from the real frame (the correction's 0.7)


def halves(split: Split) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the guide frames (first half) and the reference frames (second half) of the real test split."""
    n = len(split)
    if n < 4:
        raise InputError("real_test", "image", f"{n} frames: the pose-conditioned table needs at least 4 (2 guides, 2 references)")
    return np.arange(n // 2), np.arange(n // 2, n)


def guide_bodies(guides: Split, hmr, body: BodyModel, backend: str) -> tuple[np.ndarray, np.ndarray, str]:
    """Depth (N, S, S) mm and keypoints (N, 14, 3) of each guide's body: its own where every frame has one, else the regressor's."""
    if (guides.depth > 0).any(axis=(1, 2)).all():
        return guides.depth, guides.kp2d, "the frames' own bodies (EFT's role)"
    depth, kp2d = render_depth(body, regress(hmr, to_tensor(guides.image)), guides.image.shape[1], backend)
    return depth, kp2d, "the regressor's fit of each frame (the frames have no body)"


def generate_posegen(
    real: Path,
    nets: dict,
    cfg: PosegenConfig,
    sample: SampleConfig,
    n_seeds: int,
    seed: int,
    backend: str,
    body: BodyModel,
    out: Path,
    provenance: dict,
) -> dict[str, float]:
    """Every row of the table, `n_seeds` draws each, from the guide half of `real`'s test split; nets: depth, hmr."""
    test = read_split(real, "real_test")
    guide_idx, _ = halves(test)
    guides = Split(**{k: v[guide_idx] if k != "caption" else [v[i] for i in guide_idx] for k, v in vars(test).items() if k != "has_3d"})
    depth_mm, kp2d, bodies = guide_bodies(guides, nets["hmr"], body, backend)
    depth = torch.as_tensor(np.stack([depth_map(d) for d in depth_mm]))[:, None]
    images = to_tensor(guides.image)
    region = torch.as_tensor(guides.mask | (depth_mm > 0))
    gen = as_generator(nets["depth"])
    n = len(guide_idx)
    runs = {
        "posegen_ours": (images, region, list(guides.caption), cfg.strength),
        "posegen_notext": (images, region, [None] * n, cfg.strength),  # None: the null text
        "posegen_nor": (torch.zeros_like(images), torch.ones_like(region), list(guides.caption), 1.0),
    }
    arrays: dict[str, list] = {"image": [], "seed": [], "row": [], "guide": [], "kp2d": []}
    prompts: list[str] = []
    for r, (row, (start, where, text, strength)) in enumerate(runs.items()):
        for k in range(n_seeds):
            g = torch.Generator().manual_seed(seed * 1000 + 100 * r + k)
            drawn = gen.regenerate(start, where, depth, text, f"{real}:real_test/caption", strength, True, sample, g)
            arrays["image"].append(to_uint8(drawn))
            arrays["seed"].append(np.full(n, k))
            arrays["row"].append(np.full(n, list(POSEGEN_ROWS).index(row)))
            arrays["guide"].append(guide_idx)
            arrays["kp2d"].append(kp2d)
            prompts += [t or "" for t in text]
    attrs = {"provenance": provenance, "generator": gen.describe(), "bodies": bodies, "rows": list(runs), "guides": n}
    write(out, GROUP, {k: np.concatenate(v) for k, v in arrays.items()}, prompts, attrs)
    return {"n_images": float(len(prompts)), "n_guides": float(n)}
