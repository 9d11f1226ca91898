"""Training ASRN and DM (reference A5-A7) through the trainer contract (the retargeting itself: `retargeting`).

Each step trains both decoders, as the seed's two optimisers: for the target domain D, a
supervised batch (a window of a D training identity, retargeted onto itself: rotation MSE
in 6D plus the semantic terms) and a semi-supervised batch (a window of the other domain's
training identities onto a random D training identity: semantic terms only), plus the
anatomical limits (ASRN: the 'euler' limits at 0.1; DM: the 'axis' limits at 0.01, as
the seed's DM config). ASRN's semantic terms: the distance-weighted ASM finger
direction loss (softmin over the source's distances + 0.05) and the palm direction loss;
DM's: the MSE of row-normalised distance matrices. One Adam over both decoders instead of
the seed's two: each decoder's loss reaches only its own weights, so the updates are the
same; only the gradient clip (0.5 by norm) is taken over both together. The model file keeps
the checkpoint with the lowest validation error (`validate`), as the seed keeps its best
monitored checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from handflow.checkpoints import file_digest
from handflow.papers.s2h import torch_kin as tk
from handflow.papers.s2h.dataset import DOMAINS, MixHand
from handflow.papers.s2h.networks import DecoderConfig, RetargetNet
from handflow.papers.s2h.retargeting import Hands, retarget
from handflow.training import Trainer, TrainSection, TrainState

VAL_WINDOWS = 256  # validation windows per direction (evenly spaced over all of them)


@dataclass(frozen=True, kw_only=True)
class TrainConfig(TrainSection):
    """params `s2h.train`."""

    grad_clip: float
    window: int
    stride: int
    lambda_rf: float
    lambda_rp: float
    lambda_anat: float
    rf_unweighted: float  # the seed's lambda_rf_unweighted (0.05) added to the softmin weights


def _cos(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (F.normalize(a, dim=-1) * F.normalize(b, dim=-1)).sum(-1)


def semantic_loss(
    kind: str,
    pred: tuple[torch.Tensor, torch.Tensor],
    src: tuple[torch.Tensor, torch.Tensor],
    rf_unweighted: float,
    lambda_rf: float,
    lambda_rp: float,
) -> torch.Tensor:
    if kind == "dm":
        rn = lambda f: F.normalize(f.norm(dim=-1), dim=-1)  # noqa: E731 - row-normalised distance matrix
        return F.mse_loss(rn(pred[0]), rn(src[0]))
    w = torch.softmax(-src[0].norm(dim=-1), dim=-1) + rf_unweighted
    l_rf = -(w * _cos(pred[0], src[0])).sum(-1).mean()
    l_rp = -_cos(pred[1], src[1]).mean()
    return lambda_rf * l_rf + lambda_rp * l_rp


class RetargetTrainer(Trainer):
    def __init__(self, kind: str, data_path: Path, network: DecoderConfig, cfg: TrainConfig, seed: int) -> None:
        self.kind, self.data_path, self.network_cfg, self.cfg, self.seed = kind, data_path, network, cfg, seed
        data = MixHand.load(data_path)
        self.hands = Hands(data)
        self.bs = torch.as_tensor(data.bs, dtype=torch.float32)
        self.ids = {d: data.ids(d, "train") for d in DOMAINS}
        self.windows = {d: torch.as_tensor(data.windows(self.ids[d], cfg.window, cfg.stride)) for d in DOMAINS}
        for d in DOMAINS:
            if len(self.windows[d]) == 0:
                raise ValueError(f"no {cfg.window}-frame training window in the {d} domain")
        # validation (the seed's monitor): the other domain's validation windows onto each domain's validation identities
        self.val = {d: torch.as_tensor(data.windows(data.ids(d, "val"), cfg.window, cfg.stride)) for d in DOMAINS}
        self.val_ids = {d: torch.as_tensor(data.ids(d, "val")) for d in DOMAINS}
        if all(len(self.val[o]) and len(self.val_ids[d]) for d, o in (("mixamo", "mano"), ("mano", "mixamo"))):
            self.validation_metric = f"val_semi_{'rf_dir' if kind == 'asrn' else 'dm'}_err"

    def build(self, device: torch.device) -> TrainState:
        self.device = device
        self.hands.to(device)
        self.bs = self.bs.to(device)
        model = RetargetNet(self.kind, self.network_cfg).to(device)
        opt = torch.optim.Adam(model.parameters(), lr=self.cfg.lr, betas=(0.9, 0.999))
        constant = torch.optim.lr_scheduler.LambdaLR(opt, lambda _: 1.0)  # the seed's constant rate
        return TrainState(model, opt, constant, torch.Generator().manual_seed(self.seed))

    def _draw(self, domain: str, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        w = self.windows[domain][torch.randint(0, len(self.windows[domain]), (self.cfg.batch_size,), generator=g)]
        frames = w[:, 1:2] + torch.arange(self.cfg.window)
        return w[:, 0].to(self.device), self.bs[frames.to(self.device)]

    def loss(self, state: TrainState) -> torch.Tensor:
        g, c, net = state.generator, self.cfg, state.model
        anat = c.lambda_anat if self.kind == "asrn" else c.lambda_anat / 10  # the seed's DM: 0.01
        limits = tk.ANATOMICAL_LOSS[self.kind]
        total = torch.zeros((), device=self.device)
        for domain, other in (("mixamo", "mano"), ("mano", "mixamo")):
            ids, bs = self._draw(domain, g)
            pred, src = retarget(net, self.hands, ids, bs, ids, domain)
            sup = F.mse_loss(tk.matrix_to_rot6d(pred), tk.matrix_to_rot6d(bs))
            sup = sup + semantic_loss(self.kind, self.hands.semantics(ids, pred), src, c.rf_unweighted, c.lambda_rf, c.lambda_rp)
            src_ids, src_bs = self._draw(other, g)
            pool = torch.as_tensor(self.ids[domain])
            tgt = pool[torch.randint(0, len(pool), (len(src_ids),), generator=g)].to(self.device)
            pred_s, src_s = retarget(net, self.hands, src_ids, src_bs, tgt, domain)
            semi = semantic_loss(self.kind, self.hands.semantics(tgt, pred_s), src_s, c.rf_unweighted, c.lambda_rf, c.lambda_rp)
            total = total + sup + semi + anat * (limits(pred) + limits(pred_s))
        return total

    def validate(self, state: TrainState) -> float:
        """The semi-supervised semantic error on the validation identities, both directions averaged: the seed's
        `val/*_semi_rf_dir_err` (ASRN: the weighted finger direction term alone) or `val/*_semi_dm_err` (DM). Every
        validation window (at most VAL_WINDOWS, evenly spaced), each onto a validation identity in turn: no random draw."""
        c, errors = self.cfg, []
        for domain, other in (("mixamo", "mano"), ("mano", "mixamo")):
            w = self.val[other]
            w = w[torch.linspace(0, len(w) - 1, min(len(w), VAL_WINDOWS)).long()]
            src_ids, frames = w[:, 0].to(self.device), (w[:, 1:2] + torch.arange(c.window)).to(self.device)
            pool = self.val_ids[domain].to(self.device)
            tgt = pool[torch.arange(len(src_ids), device=self.device) % len(pool)]
            pred, src = retarget(state.model, self.hands, src_ids, self.bs[frames], tgt, domain)
            errors.append(semantic_loss(self.kind, self.hands.semantics(tgt, pred), src, c.rf_unweighted, 1.0, 0.0))
        return float(torch.stack(errors).mean())

    def identity(self) -> list:
        return [self.kind, self.network_cfg.to_dict(), self.cfg.to_dict(), self.seed, file_digest(self.data_path)]

    def export(self, state: TrainState) -> dict:
        return {"config": self.network_cfg.to_dict(), "window": self.cfg.window}
