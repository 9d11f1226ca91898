"""Sampling LayoutNet and ContentNet with diffusers' schedulers, and the seed's keypoint ("hijack") guidance.

The seed samples both networks with PLMS over 100 respaced steps and no classifier-free
guidance; `sampler` (plms | ddim) and `steps` are params here. PLMS is diffusers'
`PNDMScheduler` with its Runge-Kutta warm-up skipped (the seed's first three PRK updates
cost four network calls each); DDIM is deterministic (eta 0). Both come from the training
schedule's config, so they share its cosine alpha-bar.

Hijack guidance (seed reference section 4): some layout dimensions are given (a contact
point's x, y); after every update the given dimensions of the sample are replaced by the
given values noised to the next timestep, and by the values themselves after the last, so
the network only ever fills in the rest (size and direction) consistently with them.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from diffusers import DDIMScheduler, PNDMScheduler

from handflow.papers.affordance.layout import render_hard
from handflow.papers.affordance.train import noise_schedule

SAMPLERS = ("plms", "ddim")


def sampler(name: str, steps: int):
    base = noise_schedule().config
    # "trailing" starts at t = 999, the level the N(0, I) start is at; the last update lands on alpha-bar 1 (clean data)
    if name == "plms":
        s = PNDMScheduler.from_config(base, skip_prk_steps=True, timestep_spacing="trailing", set_alpha_to_one=True)
    elif name == "ddim":
        s = DDIMScheduler.from_config(base, clip_sample=False, timestep_spacing="trailing", set_alpha_to_one=True)
    else:
        raise ValueError(f"sampler {name!r}: one of {SAMPLERS}")
    s.set_timesteps(steps)
    return s


@torch.no_grad()
def run_sampler(
    eps_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    shape: tuple[int, ...],
    name: str,
    steps: int,
    g: torch.Generator,
    device: torch.device,
    fixed: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> torch.Tensor:
    """x_0 from N(0, I) noise of `shape`; `fixed` = (values, boolean mask over the last dimension) for hijack guidance."""
    s = sampler(name, steps)
    x = torch.randn(shape, generator=g).to(device)
    timesteps = list(s.timesteps)
    for i, t in enumerate(timesteps):
        x = s.step(eps_fn(x, t.to(device).reshape(1)), t, x).prev_sample
        if fixed is not None:
            values, mask = fixed
            if i + 1 < len(timesteps):
                noised = s.add_noise(values, torch.randn(values.shape, generator=g).to(device), timesteps[i + 1].reshape(1))
            else:
                noised = values
            x = torch.where(mask, noised, x)
    return x


def sample_layouts(net, obj: torch.Tensor, name: str, steps: int, g: torch.Generator,
                   fixed_xy: torch.Tensor | None = None) -> torch.Tensor:  # fmt: skip
    """(B, 5) layouts for object images (B, 3, S, S) in [-1, 1]; `fixed_xy` (B, 2) pins the hand's position (hijack)."""
    device = next(net.parameters()).device
    obj = obj.to(device)
    fixed = None
    if fixed_xy is not None:
        values = torch.zeros(len(obj), 5, device=device)
        values[:, :2] = fixed_xy.to(device)
        mask = torch.tensor([True, True, False, False, False], device=device)
        fixed = (values, mask)
    out = run_sampler(lambda x, t: net(x, t, obj), (len(obj), 5), name, steps, g, device, fixed)
    u = out[:, 3:5] / out[:, 3:5].norm(dim=1, keepdim=True).clamp_min(1e-6)  # the direction is a unit vector by definition
    return torch.cat([out[:, :3], u], dim=1).cpu()


def keep_masks(layouts: torch.Tensor | None, n: int, size: int) -> torch.Tensor:
    """(n, 1, S, S) hard keep-masks of layouts (the renderer's hard version, as the seed at test time); None: all ones."""
    if layouts is None:
        return torch.ones(n, 1, size, size)
    return torch.as_tensor(np.stack([render_hard(v, size) for v in layouts.double().numpy()]) / 255.0, dtype=torch.float32)[:, None]


def sample_content(net, obj: torch.Tensor, keep: torch.Tensor, name: str, steps: int, g: torch.Generator) -> torch.Tensor:
    """(B, 3, S, S) HOI images in [-1, 1] from object images and keep-masks."""
    device = next(net.parameters()).device
    obj, keep = obj.to(device), keep.to(device)
    out = run_sampler(lambda x, t: net(x, t, obj, keep), tuple(obj.shape), name, steps, g, device)
    return out.clamp(-1, 1).cpu()


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """(B, 3, S, S) in [-1, 1] -> (B, S, S, 3) uint8."""
    return ((images.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()
