"""The networks: LayoutNet, ContentNet, the upsampler and the hand-pose network (the judges are not trained here).

- **LayoutNet** (seed reference section 2): an image encoder sees `[object image with the
  noisy layout's soft splat painted white, object image, 1 - splat]` (7 channels, the
  seed's input), its 8x8 feature map becomes tokens, and one query token (the noisy 5-D
  layout plus the timestep embedding) cross-attends to them; a linear head gives the
  noise. The seed's encoder is GLIDE's pretrained 64 px UNet encoder (192 channels, text
  transformer unused with an empty prompt); ours is a small convolutional encoder with
  the timestep added per block, trained from scratch (no GLIDE weights here).
- **ContentNet** (section 3): diffusers' `UNet2DModel` on `[x_t, object image, keep-mask]`
  (7 channels), predicting the noise of the HOI image, the seed's GLIDE-64 inpainting
  input layout. Its no-layout baseline is the same network trained with the mask channel
  all ones (keep everywhere). The LDM variant (the seed's 256 px model) runs the same UNet
  on the latents of a diffusers `AutoencoderKL` the user gives by path (`LatentCodec`):
  `[z_t, z_object, keep-mask at the latent size]`, decoded to pixels after sampling.
- **Upsampler**: the seed super-resolves the 64 px output x4 with EDSR (pretrained). Here an
  EDSR-style residual network (no batch norm, residual scaling, pixel shuffle) trained on
  the HOI crops, x2 to the pairs' size; bicubic is its baseline.
- **Hand-pose network** (FrankMocap's role, see `handpose`): 2D joints in the crop and 3D
  joints relative to the wrist, from a HOI crop.

LayoutNet and ContentNet carry their diffusion schedule in their config (GLIDE's cosine
schedule, `handflow.diffusion.NoiseSchedule`), so every model file holds the schedule its
sampler must use. `load_network` reads any of them back by the model's name
(`variants.MODELS`), checking the file holds that network.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn

from handflow.checkpoints import NetworkSpec, directory_digest, load_model
from handflow.config import Section
from handflow.diffusion import COSINE, NoiseSchedule
from handflow.errors import InputError
from handflow.local_diffusers import attempt, class_name
from handflow.papers.affordance.layout import render_soft
from handflow.papers.affordance.variants import MODELS

if TYPE_CHECKING:  # diffusers is imported where a scheduler or network is built (see handflow.diffusion)
    from diffusers import UNet2DModel


def _block(c_in: int, c_out: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride, 1), nn.GroupNorm(min(8, c_out), c_out), nn.SiLU())


@dataclass(frozen=True)
class LayoutNetConfig(Section):
    """params `affordance.layout.network`."""

    image_size: int  # the object image's side (the seed: 64)
    channels: tuple[int, ...]  # encoder widths; each stage halves the side
    heads: int
    attention_layers: int
    schedule: NoiseSchedule = COSINE


class LayoutNet(nn.Module):
    def __init__(self, cfg: LayoutNetConfig) -> None:
        super().__init__()
        self.cfg = cfg
        from diffusers.models.embeddings import (
            TimestepEmbedding,
            Timesteps,
        )  # diffusers is imported where a scheduler or network is built (see handflow.diffusion)

        width = cfg.channels[-1]
        self.time = Timesteps(width, flip_sin_to_cos=True, downscale_freq_shift=0)
        self.time_mlp = TimestepEmbedding(width, width)
        stages, c_in = [], 7
        for c in cfg.channels:
            stages.append(nn.ModuleList([_block(c_in, c, 2), _block(c, c, 1)]))
            c_in = c
        self.stages = nn.ModuleList(stages)
        self.time_proj = nn.ModuleList(nn.Linear(width, c) for c in cfg.channels)
        side = cfg.image_size // 2 ** len(cfg.channels)
        self.pos = nn.Parameter(torch.randn(side * side, width) * 0.02)
        self.query = nn.Linear(5, width)
        self.attn = nn.ModuleList(nn.MultiheadAttention(width, cfg.heads, batch_first=True) for _ in range(cfg.attention_layers))
        self.norms = nn.ModuleList(nn.LayerNorm(width) for _ in range(2 * cfg.attention_layers))
        self.mlps = nn.ModuleList(
            nn.Sequential(nn.Linear(width, 2 * width), nn.SiLU(), nn.Linear(2 * width, width)) for _ in range(cfg.attention_layers)
        )
        self.out = nn.Linear(width, 5)

    def splat_input(self, x_t: torch.Tensor, obj: torch.Tensor) -> torch.Tensor:
        """The seed's 7 channels: object image with the noisy layout's splat painted white, object image, 1 - splat."""
        m = render_soft(x_t, obj.shape[-1])[:, None]
        return torch.cat([obj * (1 - m) + m, obj, 1 - m], dim=1)

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, obj: torch.Tensor) -> torch.Tensor:
        emb = self.time_mlp(self.time(t.expand(len(x_t))).to(x_t.dtype))
        h = self.splat_input(x_t, obj)
        for (down, conv), proj in zip(self.stages, self.time_proj, strict=True):
            h = down(h)
            h = conv(h + proj(emb)[:, :, None, None])
        tokens = h.flatten(2).transpose(1, 2) + self.pos
        q = (self.query(x_t) + emb)[:, None]
        for i, (attn, mlp) in enumerate(zip(self.attn, self.mlps, strict=True)):
            q = q + attn(self.norms[2 * i](q), tokens, tokens, need_weights=False)[0]
            q = q + mlp(self.norms[2 * i + 1](q))
        return self.out(q[:, 0])


@dataclass(frozen=True)
class ContentNetConfig(Section):
    """params `affordance.content.network`: a diffusers UNet2DModel (the seed: GLIDE-64, 192 channels, mult 1-2-3-4, 3 blocks)."""

    image_size: int
    channels: tuple[int, ...]
    layers_per_block: int
    attention: tuple[bool, ...]  # per level: a self-attention block (the seed: at downsampling 2, 4, 8)
    latent_channels: int = 0  # the LDM variant: the autoencoder's latent channels (0: pixel space); set from the autoencoder
    latent_factor: int = 1  # pixels per latent cell
    schedule: NoiseSchedule = COSINE


def content_net(cfg: ContentNetConfig) -> UNet2DModel:
    from diffusers import UNet2DModel  # diffusers is imported where a scheduler or network is built (see handflow.diffusion)

    down = tuple("AttnDownBlock2D" if a else "DownBlock2D" for a in cfg.attention)
    up = tuple("AttnUpBlock2D" if a else "UpBlock2D" for a in reversed(cfg.attention))
    data = cfg.latent_channels or 3
    return UNet2DModel(
        sample_size=cfg.image_size // cfg.latent_factor,
        in_channels=2 * data + 1,
        out_channels=data,
        block_out_channels=cfg.channels,
        layers_per_block=cfg.layers_per_block,
        down_block_types=down,
        up_block_types=up,
        norm_num_groups=min(8, *cfg.channels),
        attention_head_dim=min(32, cfg.channels[-1]),
    )


class LatentCodec:
    """A frozen diffusers first stage from a local directory: an `AutoencoderKL`, or a `VQModel` (the seed's 256 px LDM
    uses a VQ-f4 autoencoder), chosen by the directory's `config.json`. Not a submodule of ContentNet, so its weights
    stay in the user's directory, not in our model files. A VQModel's latents are its encoder's pre-quantisation
    output, quantised on decoding, as LDM's `VQModelInterface` does."""

    KINDS = ("AutoencoderKL", "VQModel")

    def __init__(self, path: Path) -> None:
        import diffusers

        path = Path(path)
        kind = class_name(path, "config.json", "affordance.content.vae")
        if kind not in self.KINDS:
            raise InputError(path / "config.json", "_class_name", f"{kind!r}: the first stage must be one of {self.KINDS}")
        loaded = lambda: getattr(diffusers, kind).from_pretrained(str(path), local_files_only=True, output_loading_info=True)  # noqa: E731
        self.vae, info = attempt(path, f"load the {kind}", loaded)
        disagree = [k for what in ("missing_keys", "mismatched_keys", "unexpected_keys") for k in info.get(what) or []]
        if disagree:  # diffusers would initialise the missing layers at random (local_diffusers' docstring)
            raise InputError(path, "config.json", f"another network than the weights' ({len(disagree)} tensors differ: {disagree[0]}, ...)")
        self.vae.eval().requires_grad_(False)
        self.path, self.kind = path, kind
        config = self.vae.config
        if (config.in_channels, config.out_channels) != (3, 3):
            raise InputError(path / "config.json", "in_channels", f"{config.in_channels} in, {config.out_channels} out: not of RGB images")
        self.scale = config.scaling_factor
        if isinstance(self.scale, bool) or not isinstance(self.scale, int | float) or not 0 < self.scale < float("inf"):
            raise InputError(path / "config.json", "scaling_factor", f"{self.scale!r}, expected a positive number")
        self.scale = float(self.scale)
        self.channels = int(config.latent_channels)  # the encoder was built from it: an integer
        self.factor = 2 ** (len(config.block_out_channels) - 1)
        probe = torch.zeros(1, 3, 8 * self.factor, 8 * self.factor)  # a config that loads may still not encode (its blocks)
        out = attempt(path, "encode and decode a test image", lambda: self.decode(self.encode(probe)))
        if out.shape != probe.shape or not torch.isfinite(out).all():
            raise InputError(path, None, f"decodes a {tuple(probe.shape)} image to {tuple(out.shape)}, or to NaN or inf")

    def to(self, device: torch.device) -> LatentCodec:
        self.vae.to(device)
        return self

    @torch.no_grad()
    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """Scaled latents of images in [-1, 1]: the KL autoencoder's mean (no second noise source beside the
        diffusion's), the VQ autoencoder's pre-quantisation output."""
        device = next(self.vae.parameters()).device
        out = self.vae.encode(images.to(device))
        latents = out.latents if self.kind == "VQModel" else out.latent_dist.mean
        return (latents * self.scale).to(images.device)

    @torch.no_grad()
    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        device = next(self.vae.parameters()).device
        return self.vae.decode(latents.to(device) / self.scale).sample.to(latents.device)


