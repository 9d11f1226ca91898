"""ASRN (the seed's `TBSNet`) and the DM baseline: one residual Conv1d decoder per target domain (reference A5, A7).

A decoder maps the source's per-frame description (ASRN: the raw ASM, 1200 + 540; DM: the
20 x 20 joint distance matrix; the MANO decoder also gets the target's 10 betas per frame)
and the target hand's static description (Mixamo: its 63 offsets over the Middle1 offset's
length + its 180 axis entries; MANO: the 180 axis entries) to the target's 15 bs-rotations
in 6D, over windows of frames. `n_layers` residual blocks, the seed's: (Conv1d k3, LeakyReLU
0.2) twice, plus the residual (1x1 where widths change), then LeakyReLU (the seed's norm is
none and its dropout 0, so neither is here); the static encoder's 128 channels concatenated
before every block, as the seed. (Until 2026-12-04 the block lacked its inner LeakyReLU after
the second convolution.) One departure: the seed's last block also ends in a LeakyReLU,
which bends the 6D output's negative half; it is left off here (Gram-Schmidt takes any
two columns; nothing needs the output squashed).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from handflow.checkpoints import NetworkSpec, load_model
from handflow.config import Section
from handflow.papers.s2h.variants import MODELS

ASM_DIM = 20 * 20 * 3 + 20 * 9 * 3  # 1740
DM_DIM = 20 * 20
STATIC_DIM = {"mixamo": 63 + 180, "mano": 180}
OUT_DIM = 15 * 6


@dataclass(frozen=True)
class DecoderConfig(Section):
    """params `s2h.network`."""

    width: int  # the seed: 256
    static_width: int  # the seed: 128
    n_layers: int  # the seed: 4


class _Block(nn.Module):
    def __init__(self, c_in: int, c_out: int, last: bool) -> None:
        super().__init__()
        act = nn.LeakyReLU(0.2)
        self.body = nn.Sequential(nn.Conv1d(c_in, c_out, 3, padding=1), act, nn.Conv1d(c_out, c_out, 3, padding=1), act)
        self.skip = nn.Conv1d(c_in, c_out, 1) if c_in != c_out else nn.Identity()
        self.act = nn.Identity() if last else nn.LeakyReLU(0.2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.body(x) + self.skip(x))


class Decoder(nn.Module):
    """(B, C_dyn, T) dynamic + (B, C_static) static -> (B, T, 15, 6)."""

    def __init__(self, dyn_dim: int, static_dim: int, cfg: DecoderConfig) -> None:
        super().__init__()
        w = cfg.static_width
        self.static = nn.ModuleList(
            nn.Sequential(nn.Linear(static_dim, w), nn.LeakyReLU(0.2), nn.Linear(w, w), nn.LeakyReLU(0.2)) for _ in range(cfg.n_layers)
        )
        widths = [dyn_dim] + [cfg.width] * (cfg.n_layers - 1) + [OUT_DIM]
        self.blocks = nn.ModuleList(_Block(widths[k] + cfg.static_width, widths[k + 1], k == cfg.n_layers - 1) for k in range(cfg.n_layers))

    def forward(self, dyn: torch.Tensor, static: torch.Tensor) -> torch.Tensor:
        x = dyn
        for enc, block in zip(self.static, self.blocks, strict=True):
            s = enc(static)[:, :, None].expand(-1, -1, x.shape[-1])
            x = block(torch.cat([x, s], dim=1))
        return x.transpose(1, 2).reshape(x.shape[0], x.shape[2], 15, 6)


class RetargetNet(nn.Module):
    """Both domains' decoders; `kind` asrn (ASM in) or dm (distance matrix in)."""

    def __init__(self, kind: str, cfg: DecoderConfig) -> None:
        super().__init__()
        self.kind, self.cfg = kind, cfg
        dyn = ASM_DIM if kind == "asrn" else DM_DIM
        self.decoders = nn.ModuleDict({d: Decoder(dyn + (10 if d == "mano" else 0), STATIC_DIM[d], cfg) for d in ("mixamo", "mano")})

    def forward(self, domain: str, dyn: torch.Tensor, static: torch.Tensor) -> torch.Tensor:
        return self.decoders[domain](dyn, static)


NETWORKS = {kind: NetworkSpec(DecoderConfig, lambda cfg, kind=kind: RetargetNet(kind, cfg)) for kind in MODELS}


def load_network(path: Path, kind: str) -> tuple[nn.Module, dict]:
    """A model file of one kind (`variants.MODELS`: asrn or dm): the network in eval mode and the file's dict."""
    return load_model(path, kind, NETWORKS)
