"""DIGIT's training loss (reference section 4): summed terms, with the seed's weights.

L1 on the 2.5D joints (heatmap units, masked by validity, mean over B x 42 x 3),
L1 on the relative root depth (masked), BCE on handedness (masked, mean over the two
outputs), 10 x the per-pixel cross-entropy of the 33-class mask (per sample masked
by `segm_valid`, mean over pixels), and 0.1 x (left + right) bone loss: per hand, the
squared error of its 20 child-parent bone vectors (both ends valid), mean over B x 20 x 3,
the two hands' means summed, as the seed (an earlier version took one mean over all 40
bones, half the seed's weight).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from handflow.hand.joints import ih26m_parents

_PARENTS = ih26m_parents()
_CHILD = torch.as_tensor(np.flatnonzero(_PARENTS >= 0))
_PARENT = torch.as_tensor(_PARENTS[_PARENTS >= 0])


def _masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over all entries of `values` with masked entries counted as zero (the seed's masking)."""
    return (values * mask).mean()


def digit_loss(
    out: dict[str, torch.Tensor], batch: dict[str, torch.Tensor], segm_weight: float = 10.0, bone_weight: float = 0.1
) -> tuple[torch.Tensor, dict[str, float]]:
    valid = batch["joint_valid"].float()
    parts = {
        "joints": _masked_mean((out["joints"] - batch["joints"]).abs(), valid[..., None]),
        "root": _masked_mean((out["rel_root_depth"] - batch["rel_root_depth"]).abs(), batch["rel_root_valid"].float()),
        "hand": _masked_mean(
            F.binary_cross_entropy_with_logits(out["hand_logits"], batch["hand_type"], reduction="none"),
            batch["hand_type_valid"].float()[:, None],
        ),
    }
    bones_pred = out["joints"][:, _CHILD] - out["joints"][:, _PARENT]
    bones_gt = batch["joints"][:, _CHILD] - batch["joints"][:, _PARENT]
    sq, both = (bones_pred - bones_gt) ** 2, (valid[:, _CHILD] * valid[:, _PARENT])[..., None]
    right = _CHILD < 21  # the first hand's 20 bones (right, joints 0-20), then the left's
    parts["bone"] = bone_weight * (_masked_mean(sq[:, right], both[:, right]) + _masked_mean(sq[:, ~right], both[:, ~right]))
    if "segm_logits" in out:
        ce = F.cross_entropy(out["segm_logits"], batch["mask"], reduction="none")  # (B, 128, 128)
        parts["segm"] = segm_weight * _masked_mean(ce, batch["segm_valid"].float()[:, None, None])
    total = sum(parts.values())
    return total, {k: float(v.detach()) for k, v in parts.items()}
