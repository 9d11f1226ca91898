"""Retargeting a hand motion with a trained ASRN or DM: the hands' static descriptions, the decoder input, one forward pass.

Used by training (each step retargets batches of windows), by evaluation and by the figure;
apart from the trainer so the stages that only retarget do not depend on training code.
"""

from __future__ import annotations

import torch

from handflow.papers.s2h import torch_kin as tk
from handflow.papers.s2h.dataset import MixHand
from handflow.papers.s2h.networks import RetargetNet

FINGER_ROWS = slice(1, 21)


class Hands:
    """Every identity's static description as tensors (offsets, axes, canonical rest, betas, decoder input)."""

    def __init__(self, data: MixHand) -> None:
        f = lambda a: torch.as_tensor(a, dtype=torch.float32)  # noqa: E731
        self.offsets, self.axes, self.rest_local, self.betas = f(data.offsets), f(data.axes), f(data.rest_local), f(data.betas)
        self.domain = [d["domain"] for d in data.identities]
        middle = self.offsets[:, 1].norm(dim=-1)[:, None, None]
        axes20 = self.axes[:, FINGER_ROWS].reshape(len(self.axes), -1)
        self.static = {"mixamo": torch.cat([(self.offsets / middle).reshape(len(self.offsets), -1), axes20], 1), "mano": axes20}

    def to(self, device: torch.device) -> Hands:
        for name in ("offsets", "axes", "rest_local", "betas"):
            setattr(self, name, getattr(self, name).to(device))
        self.static = {k: v.to(device) for k, v in self.static.items()}
        return self

    def pose(self, ids: torch.Tensor, bs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Positions and global rotations of (B, T, 15, 3, 3) bs on the hands `ids`."""
        return tk.forward_kinematics(self.offsets[ids], tk.from_bs(bs, self.rest_local[ids], self.axes[ids]))

    def semantics(self, ids: torch.Tensor, bs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pos, glob = self.pose(ids, bs)
        return tk.asm(pos, glob, self.axes[ids])


def dynamic_input(kind: str, finger: torch.Tensor, palm: torch.Tensor, betas: torch.Tensor | None) -> torch.Tensor:
    """(B, C, T) decoder input of a source's ASM parts; `betas` (B, 10) of a MANO target."""
    b, t = finger.shape[:2]
    x = torch.cat([finger.reshape(b, t, -1), palm.reshape(b, t, -1)], -1) if kind == "asrn" else finger.norm(dim=-1).reshape(b, t, -1)
    if betas is not None:
        x = torch.cat([x, betas[:, None].expand(b, t, 10)], -1)
    return x.transpose(1, 2)


def retarget(net: RetargetNet, hands: Hands, src_ids: torch.Tensor, src_bs: torch.Tensor, tgt_ids: torch.Tensor, domain: str):
    """(predicted bs (B, T, 15, 3, 3), source ASM parts): the source windows retargeted onto the target hands."""
    finger, palm = hands.semantics(src_ids, src_bs)
    dyn = dynamic_input(net.kind, finger, palm, hands.betas[tgt_ids] if domain == "mano" else None)
    pred = tk.rot6d_to_matrix(net(domain, dyn, hands.static[domain][tgt_ids]))
    return pred, (finger, palm)
