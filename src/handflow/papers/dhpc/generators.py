"""What draws the images: the embedded networks trained here, or the user's Stable Diffusion pipelines by path.

The seed samples with Stable Diffusion 1.4 (`StableDiffusionPipeline`) and corrects with
SD-2-depth (`StableDiffusionDepth2ImgPipeline` given the rendered depth, not its own DPT
estimate), both with the negative prompt "deformed, bad anatomy", and starts the depth
pipeline from a random latent inside the person mask (`use_random_for_d2i`). Params
`dhpc.stable_diffusion.{t2i, depth}` name local diffusers directories (nothing is downloaded:
`local_files_only`); null keeps the embedded networks. The section sits outside `dhpc.t2i` so
that switching the pipeline does not retrain the embedded networks.

Both kinds answer the same two calls, so sampling, correction, the synthetic set and `generate`
do not care which drew the images:

- `sample(prompts, source, cfg, g)`: (B, 3, S, S) in [-1, 1] at the data's image size;
- `regenerate(images, region, depth, prompts, source, strength, random_in_region, cfg, g)`: the
  seed's depth2img step, depth (B, 1, S, S) as `render.depth_map` makes it (in [-1, 1]); a None
  prompt is the null text (the pose-conditioned table's "no text" row).

A pipeline works at its own resolution (UNet sample size x the autoencoder's factor, 512 for SD
1.4): images go up to it (bicubic) and come back down to the data's size (area), the depth map
goes up with them; the mask region is pooled to the latent grid (any pixel of a latent cell in
the region puts the cell in it), as the seed pools its mask to 64 x 64.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch.nn import functional as F

from handflow.checkpoints import directory_digest
from handflow.compute import CPU, Compute
from handflow.config import Section
from handflow.diffusion import denoise
from handflow.errors import ComputationError, InputError
from handflow.local_diffusers import attempt, class_name
from handflow.papers.dhpc.text import PAD, tokenize

if TYPE_CHECKING:  # diffusers is imported where a scheduler or network is built (see handflow.diffusion)
    from diffusers import DDIMScheduler


@dataclass(frozen=True)
class SampleConfig(Section):
    """params `dhpc.sample`: the seed's SD call is 50 steps, CFG 7.5, negative prompt "deformed, bad anatomy"."""

    steps: int
    guidance: float
    batch_size: int


def sampler(net, steps: int) -> DDIMScheduler:
    """DDIM on the network's own training schedule (saved in its model file), the predicted x0 clipped to the images' range."""
    return net.cfg.schedule.ddim(steps, clip=1.0)


