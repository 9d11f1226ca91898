"""The cost of anti-penetration guidance (APG), side by side in one run.

1. Paper-scale denoiser (the seed's 75M-parameter architecture, weights untrained:
   the cost of a forward pass does not depend on them; the normalisation of the
   trained demo model, so decoded hands are plausible and the APG has work to
   do): sampling N interactions with CFG, without and with our batched APG.
2. Our APG against the seed's algorithm (per sample and direction: all-pairs
   nearest vertex, normal-sign test, a host sync) inside the same sampler with the
   trained demo denoiser, at equal settings: time and the penetration volume left.

    python benchmarks/bench_apg.py --model models/interhandgen/cascade.pt --hand-model data/hand_model [--n 1024]

Needs the demo pipeline's outputs (`make demo`). `--device cuda` where a GPU exists (our APG then takes its sync-free
dense path, apg.py), `--precision bf16` for the denoiser's passes in bf16 autocast.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import torch

from handflow.compute import Compute
from handflow.hand.model import create_pair
from handflow.papers.interhandgen.apg import ApgConfig, seed_penetration_loss
from handflow.papers.interhandgen.diffusion import CascadeSampler, Guidance
from handflow.papers.interhandgen.evaluate import contacts
from handflow.papers.interhandgen.features import decode_pairs
from handflow.papers.interhandgen.networks import Denoiser, n_parameters
from handflow.papers.interhandgen.representation import TwoHandDecoder
from handflow.papers.interhandgen.sample import decoder_on, draw, trained_denoiser


def timed_draw(sampler: CascadeSampler, n: int, batch: int, seed: int) -> tuple[np.ndarray, float]:
    start = time.perf_counter()
    pairs = draw(sampler, n, batch, seed)
    return pairs, time.perf_counter() - start


def penetration(decoder: TwoHandDecoder, pairs: np.ndarray) -> dict[str, float]:
    vol = np.array([c.volume_cm3 for c in contacts(decoder, decode_pairs(decoder, pairs)[0], "bench")])
    return {"penetration_volume_cm3": round(float(vol.mean()), 4), "penetrating_share": round(float((vol > 0).mean()), 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path("models/interhandgen/cascade.pt"))
    parser.add_argument("--hand-model", type=Path, default=Path("data/hand_model"))
    parser.add_argument("--n", type=int, default=1024)
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--seed-algorithm-n", type=int, default=256, help="samples for the seed's per-sample loop (it is slow)")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    args = parser.parse_args()
    torch.manual_seed(0)
    compute = Compute(torch.device(args.device), args.precision)
    decoder = TwoHandDecoder(create_pair(args.hand_model))  # the CPU's, for the penetration volumes
    on_device = decoder_on(decoder, compute)
    demo_model, normalizer, schedule = trained_denoiser(args.model, "cascade")
    apg = ApgConfig()
    report: dict = {"n": args.n, "torch_threads": torch.get_num_threads(), "sampling_steps": schedule.sampling_steps}
    report["compute"] = compute.describe()

    # 1. paper-scale denoiser: unguided (CFG only) vs guided (CFG + APG)
    paper_cfg = dataclasses.replace(
        demo_model.cfg, width=2056, embed_dim=512, n_layers=7, skips=(1, 3, 5, 6), transformer_layers=2, n_heads=4
    )
    paper = Denoiser(paper_cfg).eval()
    report["paper_scale_parameters"] = n_parameters(paper)
    _, t_plain = timed_draw(
        CascadeSampler(paper, normalizer, on_device, schedule, Guidance(0.1, None), compute=compute), args.n, args.batch, 0
    )
    _, t_apg = timed_draw(
        CascadeSampler(paper, normalizer, on_device, schedule, Guidance(0.1, apg), compute=compute), args.n, args.batch, 0
    )
    report["paper_scale"] = {
        "unguided_s": round(t_plain, 2),
        "guided_s": round(t_apg, 2),
        "guided_over_unguided": round(t_apg / t_plain, 3),
    }

    # 2. ours vs the seed's APG algorithm, trained demo denoiser, same noise
    n = args.seed_algorithm_n
    faces = (on_device.left.faces, on_device.right.faces)

    def seed_loss(v_left, j_left, v_right, j_right):
        return seed_penetration_loss(v_left, v_right, *faces, apg.rho, apg.weight)

    runs = {
        "no_apg": CascadeSampler(demo_model, normalizer, on_device, schedule, Guidance(0.1, None), compute=compute),
        "ours": CascadeSampler(demo_model, normalizer, on_device, schedule, Guidance(0.1, apg), compute=compute),
        "seed_algorithm": CascadeSampler(
            demo_model, normalizer, on_device, schedule, Guidance(0.1, apg), penetration_loss=seed_loss, compute=compute
        ),
    }
    rows = {}
    for name, sampler in runs.items():
        pairs, seconds = timed_draw(sampler, n, args.batch, 1)
        rows[name] = {"seconds": round(seconds, 2), **penetration(decoder, pairs)}
    rows["seed_over_ours_apg_time"] = round(
        (rows["seed_algorithm"]["seconds"] - rows["no_apg"]["seconds"]) / max(rows["ours"]["seconds"] - rows["no_apg"]["seconds"], 1e-9), 2
    )
    report[f"demo_denoiser_{n}_samples"] = rows
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
