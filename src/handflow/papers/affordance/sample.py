"""Sampling LayoutNet and ContentNet with diffusers' schedulers, and the seed's keypoint ("hijack") guidance.

The seed samples both networks with PLMS over 100 respaced steps and no classifier-free
guidance; `sampler` (plms | ddim) and `steps` are params here. PLMS is diffusers'
`PNDMScheduler` with its Runge-Kutta warm-up skipped (the seed's first three PRK updates
cost four network calls each); DDIM is deterministic (eta 0). Both are built from the
schedule the network was trained with (its config's, saved in its model file; see
`handflow.diffusion` for the spacing).

Hijack guidance (seed reference section 4): some layout dimensions are given (a contact
point's x, y); after every update the given dimensions of the sample are replaced by the
given values noised to the next timestep, and by the values themselves after the last, so
the network only ever fills in the rest (size and direction) consistently with them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from handflow.config import Section
from handflow.diffusion import NoiseSchedule, denoise
from handflow.papers.affordance.layout import render_hard

SAMPLERS = ("plms", "ddim")
LAYOUT_CLIP = 1.5  # |x|, |y|, |u| <= 1 and sqrt(4 r / W) <= 1.5 (a hand box up to 1.1 image widths)


@dataclass(frozen=True)
class SampleConfig(Section):
    """params `affordance.sample`: the seed samples with PLMS over 100 steps, `test_num` samples per object image."""

    sampler: str  # ddim | plms
    steps: int
    n_seeds: int  # samples per held-out object image; the table's ± is over these
    batch_size: int


def sampler(schedule: NoiseSchedule, name: str, steps: int, clip: float | None = None):
    """A diffusers sampler on the model's training schedule (`handflow.diffusion`); `clip` bounds the predicted x0 (DDIM only)."""
    if name == "plms":
        return schedule.plms(steps)
    if name == "ddim":
        return schedule.ddim(steps, clip)
    raise ValueError(f"sampler {name!r}: one of {SAMPLERS}")


def run_sampler(
    eps_fn,
    schedule: NoiseSchedule,
    shape: tuple[int, ...],
    name: str,
    steps: int,
    g: torch.Generator,
    device: torch.device,
    fixed: tuple[torch.Tensor, torch.Tensor] | None = None,
    clip: float | None = None,
) -> torch.Tensor:
    """x_0 from N(0, I) noise of `shape`; `fixed` = (values, boolean mask over the last dimension) for hijack guidance."""
    s = sampler(schedule, name, steps, clip)
    x = torch.randn(shape, generator=g).to(device)
    timesteps = list(s.timesteps)

    def hijack(i: int, x: torch.Tensor) -> torch.Tensor:
        values, mask = fixed
        if i + 1 < len(timesteps):
            noised = s.add_noise(values, torch.randn(values.shape, generator=g).to(device), timesteps[i + 1].reshape(1))
        else:
            noised = values
        return torch.where(mask, noised, x)

    return denoise(lambda x, t: eps_fn(x, t.to(device).reshape(1)), x, s, timesteps, hijack if fixed is not None else None)


def sample_layouts(net, obj: torch.Tensor, name: str, steps: int, g: torch.Generator, fixed_xy: torch.Tensor | None = None) -> torch.Tensor:
    """(B, 5) layouts for object images (B, 3, S, S) in [-1, 1]; `fixed_xy` (B, 2) pins the hand's position (hijack)."""
    device = next(net.parameters()).device
    obj = obj.to(device)
    fixed = None
    if fixed_xy is not None:
        values = torch.zeros(len(obj), 5, device=device)
        values[:, :2] = fixed_xy.to(device)
        mask = torch.tensor([True, True, False, False, False], device=device)
        fixed = (values, mask)
    out = run_sampler(lambda x, t: net(x, t, obj), net.cfg.schedule, (len(obj), 5), name, steps, g, device, fixed, LAYOUT_CLIP)
    u = out[:, 3:5] / out[:, 3:5].norm(dim=1, keepdim=True).clamp_min(1e-6)  # the direction is a unit vector by definition
    return torch.cat([out[:, :3], u], dim=1).cpu()


def keep_masks(layouts: torch.Tensor | None, n: int, size: int) -> torch.Tensor:
    """(n, 1, S, S) hard keep-masks of layouts (the renderer's hard version, as the seed at test time); None: all ones."""
    if layouts is None:
        return torch.ones(n, 1, size, size)
    return torch.as_tensor(np.stack([render_hard(v, size) for v in layouts.double().numpy()]) / 255.0, dtype=torch.float32)[:, None]


def sample_content(net, obj: torch.Tensor, keep: torch.Tensor, name: str, steps: int, g: torch.Generator) -> torch.Tensor:
    """(B, 3, S, S) HOI images in [-1, 1] from object images and keep-masks (through the autoencoder for the LDM variant)."""
    device = next(net.parameters()).device
    codec = getattr(net, "codec", None)
    schedule = net.cfg.schedule
    if codec is not None:  # sample latents (unbounded: no x0 clip), then decode
        codec.to(device)
        z_obj = codec.encode(obj.to(device))
        z_keep = torch.nn.functional.interpolate(keep.to(device), size=z_obj.shape[-2:], mode="area")
        z = run_sampler(lambda x, t: net(x, t, z_obj, z_keep), schedule, tuple(z_obj.shape), name, steps, g, device, clip=None)
        return codec.decode(z).clamp(-1, 1).cpu()
    obj, keep = obj.to(device), keep.to(device)
    out = run_sampler(lambda x, t: net(x, t, obj, keep), schedule, tuple(obj.shape), name, steps, g, device, clip=1.0)
    return out.clamp(-1, 1).cpu()
