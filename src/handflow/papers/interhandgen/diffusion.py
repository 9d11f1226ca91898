"""Training losses and samplers for the cascade and the joint baseline; schedules from diffusers.

Schedule (the seed's): linear betas 1e-4 -> 1e-2 over T = 129 steps; training
adds noise with `DDPMScheduler.add_noise`, sampling runs `DDIMScheduler`
(eta = 0, "leading" spacing: 42 steps 123, 120, ..., 0, exactly the seed's).
The model predicts x0 (`prediction_type="sample"`).

Deliberate differences from the seed, each a documented decision:
* DDIM update: the standard one (epsilon implied by x0 and x_t), not the seed's
  `sqrt(a_next) x0 + c2 (x0 - x_t)` variant inherited from DiffPose.
* The add hand starts from its own noise, not the anchor's.
* Conditioning dropout: the seed's unconditional branch only ever sees anchors,
  with no loss on the placement dims, yet its CFG acts on exactly those dims (so it
  extrapolates away from an untrained output). Here a fraction `p_uncond` of the
  add-hand examples also drop their condition, so the unconditional output of the
  placement dims is the marginal placement, trained.
* The schedule never reaches pure noise (alpha_bar_123 = 0.55) and sampling starts
  from N(0, I) as the seed does; with std-normalised data that matches the first two
  moments of x_T's marginal, not its conditional.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from handflow.compute import CPU, Compute
from handflow.diffusion import NoiseSchedule
from handflow.papers.interhandgen.apg import ApgConfig, PenetrationLoss, step_sizes
from handflow.papers.interhandgen.networks import Denoiser, SeparateDenoisers
from handflow.papers.interhandgen.representation import HAND_DIMS, PLACEMENT, TRANS, Normalizer, TwoHandDecoder

if TYPE_CHECKING:  # diffusers is imported where a scheduler or network is built (see handflow.diffusion)
    from diffusers import DDIMScheduler, DDPMScheduler


@dataclass(frozen=True)
class ScheduleConfig(NoiseSchedule):
    """params `interhandgen.diffusion`: the seed's schedule (saved in every denoiser's model file) and its sampling steps."""

    num_train_timesteps: int = 129
    beta_schedule: str = "linear"
    beta_end: float = 1e-2
    prediction_type: str = "sample"
    sampling_steps: int = 42

    def sampling(self) -> DDIMScheduler:
        """DDIM, eta 0, "leading" spacing with no offset: 123, 120, ..., 0 at 42 steps, exactly the seed's."""
        return self.ddim(self.sampling_steps, clip=None, steps_offset=0)