class ContentNet(nn.Module):
    """ε of the HOI image (or its latent) given `[x_t, object image, keep-mask]`; `codec` set for the LDM variant."""

    def __init__(self, cfg: ContentNetConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.unet = content_net(cfg)
        self.codec: LatentCodec | None = None

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, obj: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        return self.unet(torch.cat([x_t, obj, keep], dim=1), t.expand(len(x_t))).sample


@dataclass(frozen=True)
class UpsamplerConfig(Section):
    """params `affordance.upsampler.network` (EDSR's baseline: 16 blocks of 64 channels, residual scale 0.1)."""

    channels: int
    blocks: int
    scale: int


class Upsampler(nn.Module):
    def __init__(self, cfg: UpsamplerConfig) -> None:
        super().__init__()
        self.cfg = cfg
        c = cfg.channels
        self.head = nn.Conv2d(3, c, 3, 1, 1)
        self.body = nn.ModuleList(nn.Sequential(nn.Conv2d(c, c, 3, 1, 1), nn.ReLU(), nn.Conv2d(c, c, 3, 1, 1)) for _ in range(cfg.blocks))
        self.tail = nn.Sequential(nn.Conv2d(c, 3 * cfg.scale**2, 3, 1, 1), nn.PixelShuffle(cfg.scale))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x in [-1, 1] at the small size; the residual is added to the bicubic upsampling, so an untrained net is bicubic."""
        base = nn.functional.interpolate(x, scale_factor=self.cfg.scale, mode="bicubic", align_corners=False)
        h = self.head(x)
        r = h
        for block in self.body:
            r = r + 0.1 * block(r)
        return base + self.tail(r + h)


@dataclass(frozen=True)
class HandPoseConfig(Section):
    """params `affordance.handpose.network`."""

    image_size: int
    channels: tuple[int, ...]


class HandPoseNet(nn.Module):
    def __init__(self, cfg: HandPoseConfig) -> None:
        super().__init__()
        self.cfg = cfg
        layers, c_in = [], 3
        for c in cfg.channels:
            layers += [nn.Conv2d(c_in, c, 3, 2, 1), nn.GroupNorm(min(8, c), c), nn.SiLU(), nn.Conv2d(c, c, 3, 1, 1), nn.SiLU()]
            c_in = c
        self.trunk = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(2), nn.Flatten())
        self.head = nn.Sequential(nn.Linear(4 * c_in, 256), nn.SiLU(), nn.Linear(256, 21 * 5))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 21, 2) joints in crop NDC and (B, 21, 3) wrist-relative joints in decimetres."""
        out = self.head(self.trunk(x)).reshape(-1, 21, 5)
        return out[..., :2], out[..., 2:]


_FAMILIES = {
    "layout": NetworkSpec(LayoutNetConfig, LayoutNet),
    "content": NetworkSpec(ContentNetConfig, ContentNet),
    "upsampler": NetworkSpec(UpsamplerConfig, Upsampler),
    "handpose": NetworkSpec(HandPoseConfig, HandPoseNet),
}
NETWORKS = {name: _FAMILIES[m.family] for name, m in MODELS.items()}


def load_network(path: Path, kind: str) -> tuple[nn.Module, dict]:
    """A model file of one kind (`variants.MODELS`): the network in eval mode and the file's dict.

    ContentNet's LDM variant gets its autoencoder back from the directory it was trained
    with; one line if that directory changed since.
    """
    model, ckpt = load_model(path, kind, NETWORKS)
    if MODELS[kind].family == "content" and ckpt.get("vae"):
        model.codec = LatentCodec(Path(ckpt["vae"]))
        if directory_digest(Path(ckpt["vae"])) != ckpt.get("vae_digest"):
            raise InputError(ckpt["vae"], None, f"the autoencoder changed since {path} was trained on it")
    return model, ckpt
