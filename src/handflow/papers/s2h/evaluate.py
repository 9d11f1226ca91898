"""The seed's test step (reference A8): S_finger and S_palm across domains on held-out hands, MSE within the Mixamo domain.

Inter-domain: every window of the MANO test subjects retargeted onto the test character
(MANO -> Mixamo), and every window of the test character onto the MANO test subjects in
turn (Mixamo -> MANO). S_finger is the mean cosine between the source's and the result's
ASM finger directions over (window, frame, i, j), the zero diagonal included as the seed
(cosine 0 there), so its maximum is 19/20 = 0.95; S_palm the same over the palm part (max
1). Intra-domain: the test character's clips retargeted onto the first training character,
against that character playing the same clips; MSE of the 21 joints in BVH units (cm^2),
wrist-centred, wrist rotation identity.

Methods: a trained network (ASRN, DM), and the trivial baselines: copy the local rotations
(the seed's commented-out "hand copy") and copy the bs-rotations ("bs copy"). On these
embedded clips, which are defined in bs angles, copying bs is the intra-domain ground truth
by construction (MSE 0): the row says so rather than passing for a learned result.

Runs on `device` (the stage's `global.device`): the hands, the network and every index live
there, and only the per-window scores come back; on the CPU the operations are the ones they
always were.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from handflow.errors import ComputationError
from handflow.papers.s2h import torch_kin as tk
from handflow.papers.s2h.dataset import MixHand
from handflow.papers.s2h.retargeting import Hands, retarget

CHUNK = 128


def _windows(data: MixHand, ids: list[int], window: int, stride: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    w = torch.as_tensor(data.windows(ids, window, stride), device=device)
    return w[:, 0], w[:, 1:2] + torch.arange(window, device=device)


@torch.no_grad()
def _apply(method: str, net, hands: Hands, src_ids: torch.Tensor, src_bs: torch.Tensor, tgt_ids: torch.Tensor, domain: str):
    """(target positions, target ASM parts, source ASM parts) of one chunk."""
    src = hands.semantics(src_ids, src_bs)
    if method in ("asrn", "dm"):
        bs, _ = retarget(net, hands, src_ids, src_bs, tgt_ids, domain)
        pos, glob = hands.pose(tgt_ids, bs)
    elif method == "copy_bs":
        pos, glob = hands.pose(tgt_ids, src_bs)
    else:  # copy the source's local rotations onto the target's skeleton
        local = tk.from_bs(src_bs, hands.rest_local[src_ids], hands.axes[src_ids])
        pos, glob = tk.forward_kinematics(hands.offsets[tgt_ids], local)
    return pos, tk.asm(pos, glob, hands.axes[tgt_ids]), src


def _similarity(pred: torch.Tensor, src: torch.Tensor) -> torch.Tensor:
    """Per-window mean cosine of the direction vectors (zero vectors give 0, as torch's F.normalize in the seed)."""
    return (F.normalize(pred, dim=-1) * F.normalize(src, dim=-1)).sum(-1).flatten(1).mean(1)


def inter_domain(method: str, net, data: MixHand, hands: Hands, window: int, stride: int) -> dict[str, float]:
    device = hands.offsets.device
    bs = torch.as_tensor(data.bs, dtype=torch.float32, device=device)
    out = {}
    test_char = data.ids("mixamo", "test")
    mano_test = data.ids("mano", "test")
    for name, src_ids_list, tgt_pool, domain in (
        ("mano2mixamo", mano_test, test_char, "mixamo"),
        ("mixamo2mano", test_char, mano_test, "mano"),
    ):
        src_ids, frames = _windows(data, src_ids_list, window, stride, device)
        if len(src_ids) == 0 or len(tgt_pool) == 0:
            raise ComputationError(f"S2H evaluation: no {window}-frame test window to retarget {name} (a value needs at least one)")
        tgt = torch.as_tensor(tgt_pool, device=device)[torch.arange(len(src_ids), device=device) % len(tgt_pool)]
        finger, palm = [], []
        for k in range(0, len(src_ids), CHUNK):
            sl = slice(k, k + CHUNK)
            _, pred, src = _apply(method, net, hands, src_ids[sl], bs[frames[sl]], tgt[sl], domain)
            finger.append(_similarity(pred[0], src[0]))
            palm.append(_similarity(pred[1], src[1]))
        out[f"{name}_S_finger"] = float(torch.cat(finger).mean())
        out[f"{name}_S_palm"] = float(torch.cat(palm).mean())
        out[f"{name}_windows"] = float(len(src_ids))
    return out


def intra_domain(method: str, net, data: MixHand, hands: Hands, window: int, stride: int) -> dict[str, float]:
    """Test character -> the first training character, on the clips both play (aligned by clip and frame)."""
    device = hands.offsets.device
    bs = torch.as_tensor(data.bs, dtype=torch.float32, device=device)
    src_id, tgt_id = data.ids("mixamo", "test")[0], data.ids("mixamo", "train")[0]
    starts = {(int(i), c): (int(s), int(n)) for (i, s, n), c in zip(data.motions, data.clip, strict=True)}
    src_f, gt_f = [], []
    for (ident, clip), (start, length) in starts.items():
        if ident != src_id or (tgt_id, clip) not in starts:
            continue
        gt_start, gt_len = starts[(tgt_id, clip)]
        if gt_len != length:
            continue
        for s in range(0, length - window + 1, stride):
            src_f.append(start + s + np.arange(window))
            gt_f.append(gt_start + s + np.arange(window))
    src_frames, gt_frames = torch.as_tensor(np.array(src_f), device=device), torch.as_tensor(np.array(gt_f), device=device)
    n = len(src_frames)
    if n == 0:
        raise ComputationError(f"S2H evaluation: no {window}-frame clip both the test and the first training character play")
    src_ids, tgt_ids = torch.full((n,), src_id, device=device), torch.full((n,), tgt_id, device=device)
    errors = []
    for k in range(0, n, CHUNK):
        sl = slice(k, k + CHUNK)
        pos, _, _ = _apply(method, net, hands, src_ids[sl], bs[src_frames[sl]], tgt_ids[sl], "mixamo")
        gt, _ = hands.pose(tgt_ids[sl], bs[gt_frames[sl]])
        errors.append(((pos - gt) ** 2).sum(-1).flatten(1).mean(1))
    return {"intra_mse_cm2": float(torch.cat(errors).mean()), "intra_windows": float(n)}


def evaluate_method(method: str, net, data: MixHand, window: int, stride: int, device: torch.device | None = None) -> dict[str, float]:
    device = device or torch.device("cpu")
    hands = Hands(data).to(device)
    net = net.to(device) if net is not None else None
    return inter_domain(method, net, data, hands, window, stride) | intra_domain(method, net, data, hands, window, stride)
