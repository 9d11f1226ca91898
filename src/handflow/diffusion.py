"""What the diffusion papers share: the noise schedule (saved with every diffusion network), its samplers, the loop, image tensors.

The schedule is a `NoiseSchedule` section inside each diffusion network's config, so it is
written into the model file with the network and the sampler of a loaded model is built
from the schedule it was trained with, never from a constant of the sampling code.
diffusers provides the schedulers themselves (`DDPMScheduler` for training's `add_noise`,
`DDIMScheduler` and `PNDMScheduler` for sampling); this module only fixes how the
papers configure them (imported where a scheduler is built: importing diffusers costs about 4 s of CPU
per process, through transformers and torch._dynamo, and the 25 evaluation and report stages of the pipeline
never build one; tests/test_shape.py checks that they do not import it):

- Affordance Diffusion and Diffusion-HPC train on GLIDE's cosine schedule (1000 steps,
  epsilon prediction), the default here. The cosine schedule's last step has beta 0.999,
  so alpha-bar at t = 999 is 2.4e-9 and any error in the predicted noise there is
  amplified 20,000-fold in x0: samplers use "leading" spacing with offset 1, which starts
  at 1000 - 1000 / steps + 1 and ends at t = 1, and the last update lands on alpha-bar 1
  (clean data). DDIM may clip the predicted x0 to the data's range, as GLIDE's
  `clip_denoised` does in its ancestral sampler; diffusers' PLMS has no such option.
- InterHandGen's schedule (linear betas over 129 steps, x0 prediction, offset 0) is the
  same section with its own values (`handflow.papers.interhandgen.diffusion`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np
import torch

from handflow.config import Section

if TYPE_CHECKING:
    from diffusers import DDIMScheduler, DDPMScheduler, PNDMScheduler

Eps = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (x_t, t) -> the network's prediction


@dataclass(frozen=True)
class NoiseSchedule(Section):
    """A diffusion model's training schedule (diffusers' names); defaults: GLIDE's cosine schedule, epsilon prediction."""

    num_train_timesteps: int = 1000
    beta_schedule: str = "squaredcos_cap_v2"
    beta_start: float = 1e-4  # linear schedules only
    beta_end: float = 0.02
    prediction_type: str = "epsilon"

    def training(self) -> DDPMScheduler:
        """The forward process (`add_noise`, `alphas_cumprod`)."""
        from diffusers import DDPMScheduler

        return DDPMScheduler(
            num_train_timesteps=self.num_train_timesteps,
            beta_start=self.beta_start,
            beta_end=self.beta_end,
            beta_schedule=self.beta_schedule,
            prediction_type=self.prediction_type,
            clip_sample=False,
        )

    def ddim(self, steps: int, clip: float | None = None, steps_offset: int = 1) -> DDIMScheduler:
        """Deterministic DDIM (eta 0) over `steps`, "leading" spacing; `clip` bounds the predicted x0 (None: unbounded)."""
        from diffusers import DDIMScheduler

        s = DDIMScheduler.from_config(
            self.training().config,
            clip_sample=clip is not None,
            clip_sample_range=clip or 1.0,
            timestep_spacing="leading",
            steps_offset=steps_offset,
            set_alpha_to_one=True,
        )
        s.set_timesteps(steps)
        return s

    def plms(self, steps: int) -> PNDMScheduler:
        """PLMS (diffusers' `PNDMScheduler` with the Runge-Kutta warm-up skipped), "leading" spacing with offset 1."""
        from diffusers import PNDMScheduler

        s = PNDMScheduler.from_config(
            self.training().config, skip_prk_steps=True, timestep_spacing="leading", steps_offset=1, set_alpha_to_one=True
        )
        s.set_timesteps(steps)
        return s


COSINE = NoiseSchedule()  # GLIDE's: Affordance Diffusion's and Diffusion-HPC's diffusion networks' default


@torch.no_grad()
def denoise(
    eps: Eps,
    x: torch.Tensor,
    scheduler: DDIMScheduler | PNDMScheduler,
    timesteps: Sequence[torch.Tensor] | None = None,
    after_step: Callable[[int, torch.Tensor], torch.Tensor] | None = None,
) -> torch.Tensor:
    """Run `scheduler` from `x` over `timesteps` (all of its own by default); `after_step(i, x)` may edit each update's result."""
    steps = list(scheduler.timesteps if timesteps is None else timesteps)
    for i, t in enumerate(steps):
        x = scheduler.step(eps(x, t), t, x).prev_sample
        if after_step is not None:
            x = after_step(i, x)
    return x


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """(N, S, S, 3) uint8 -> (N, 3, S, S) float in [-1, 1]."""
    return torch.as_tensor(images).permute(0, 3, 1, 2).float() / 127.5 - 1.0


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """(N, 3, S, S) in [-1, 1] -> (N, S, S, 3) uint8."""
    return ((images.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).cpu().numpy()


def resize_images(images: np.ndarray, size: int, nearest: bool = False) -> np.ndarray:
    """(N, S, S, ...) -> (N, size, size, ...): area averaging (nearest for label masks); unchanged at the same size."""
    if images.shape[1] == size:
        return images
    interp = cv2.INTER_NEAREST if nearest else cv2.INTER_AREA
    return np.stack([cv2.resize(im, (size, size), interpolation=interp) for im in images])