def antithetic_timesteps(n: int, num_train_timesteps: int, generator: torch.Generator) -> torch.Tensor:
    """Half uniform steps, half their mirror T-1-t (the seed's variance reduction)."""
    half = torch.randint(0, num_train_timesteps, (n // 2 + 1,), generator=generator)
    return torch.cat([half, num_train_timesteps - 1 - half])[:n]


def cascade_loss(
    model: Denoiser, sched: DDPMScheduler, anchor: torch.Tensor, add: torch.Tensor, p_uncond: float, generator: torch.Generator
) -> torch.Tensor:
    """One network, two roles (or two networks, `SeparateDenoisers`): the anchor unconditionally (pose and shape dims),
    the add hand given the anchor."""
    n = len(anchor)
    dev = anchor.device  # random draws come from the CPU generator, then move: the same stream on any device
    t = antithetic_timesteps(n, sched.config.num_train_timesteps, generator).to(dev)
    noise = torch.randn(2 * n, anchor.shape[1], generator=generator).to(dev)
    noisy = sched.add_noise(torch.cat([anchor, add]), noise, torch.cat([t, t]))
    cond = anchor[:, :HAND_DIMS] * (torch.rand(n, 1, generator=generator) >= p_uncond).to(dev)
    if isinstance(model, SeparateDenoisers):  # each role its own network
        pred = torch.cat([model(noisy[:n], t), model(noisy[n:], t, cond)])
    else:
        pred = model(noisy, torch.cat([t, t]), torch.cat([torch.zeros_like(cond), cond]))
    loss_anchor = torch.nn.functional.mse_loss(pred[:n, :HAND_DIMS], anchor[:, :HAND_DIMS])
    return loss_anchor + torch.nn.functional.mse_loss(pred[n:], add)


def joint_loss(model: Denoiser, sched: DDPMScheduler, anchor: torch.Tensor, add: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """The non-cascaded baseline: both hands (anchor pose/shape + add's 64) denoised together."""
    x0 = torch.cat([anchor[:, :HAND_DIMS], add], dim=1)
    t = antithetic_timesteps(len(x0), sched.config.num_train_timesteps, generator).to(x0.device)
    noisy = sched.add_noise(x0, torch.randn(x0.shape, generator=generator).to(x0.device), t)
    return torch.nn.functional.mse_loss(model(noisy, t), x0)


def _denoise(sched: DDIMScheduler, x: torch.Tensor, predict_x0: Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor]) -> torch.Tensor:
    """DDIM from x (= x_T) with a caller-supplied (guided) x0 prediction; returns the final x0."""
    x0 = x
    # the step's integer from a host list, the model's from the scheduler's (device) tensor: no sync per step
    for k, (step, t) in enumerate(zip(sched.timesteps.tolist(), sched.timesteps, strict=True)):
        x0 = predict_x0(x, t.expand(len(x)), k)
        x = sched.step(x0, step, x, eta=0.0).prev_sample
    return x0


@dataclass(frozen=True)
class Guidance:
    cfg_weight: float = 0.1  # x0 = x0_c + w (x0_c - x0_u) on the placement dims (the seed's)
    apg: ApgConfig | None = None


class CascadeSampler:
    """Anchor unconditionally, then the add hand conditioned on it, with CFG and APG, on `compute`'s device.

    Noise is drawn on the CPU generator and moved, so a seed gives the same draws on any device; the
    denoiser's passes run in `compute.autocast()`, APG's hand geometry in float64 outside it. The
    decoder must be on the same device (`make_sampler` puts it there).
    """

    def __init__(
        self,
        model: Denoiser,
        normalizer: Normalizer,
        decoder: TwoHandDecoder,
        schedule: ScheduleConfig,
        guidance: Guidance,
        penetration_loss: Callable[..., torch.Tensor] | None = None,
        compute: Compute = CPU,
    ):
        """`penetration_loss(v_left, j_left, v_right, j_right)` replaces the batched APG loss (the benchmark passes the seed's)."""
        self.model, self.normalizer, self.decoder = compute.prepare(model.eval()), normalizer, decoder
        self.compute = compute
        self.sched = schedule.sampling()
        self.sched.set_timesteps(schedule.sampling_steps, device=compute.device)
        self.guidance = guidance
        apg = guidance.apg
        self.pen = (penetration_loss or PenetrationLoss(decoder.left, decoder.right, apg.rho, apg.weight, apg.margin)) if apg else None
        if apg:
            steps = step_sizes(apg, len(self.sched.timesteps), normalizer.mean.size, TRANS)
            # The seed steps in its variance-normalised space, i.e. d(raw) = -s var^2 grad_raw. We normalise by the std,
            # so a step preconditioned by var^2 in raw units keeps the seed's step sizes meaningful unchanged.
            self.raw_steps = (steps * torch.as_tensor(normalizer.std, dtype=torch.float64) ** 4).to(compute.device)

    def _model(self, *args: torch.Tensor) -> torch.Tensor:
        with self.compute.autocast():
            return self.model(*args).float()

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """(n, 64) raw anchor and add-hand vectors, on the device; `generator` is a CPU one."""
        dim, dev = self.normalizer.mean.size, self.compute.device
        fixed = torch.as_tensor(self.normalizer.anchor_placement(), dtype=torch.float32, device=dev)

        def anchor_x0(x, t, k):
            x0 = self._model(x, t)
            x0[:, PLACEMENT] = fixed
            return x0

        anchor = _denoise(self.sched, torch.randn(n, dim, generator=generator).to(dev), anchor_x0)
        cond = anchor[:, :HAND_DIMS]
        anchor_raw = self.normalizer.denormalize(anchor.double())
        if self.pen is not None:
            v_left, j_left = self.decoder.hand(self.decoder.left, anchor_raw)

        def add_x0(x, t, k):
            w = self.guidance.cfg_weight
            if w:
                both = self._model(torch.cat([x, x]), torch.cat([t, t]), torch.cat([cond, torch.zeros_like(cond)]))
                x0, x0_u = both[:n], both[n:]
                x0[:, PLACEMENT] = x0[:, PLACEMENT] + w * (x0[:, PLACEMENT] - x0_u[:, PLACEMENT])
            else:
                x0 = self._model(x, t, cond)
            if self.pen is not None:
                x0 = self._apg(x0, k, v_left, j_left)
            return x0

        add = _denoise(self.sched, torch.randn(n, dim, generator=generator).to(dev), add_x0)
        return anchor_raw, self.normalizer.denormalize(add.double())

    def _apg(self, x0: torch.Tensor, k: int, v_left: torch.Tensor, j_left: torch.Tensor) -> torch.Tensor:
        with torch.enable_grad():
            raw = self.normalizer.denormalize(x0.double()).requires_grad_(True)
            v_right, j_right = self.decoder.hand(self.decoder.right, raw)
            loss = self.pen(v_left, j_left, v_right, j_right).sum()
            (grad,) = torch.autograd.grad(loss, raw)
        raw = raw.detach() - self.raw_steps[k] * grad
        return self.normalizer.normalize(raw).to(x0.dtype)


class JointSampler:
    """The baseline: both hands at once, unconditionally, no guidance; on `compute` as `CascadeSampler`."""

    def __init__(self, model: Denoiser, normalizer: Normalizer, schedule: ScheduleConfig, compute: Compute = CPU):
        self.model, self.normalizer, self.compute = compute.prepare(model.eval()), normalizer, compute
        self.sched = schedule.sampling()
        self.sched.set_timesteps(schedule.sampling_steps, device=compute.device)

    def _x0(self, x: torch.Tensor, t: torch.Tensor, k: int) -> torch.Tensor:
        with self.compute.autocast():
            return self.model(x, t).float()

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        x0 = _denoise(self.sched, torch.randn(n, self.model.cfg.x_dim, generator=generator).to(self.compute.device), self._x0)
        fixed = torch.as_tensor(self.normalizer.anchor_placement(), dtype=x0.dtype, device=x0.device).expand(n, -1)
        anchor = torch.cat([x0[:, :HAND_DIMS], fixed], dim=1)
        return self.normalizer.denormalize(anchor.double()), self.normalizer.denormalize(x0[:, HAND_DIMS:].double())
