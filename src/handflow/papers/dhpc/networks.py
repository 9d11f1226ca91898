"""The networks the pipeline trains in place of the seed's pretrained ones.

- `TextToImage`: Stable Diffusion's role. A diffusers `UNet2DConditionModel` in pixel space
  (images here are 32-64 px; SD's autoencoder exists to shrink 512 px), cross-attending to
  a small text encoder over learned word embeddings (CLIP's role), or, with
  `text_encoder: minilm`, a frozen pretrained sentence encoder's token states (Stable
  Diffusion's frozen CLIP text tower; `handflow.pretrained_text`). With `depth_channel` the
  UNet takes the depth map as a fourth input channel: SD-2-depth's conditioning, which
  concatenates the depth to the latent the same way.
- `HMRNet`: BEV/SPIN's role: image -> body pose (6D rotation per posed joint), shape, root translation.
- `MaskNet`: Mask R-CNN's role for one class: image -> person-mask logits.
- `PosePrior`: VPoser's role: a VAE over the body pose (every posed joint but the root).

`TextToImage` carries its diffusion schedule in its config (the cosine schedule: small
images lose their content too early under SD's scaled-linear betas), so every model file
holds the schedule its sampler uses. `load_network` reads any of them back by the model's
name (`variants.MODELS`), checking the file holds that network.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from handflow import pretrained_text
from handflow.checkpoints import NetworkSpec, load_model
from handflow.config import Section
from handflow.diffusion import COSINE, NoiseSchedule
from handflow.papers.dhpc.skeleton import BODY_DIM, N_POSED
from handflow.papers.dhpc.text import PAD, vocabulary

TEXT_ENCODERS = ("learned", "minilm")


@dataclass(frozen=True)
class TextToImageConfig(Section):
    """params `dhpc.t2i.network`."""

    image_size: int
    channels: tuple[int, ...]  # UNet block widths; the deepest block cross-attends to the text
    text_dim: int  # the learned encoder's width (the frozen MiniLM's is its own, 384)
    max_tokens: int
    depth_channel: bool = False
    text_encoder: str = "learned"  # learned | minilm (frozen, pretrained)
    schedule: NoiseSchedule = COSINE

    @property
    def context_dim(self) -> int:
        return pretrained_text.WIDTH if self.text_encoder == "minilm" else self.text_dim


class TextEncoder(nn.Module):
    """Word embeddings + positions + one transformer layer; padding is masked out of attention but still encoded,
    so the all-padding prompt (the unconditional one) has its own learned encoding."""

    def __init__(self, dim: int, max_tokens: int) -> None:
        super().__init__()
        self.words = nn.Embedding(len(vocabulary()), dim)
        self.positions = nn.Parameter(torch.zeros(1, max_tokens, dim))
        self.layer = nn.TransformerEncoderLayer(dim, nhead=max(1, dim // 16), dim_feedforward=2 * dim, batch_first=True)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        pad = tokens == PAD
        pad[:, 0] = False  # an all-padding prompt still attends to its first position
        return self.layer(self.words(tokens) + self.positions, src_key_padding_mask=pad)


class TextToImage(nn.Module):
    def __init__(self, cfg: TextToImageConfig) -> None:
        super().__init__()
        self.cfg = cfg
        n = len(cfg.channels)
        if cfg.text_encoder not in TEXT_ENCODERS:  # params are schema-checked; a model file's config is not
            raise ValueError(f"text_encoder {cfg.text_encoder!r}: one of {TEXT_ENCODERS}")
        self.text = pretrained_text.FrozenMiniLM() if cfg.text_encoder == "minilm" else TextEncoder(cfg.text_dim, cfg.max_tokens)
        from diffusers import UNet2DConditionModel  # diffusers is imported where a scheduler or network is built (see handflow.diffusion)

        self.unet = UNet2DConditionModel(
            sample_size=cfg.image_size,
            in_channels=3 + int(cfg.depth_channel),
            out_channels=3,
            block_out_channels=cfg.channels,
            layers_per_block=1,
            down_block_types=("DownBlock2D",) * (n - 1) + ("CrossAttnDownBlock2D",),
            up_block_types=("CrossAttnUpBlock2D",) + ("UpBlock2D",) * (n - 1),
            cross_attention_dim=cfg.context_dim,
            attention_head_dim=8,
            norm_num_groups=min(8, cfg.channels[0]),
        )

    def forward(self, x: torch.Tensor, t: torch.Tensor, tokens: torch.Tensor, depth: torch.Tensor | None = None) -> torch.Tensor:
        """Predicted noise of `x` (B, 3, S, S) at timesteps `t` for prompts `tokens` (B, L); `depth` (B, 1, S, S) with a depth channel."""
        if self.cfg.depth_channel:
            if depth is None:
                raise ValueError("the depth-conditioned model needs a depth map")
            x = torch.cat([x, depth], 1)
        return self.unet(x, t.expand(len(x)), encoder_hidden_states=self.text(tokens)).sample


def _conv(c_in: int, c_out: int, stride: int = 2) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride, 1), nn.GroupNorm(min(8, c_out), c_out), nn.SiLU())


@dataclass(frozen=True)
class ConvConfig(Section):
    """params `dhpc.<hmr|mask>.network`: an encoder of `channels`, halving the size per block."""

    image_size: int
    channels: tuple[int, ...]
    hidden: int = 128


def _encoder(channels: tuple[int, ...]) -> nn.Sequential:
    widths = (3, *channels)
    return nn.Sequential(*(_conv(a, b) for a, b in itertools.pairwise(widths)))


class HMRNet(nn.Module):
    """Image -> (pose 6D (B, N_POSED, 6), shape (B, 6) in [0, 1] via a sigmoid, root translation (B, 3) mm)."""

    def __init__(self, cfg: ConvConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.encoder = _encoder(cfg.channels)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(self._flat(), cfg.hidden), nn.SiLU(), nn.Linear(cfg.hidden, N_POSED * 6 + 6 + 3))
        identity = torch.tensor([1.0, 0.0, 0.0, 0.0, 1.0, 0.0]).repeat(N_POSED)
        with torch.no_grad():  # start at the rest pose, mid shape, 3 m away: a sane first forward pass
            self.head[-1].weight.mul_(0.01)
            self.head[-1].bias.zero_()
            self.head[-1].bias[: N_POSED * 6] = identity

    def _flat(self) -> int:
        side = self.cfg.image_size // 2 ** len(self.cfg.channels)
        return self.cfg.channels[-1] * side * side

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        out = self.head(self.encoder(images))
        pose = out[:, : N_POSED * 6].reshape(-1, N_POSED, 6)
        shape = torch.sigmoid(out[:, N_POSED * 6 : N_POSED * 6 + 6])
        tx, ty, tz = out[:, -3:].unbind(1)
        trans = torch.stack([tx * 300.0, ty * 300.0, 3000.0 * torch.exp(tz)], 1)  # mm; depth positive by construction
        return pose, shape, trans


class MaskNet(nn.Module):
    """A small encoder-decoder: (B, 3, S, S) -> (B, 1, S, S) person logits."""

    def __init__(self, cfg: ConvConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.encoder = _encoder(cfg.channels)
        widths = (*reversed(cfg.channels), cfg.channels[0])
        self.decoder = nn.Sequential(*(nn.Sequential(nn.Upsample(scale_factor=2), _conv(a, b, 1)) for a, b in itertools.pairwise(widths)))
        self.out = nn.Conv2d(cfg.channels[0] + 3, 1, 3, 1, 1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.out(torch.cat([self.decoder(self.encoder(images)), images], 1))


@dataclass(frozen=True)
class PriorConfig(Section):
    """params `dhpc.prior.network`."""

    latent: int  # VPoser: 32
    hidden: int


class PosePrior(nn.Module):
    """A VAE over the body pose's axis-angles (B, BODY_DIM): VPoser's encoder/decoder shape, without its rotation-matrix output."""

    def __init__(self, cfg: PriorConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.enc = nn.Sequential(
            nn.Linear(BODY_DIM, cfg.hidden),
            nn.LeakyReLU(0.2),
            nn.Linear(cfg.hidden, cfg.hidden),
            nn.LeakyReLU(0.2),
            nn.Linear(cfg.hidden, 2 * cfg.latent),
        )
        self.dec = nn.Sequential(
            nn.Linear(cfg.latent, cfg.hidden),
            nn.LeakyReLU(0.2),
            nn.Linear(cfg.hidden, cfg.hidden),
            nn.LeakyReLU(0.2),
            nn.Linear(cfg.hidden, BODY_DIM),
        )

    def encode(self, body_pose: torch.Tensor) -> torch.distributions.Normal:
        mu, log_sigma = self.enc(body_pose).chunk(2, dim=1)
        return torch.distributions.Normal(mu, nn.functional.softplus(log_sigma) + 1e-4)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.dec(z)

    def score(self, body_pose: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        """The seed's VPoser score: ||z||^2 of a sample z ~ q(z | pose) (stochastic, as `rsample()` there). High: an unusual pose."""
        q = self.encode(body_pose)
        z = q.loc + q.scale * torch.randn(q.loc.shape, generator=g)
        return (z**2).sum(1)


NETWORKS = {
    "t2i": NetworkSpec(TextToImageConfig, TextToImage),
    "depth": NetworkSpec(TextToImageConfig, TextToImage),
    "hmr": NetworkSpec(ConvConfig, HMRNet),
    "mask": NetworkSpec(ConvConfig, MaskNet),
    "prior": NetworkSpec(PriorConfig, PosePrior),
}


def load_network(path: Path, kind: str) -> tuple[nn.Module, dict]:
    """A model file of one kind (`variants.MODELS`; fine-tuned regressors are "hmr"): the network in eval mode and the file."""
    return load_model(path, kind, NETWORKS)
