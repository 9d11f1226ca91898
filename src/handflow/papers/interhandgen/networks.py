"""InterHandGen's networks: the denoiser and the evaluation network, and the one loader of their model files.

The denoiser: token embeddings through a small transformer, then a wide MLP with skips; predicts x0.

The seed's architecture family (reference section 2): time, condition and input
are each embedded to one token, the three tokens go through a transformer encoder,
its flattened output and the time/condition embeddings feed a 7-layer MLP trunk
whose skip layers also see an embedding of the input; the head predicts the clean
sample x0.

Deliberate difference: the seed stacks the tokens as (B, 3, E) into a transformer
built with `batch_first=False`, so attention runs across the *samples of the
minibatch* and every prediction depends on what else is in the batch. Here the
encoder is batch-first: attention runs across the three tokens of one sample, as
the paper describes.

The time embedding is diffusers' sinusoidal `Timesteps` (shift 1 gives the
fairseq/DDPM frequencies the seed uses) and `TimestepEmbedding` MLP.

The paper's two architecture ablations are switches of the config: `self_attention`
off drops the transformer (the tokens go straight to the trunk: *w/o SelfAtt*), and
`shared` off gives the cascade two networks, an unconditional one for the anchor and a
conditional one for the second hand (*w/o Shared Network*); `build_denoiser` makes either.

The evaluation network (our stand-in for the seed's unreleased PointNet++ evaluator) is a
fixed-group set abstraction over two-hand vertices; `features` explains its design.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from handflow.checkpoints import NetworkSpec, load_model
from handflow.config import Section
from handflow.papers.interhandgen.variants import MODELS

N_JOINTS = 42
SCALE = 10.0  # the evaluation network's inputs and outputs: metres -> decimetres, as the seed


@dataclass(frozen=True)
class DenoiserConfig(Section):
    """params `interhandgen.model` plus the input and condition sizes of the model trained (see train.architecture)."""

    x_dim: int  # 64 for the cascade (one hand), 119 for the joint baseline (55 + 64)
    c_dim: int  # 55: the anchor's pose and shape; 0: unconditional (joint baseline)
    width: int = 2056
    embed_dim: int = 512
    n_layers: int = 7
    skips: tuple[int, ...] = (1, 3, 5, 6)
    transformer_layers: int = 2
    n_heads: int = 4
    dropout: float = 0.1
    self_attention: bool = True  # False: the paper's "w/o SelfAtt" ablation
    shared: bool = True  # False: the paper's "w/o Shared Network" (separate anchor and conditional networks)


def _embed(in_dim: int, hidden: int, out_dim: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(in_dim, hidden), nn.SiLU(), nn.Linear(hidden, out_dim))


class Denoiser(nn.Module):
    def __init__(self, cfg: DenoiserConfig) -> None:
        super().__init__()
        self.cfg = cfg
        e, w = cfg.embed_dim, cfg.width
        from diffusers.models.embeddings import (
            TimestepEmbedding,
            Timesteps,
        )  # diffusers is imported where a scheduler or network is built (see handflow.diffusion)

        self.time_proj = Timesteps(e, flip_sin_to_cos=False, downscale_freq_shift=1)
        self.time_embed = TimestepEmbedding(e, w, out_dim=e)
        self.x_embed = _embed(cfg.x_dim, w, e)
        self.c_embed = _embed(cfg.c_dim, w, e) if cfg.c_dim else None
        n_tokens = 3 if cfg.c_dim else 2
        self.encoder = None
        if cfg.self_attention:
            layer = nn.TransformerEncoderLayer(e, cfg.n_heads, dim_feedforward=4 * e, dropout=cfg.dropout, batch_first=True)
            self.encoder = nn.TransformerEncoder(layer, cfg.transformer_layers, enable_nested_tensor=False)
        self.tokens_out = nn.Linear(n_tokens * e, w)
        self.init = nn.Linear(cfg.x_dim, w)
        side = e * (n_tokens - 1)  # time (and condition) embeddings beside every layer's input
        self.layers = nn.ModuleList(nn.Linear(w + side + (w if i in cfg.skips else 0), w) for i in range(cfg.n_layers))
        self.head = nn.Linear(w, cfg.x_dim)

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        """x0 predicted from x_t (B, x_dim) at integer steps t (B,); `cond` (B, c_dim), zeros = null."""
        temb = self.time_embed(self.time_proj(t).to(x_t.dtype))
        tokens = [temb, self.x_embed(x_t)]
        side = [temb]
        if self.c_embed is not None:
            cemb = self.c_embed(torch.zeros(len(x_t), self.cfg.c_dim, dtype=x_t.dtype, device=x_t.device) if cond is None else cond)
            tokens.insert(1, cemb)
            side.append(cemb)
        stacked = torch.stack(tokens, dim=1)
        h = self.tokens_out((self.encoder(stacked) if self.encoder is not None else stacked).flatten(1))
        init = self.init(x_t)
        for i, layer in enumerate(self.layers):
            parts = [h, init, *side] if i in self.cfg.skips else [h, *side]
            h = torch.relu(layer(torch.cat(parts, dim=1)))
        return self.head(h)


class SeparateDenoisers(nn.Module):
    """The cascade without a shared network: `cond=None` asks the anchor's network, any condition (zeros too) the second's."""

    def __init__(self, cfg: DenoiserConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.anchor = Denoiser(replace(cfg, c_dim=0, shared=True))
        self.add = Denoiser(replace(cfg, shared=True))

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        return self.anchor(x_t, t) if cond is None else self.add(x_t, t, cond)


def build_denoiser(cfg: DenoiserConfig) -> nn.Module:
    return Denoiser(cfg) if cfg.shared else SeparateDenoisers(cfg)


def n_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@dataclass(frozen=True)
class FeatureNetConfig(Section):
    """The network a features file holds (its centre and group vertex ids are buffers of its weights)."""

    n_left: int  # points of the left hand, first
    n_right: int
    width: int
    feature_dim: int
    centres: int
    group_size: int


def farthest_points(points: np.ndarray, m: int) -> np.ndarray:
    """m indices of (P, 3) points by farthest-point sampling from point 0 (deterministic)."""
    idx = [0]
    dist = np.linalg.norm(points - points[0], axis=1)
    for _ in range(m - 1):
        idx.append(int(dist.argmax()))
        dist = np.minimum(dist, np.linalg.norm(points - points[idx[-1]], axis=1))
    return np.array(idx)


def _mlp(dims: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in itertools.pairwise(dims):
        layers += [nn.Linear(a, b), nn.LayerNorm(b), nn.ReLU()]
    return nn.Sequential(*layers)


class SetAbstractionRegressor(nn.Module):
    """Fixed-group set abstraction (see the module docstring): groups -> local PointNets -> ordered features -> joints."""

    def __init__(self, cfg: FeatureNetConfig, mean_points: np.ndarray | None = None) -> None:
        super().__init__()
        n, w, m, k = cfg.n_left + cfg.n_right, cfg.width, cfg.centres, cfg.group_size
        side = torch.zeros(n, 2)
        side[: cfg.n_left, 1] = 1.0
        side[cfg.n_left :, 0] = 1.0
        self.register_buffer("side", side)
        centres, groups = np.zeros(m, np.int64), np.zeros((m, k), np.int64)  # a saved network's come with its weights
        if mean_points is not None:
            centres = farthest_points(mean_points, m)
            groups = np.argsort(np.linalg.norm(mean_points[centres][:, None] - mean_points[None], axis=-1), axis=1)[:, :k]
        self.register_buffer("centre_ids", torch.as_tensor(centres))
        self.register_buffer("group_ids", torch.as_tensor(groups))
        self.local = _mlp([3 + 3 + 2, w, w, w])
        self.glob = nn.Sequential(nn.Linear(m * w, 4 * w), nn.LayerNorm(4 * w), nn.ReLU(), nn.Linear(4 * w, cfg.feature_dim))
        self.linear = nn.Linear(m * 3, cfg.feature_dim)
        self.head = nn.Sequential(nn.ReLU(), nn.Linear(cfg.feature_dim, N_JOINTS * 3))

    def features(self, points: torch.Tensor) -> torch.Tensor:
        """(B, feature_dim) from (B, P, 3) points in metres, left hand's first."""
        xyz = points * SCALE
        centre, group = xyz[:, self.centre_ids], xyz[:, self.group_ids]  # (B, M, 3), (B, M, k, 3)
        side = self.side[self.group_ids].expand(len(points), -1, -1, -1)
        local = self.local(torch.cat([group - centre[:, :, None], centre[:, :, None].expand_as(group), side], -1)).max(2).values
        return self.glob(local.flatten(1)) + self.linear(centre.flatten(1))

    def forward(self, points: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(points)).view(-1, N_JOINTS, 3) / SCALE


NETWORKS = {
    **{model: NetworkSpec(DenoiserConfig, build_denoiser) for model in MODELS},
    "features": NetworkSpec(FeatureNetConfig, SetAbstractionRegressor),
}


def load_network(path: Path, kind: str) -> tuple[nn.Module, dict]:
    """A model file of one kind (a denoiser of `variants.MODELS`, or "features"): the network in eval mode and the file's dict."""
    required = ("vertex_ids",) if kind == "features" else ("schedule", "normalizer")
    return load_model(path, kind, NETWORKS, required)