def guided(
    net, x: torch.Tensor, tokens: torch.Tensor, guidance: float, sched: DDIMScheduler, timesteps, depth: torch.Tensor | None = None
) -> torch.Tensor:
    """DDIM from `x` over `timesteps` with classifier-free guidance: eps = eps_null + w (eps_text - eps_null)."""
    null = torch.zeros_like(tokens)
    both = torch.cat([tokens, null])
    d2 = torch.cat([depth, depth]) if depth is not None else None

    def eps(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        eps_text, eps_null = net(torch.cat([x, x]), t.reshape(1).to(x.device), both, d2).chunk(2)
        return eps_null + guidance * (eps_text - eps_null)

    return denoise(eps, x, sched, timesteps).clamp(-1, 1)


def sample_images(net, tokens: torch.Tensor, cfg: SampleConfig, g: torch.Generator) -> torch.Tensor:
    """(B, 3, S, S) in [-1, 1], text to image from pure noise."""
    device = next(net.parameters()).device
    sched = sampler(net, cfg.steps)
    out = []
    for start in range(0, len(tokens), cfg.batch_size):
        tok = tokens[start : start + cfg.batch_size]
        x = torch.randn((len(tok), 3, net.cfg.image_size, net.cfg.image_size), generator=g).to(device)
        out.append(guided(net, x, tok.to(device), cfg.guidance, sched, sched.timesteps).cpu())
    return torch.cat(out)


def regenerate(
    depth_net,
    images: torch.Tensor,
    region: torch.Tensor,
    depth: torch.Tensor,
    tokens: torch.Tensor,
    strength: float,
    random_in_region: bool,
    cfg: SampleConfig,
    g: torch.Generator,
) -> torch.Tensor:
    """The seed's depth2img step: start `strength` of the way up the schedule from the image (fresh noise inside `region`)."""
    device = next(depth_net.parameters()).device
    sched = sampler(depth_net, cfg.steps)
    n_kept = min(int(cfg.steps * strength), cfg.steps)
    timesteps = sched.timesteps[cfg.steps - n_kept :]
    out = []
    for s in range(0, len(images), cfg.batch_size):
        x0 = images[s : s + cfg.batch_size]
        m = region[s : s + cfg.batch_size, None].float()
        if random_in_region:
            x0 = x0 * (1 - m) + torch.randn(x0.shape, generator=g) * m
        x = sched.add_noise(x0, torch.randn(x0.shape, generator=g), timesteps[:1]) if n_kept else x0
        out.append(
            guided(
                depth_net,
                x.to(device),
                tokens[s : s + cfg.batch_size].to(device),
                cfg.guidance,
                sched,
                timesteps,
                depth[s : s + cfg.batch_size].to(device),
            ).cpu()
        )
    return torch.cat(out)


PIPELINES = {"t2i": "StableDiffusionPipeline", "depth": "StableDiffusionDepth2ImgPipeline"}


@dataclass(frozen=True)
class PipelineConfig(Section):
    """params `dhpc.stable_diffusion`: the user's pipelines (paths relative to the project, or absolute) and the negative prompt."""

    t2i: str | None
    depth: str | None
    negative_prompt: str  # the seed's "deformed, bad anatomy"; the embedded networks have no negative prompt (their null text)


class Embedded:
    """The text-to-image or depth network trained here (`networks.TextToImage`); its passes in `compute.autocast()`."""

    def __init__(self, net, name: str = "embedded", compute: Compute = CPU) -> None:
        self.net, self.name, self.compute = net, name, compute

    @property
    def size(self) -> int:
        return self.net.cfg.image_size

    def describe(self) -> dict:
        return {"kind": "embedded", "model": self.name, "text_encoder": self.net.cfg.text_encoder, **_precision(self.compute)}

    def _tokens(self, prompts: list[str | None], source: str) -> torch.Tensor:
        """Token ids; a None prompt is the null text (all padding, the unconditional prompt of classifier-free guidance)."""
        out = torch.full((len(prompts), self.net.cfg.max_tokens), PAD, dtype=torch.int64)
        given = [i for i, p in enumerate(prompts) if p is not None]
        if given:
            out[given] = tokenize([prompts[i] for i in given], self.net.cfg.max_tokens, source, self.net.cfg.text_encoder)
        return out

    def sample(self, prompts: list[str], source: str, cfg: SampleConfig, g: torch.Generator) -> torch.Tensor:
        with self.compute.autocast():
            return sample_images(self.net, self._tokens(prompts, source), cfg, g).float()

    def regenerate(self, images, region, depth, prompts, source, strength, random_in_region, cfg, g) -> torch.Tensor:
        tokens = self._tokens(prompts, source)
        with self.compute.autocast():
            return regenerate(self.net, images, region, depth, tokens, strength, random_in_region, cfg, g).float()


def _precision(compute: Compute) -> dict:
    """What a generator's description adds for its precision and compilation: nothing at fp32 uncompiled (the files it always wrote)."""
    return ({} if compute.precision == "fp32" else {"precision": compute.precision}) | ({"compiled": True} if compute.compile else {})


def as_generator(net_or_generator) -> Embedded | StableDiffusion:
    """A generator as is; a bare `TextToImage` network wrapped as the embedded one."""
    return net_or_generator if isinstance(net_or_generator, Embedded | StableDiffusion) else Embedded(net_or_generator)


def _load(path: Path, role: str, device: torch.device):
    """The diffusers pipeline of `role` at `path`, its class checked from `model_index.json`: one line naming what is wrong."""
    cls = class_name(path, "model_index.json", f"dhpc.stable_diffusion.{role}")
    if cls != PIPELINES[role]:
        raise InputError(path / "model_index.json", "_class_name", f"{cls!r}, dhpc.stable_diffusion.{role} needs a {PIPELINES[role]}")
    import diffusers

    extra = {"depth_estimator": None, "feature_extractor": None} if role == "depth" else {"safety_checker": None}
    pipe = attempt(path, f"load the {cls}", lambda: getattr(diffusers, cls).from_pretrained(str(path), local_files_only=True, **extra))
    pipe.set_progress_bar_config(disable=True)
    return pipe.to(device)


def _masked_noise_depth2img(pipe):
    """SD-2-depth with the seed's `use_random_for_d2i`: the image's latents inside `region` replaced by fresh noise before
    the forward noising. diffusers' pipeline has no such input; overriding `prepare_latents` is the one place it fits."""
    from diffusers import StableDiffusionDepth2ImgPipeline
    from diffusers.pipelines.stable_diffusion.pipeline_stable_diffusion_depth2img import retrieve_latents
    from diffusers.utils.torch_utils import randn_tensor

    class MaskedNoiseDepth2Img(StableDiffusionDepth2ImgPipeline):
        region: torch.Tensor | None = None  # (B, 1, h, w) on the latent grid

        def prepare_latents(self, image, timestep, batch_size, num_images_per_prompt, dtype, device, generator=None):
            if self.region is None:
                return super().prepare_latents(image, timestep, batch_size, num_images_per_prompt, dtype, device, generator)
            latents = retrieve_latents(self.vae.encode(image.to(device=device, dtype=dtype)), generator=generator)
            latents = self.vae.config.scaling_factor * latents
            noise = randn_tensor(latents.shape, generator=generator, device=device, dtype=dtype)
            m = self.region.to(device=device, dtype=dtype)
            latents = latents * (1 - m) + noise * m
            return super().prepare_latents(latents, timestep, batch_size, num_images_per_prompt, dtype, device, generator)

    return MaskedNoiseDepth2Img(**pipe.components).to(pipe.device)


class StableDiffusion:
    """The user's Stable Diffusion pipeline (text-to-image or depth), drawing at its own size, returning the data's size."""

    def __init__(self, path: Path, role: str, size: int, negative_prompt: str, compute: Compute = CPU) -> None:
        pipe = _load(path, role, compute.device)
        self.compute = compute
        self.pipe = _masked_noise_depth2img(pipe) if role == "depth" else pipe
        compute.prepare(self.pipe.unet)  # the pipeline's one large network (diffusers' guide: channels-last, compile the UNet)
        self.path, self.role, self.size, self.negative = path, role, size, negative_prompt
        latent = pipe.unet.config.sample_size  # the size it draws at, in latent pixels (diffusers' default height)
        if isinstance(latent, bool) or not isinstance(latent, int) or latent < 1:
            raise InputError(path / "unet" / "config.json", "sample_size", f"{latent!r}, expected a positive integer")
        self.work = latent * pipe.vae_scale_factor
        self.digest = directory_digest(path)

    def describe(self) -> dict:
        return {
            "kind": "diffusers",
            "pipeline": PIPELINES[self.role],
            "path": str(self.path),
            "sha256": self.digest,
            **_precision(self.compute),
        }

    def _down(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, W, W) in [0, 1] from the pipeline -> (B, 3, S, S) in [-1, 1]."""
        out = F.interpolate(images.float().cpu(), size=(self.size, self.size), mode="area") if images.shape[-1] != self.size else images
        return out.float().cpu() * 2 - 1

    def _up(self, x: torch.Tensor, mode: str = "bicubic") -> torch.Tensor:
        return F.interpolate(x.float(), size=(self.work, self.work), mode=mode) if x.shape[-1] != self.work else x.float()

    def sample(self, prompts: list[str], source: str, cfg: SampleConfig, g: torch.Generator) -> torch.Tensor:
        out = []
        for s in range(0, len(prompts), cfg.batch_size):
            batch = list(prompts[s : s + cfg.batch_size])
            with self.compute.autocast():
                images = self.pipe(
                    prompt=batch,
                    negative_prompt=[self.negative] * len(batch),
                    num_inference_steps=cfg.steps,
                    guidance_scale=cfg.guidance,
                    generator=g,
                    height=self.work,
                    width=self.work,
                    output_type="pt",
                ).images
            out.append(self._down(images))
        return torch.cat(out)

    def regenerate(self, images, region, depth, prompts, source, strength, random_in_region, cfg, g) -> torch.Tensor:
        flat = depth.flatten(1)
        constant = torch.nonzero(flat.amax(1) == flat.amin(1))[:, 0]
        if len(constant):  # the pipeline min-max normalises each map: a constant one divides by zero
            raise ComputationError(
                f"{self.path}: depth map {int(constant[0])} is constant (no body in view), SD-2-depth cannot normalise it"
            )
        latent = self.work // self.pipe.vae_scale_factor
        out = []
        for s in range(0, len(images), cfg.batch_size):
            sl = slice(s, s + cfg.batch_size)
            x = self._up(images[sl]).clamp(-1, 1) / 2 + 0.5  # the pipeline's image processor takes [0, 1]
            self.pipe.region = F.adaptive_max_pool2d(region[sl, None].float(), latent) if random_in_region else None
            with self.compute.autocast():
                result = self.pipe(
                    prompt=[p or "" for p in prompts[sl]],  # None: the null text
                    image=x,
                    depth_map=self._up(depth[sl])[:, 0],
                    strength=strength,
                    num_inference_steps=cfg.steps,
                    guidance_scale=cfg.guidance,
                    negative_prompt=[self.negative] * len(x),
                    generator=g,
                    output_type="pt",
                ).images
            out.append(self._down(result))
        self.pipe.region = None
        return torch.cat(out)


def load_generator(
    role: str, model: Path | None, sd: PipelineConfig, root: Path, size: int, compute: Compute = CPU
) -> Embedded | StableDiffusion:
    """The user's pipeline for `role` (t2i | depth) when params name one, else the embedded network at `model`; on `compute`."""
    path = getattr(sd, role)
    if path:
        return StableDiffusion(root / path, role, size, sd.negative_prompt, compute)
    if model is None:
        raise InputError(f"--{role}", None, "no model file and no dhpc.stable_diffusion pipeline")
    from handflow.papers.dhpc.networks import load_network

    return Embedded(compute.prepare(load_network(model, role)[0]), str(model), compute)
