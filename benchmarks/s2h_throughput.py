"""Semantics2Hands throughput: ASRN and DM training steps/s, and retargeting windows/s batched against one window at a time.

    python benchmarks/s2h_throughput.py --data data/processed/s2h/mixhand.h5 --size demo
    python benchmarks/s2h_throughput.py --data mixhand.h5 --size paper --device cuda

`paper`: the seed's decoder (256 wide, static encoder 128, 4 blocks), batch 64, windows of
8 frames; each step is the full loss of both decoders (supervised + semi-supervised batches
with FK and ASM of predictions). Retargeting: every MANO test window onto the test character
through ASRN, batched by 128 against the seed's test loop of one window at a time (the
baseline, in the same process, same network). Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from handflow.papers.s2h.dataset import MixHand
from handflow.papers.s2h.networks import DecoderConfig
from handflow.papers.s2h.retargeting import Hands, retarget
from handflow.papers.s2h.train import RetargetTrainer, TrainConfig

SIZES = {"demo": (DecoderConfig(128, 64, 4), 32), "paper": (DecoderConfig(256, 128, 4), 64)}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def train_steps_per_s(kind: str, data: Path, size: str, steps: int, device: torch.device) -> float:
    network, batch = SIZES[size]
    cfg = TrainConfig(
        lr=1e-4,
        batch_size=batch,
        steps=steps,
        window=8,
        stride=4,
        checkpoint_every=steps,
        log_every=steps,
        grad_clip=0.5,
        lambda_rf=1.0,
        lambda_rp=1.0,
        lambda_anat=0.1,
        rf_unweighted=0.05,
    )
    trainer = RetargetTrainer(kind, data, network, cfg, 0)
    state = trainer.build(device)  # data to the device; batches drawn with the CPU generator, as `fit` does
    for i in range(steps + 3):
        if i == 3:  # warm-up excluded
            _sync(device)
            start = time.perf_counter()
        loss = trainer.loss(state)
        state.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(state.model.parameters(), 0.5)
        state.optimizer.step()
    _sync(device)
    return steps / (time.perf_counter() - start)


@torch.no_grad()
def retarget_windows_per_s(data_path: Path, size: str, device: torch.device) -> tuple[float, float, int]:
    from handflow.papers.s2h.networks import RetargetNet

    data = MixHand.load(data_path)
    hands = Hands(data).to(device)
    net = RetargetNet("asrn", SIZES[size][0]).to(device).eval()
    w = torch.as_tensor(data.windows(data.ids("mano", "test"), 8, 4), device=device)
    bs = torch.as_tensor(data.bs, dtype=torch.float32, device=device)[w[:, 1:2] + torch.arange(8, device=device)]
    tgt = torch.full((len(w),), data.ids("mixamo", "test")[0], device=device)
    rates = []
    for chunk in (128, 1):
        retarget(net, hands, w[:1, 0], bs[:1], tgt[:1], "mixamo")  # warm-up
        _sync(device)
        start = time.perf_counter()
        for k in range(0, len(w), chunk):
            retarget(net, hands, w[k : k + chunk, 0], bs[k : k + chunk], tgt[k : k + chunk], "mixamo")
        _sync(device)
        rates.append(len(w) / (time.perf_counter() - start))
    return rates[0], rates[1], len(w)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--size", choices=list(SIZES), default="demo")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--steps", type=int, default=30)
    args = ap.parse_args()
    device = torch.device(args.device)
    out = {"size": args.size, "device": str(torch.cuda.get_device_name() if device.type == "cuda" else "cpu")}
    for kind in ("asrn", "dm"):
        out[f"{kind}_train_steps_per_s"] = round(train_steps_per_s(kind, args.data, args.size, args.steps, device), 2)
    batched, single, n = retarget_windows_per_s(args.data, args.size, device)
    out |= {
        "retarget_windows": n,
        "batched_windows_per_s": round(batched, 1),
        "one_at_a_time_windows_per_s": round(single, 1),
        "speedup": round(batched / single, 1),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
