"""Paper-scale training steps and sampling on a GPU, each beside the same work on the machine's CPU (one run, one process).

1. InterHandGen's denoiser at the seed's size (params/scales/paper.yaml: width 2056, embed
   512, batch 256) trained through the project's own trainer (`fit`) on random pairs in the
   seed's representation: steps per second after the first logged interval (warm-up).
2. Sampling with that denoiser (untrained weights: a forward pass costs the same): the
   cascade's denoiser passes, 42 DDIM steps of the anchor plus the add hand with CFG (two
   passes), for 10,000 samples (the seed's evaluation size) in batches of 2,500. APG is not
   included: the sampler's guidance runs on the CPU only so far.
3. DIGIT at the seed's size (HRNet-W32, batch 64): forward, loss and Adam step on a
   synthetic batch of the training samples' shapes (the LMDB loader is measured apart,
   bench_digit_loader.py).

    python benchmarks/bench_gpu.py --out bench_gpu.json
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from handflow.papers.digit.losses import digit_loss
from handflow.papers.digit.networks import Digit, DigitConfig
from handflow.papers.interhandgen.dataset import write_pairs
from handflow.papers.interhandgen.diffusion import ScheduleConfig, _denoise
from handflow.papers.interhandgen.networks import Denoiser, DenoiserConfig, n_parameters
from handflow.papers.interhandgen.representation import DIM, HAND_DIMS, Normalizer
from handflow.papers.interhandgen.train import DenoiserTrainer, TrainConfig, architecture
from handflow.params import load_params
from handflow.training import fit

REPO = Path(__file__).resolve().parents[1]


def scale_params(scale: str):
    tmp = Path(tempfile.mkdtemp())
    shutil.copytree(REPO / "params", tmp / "params")
    shutil.copytree(REPO / "workflow" / "schemas", tmp / "workflow" / "schemas")
    glob = tmp / "params" / "global.yaml"
    glob.write_text(glob.read_text().replace("scale: demo", f"scale: {scale}"))
    return load_params(tmp), tmp


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def ihg_training(p, work: Path, device: torch.device, steps: int, log_every: int) -> dict:
    rng = np.random.default_rng(0)
    pairs = rng.normal(0, 1, (20000, 2, DIM)).astype(np.float32)
    write_pairs(work / "pairs.h5", {"pairs": pairs, "pairs_swapped": pairs[:, ::-1].copy()}, {"data_source": "random"})
    Normalizer.fit(pairs).save(work / "stats.json")
    base = TrainConfig.from_params(p, "interhandgen.train")
    cfg = TrainConfig(**{**base.to_dict(), "steps": steps, "log_every": log_every, "checkpoint_every": 10 * steps})
    network = DenoiserConfig.from_params(p, "interhandgen.model", **architecture("cascade"))
    schedule = ScheduleConfig.from_params(p, "interhandgen.diffusion")
    trainer = DenoiserTrainer("cascade", work / "pairs.h5", work / "stats.json", network, schedule, cfg, True, 0)
    stamps: list[tuple[int, float]] = []

    def on_log(step: int, loss: float) -> None:
        sync(device)
        stamps.append((step, time.perf_counter()))

    ck = work / f"ck_{device.type}"
    fit(trainer, ck, work / f"m_{device.type}.pt", work / f"c_{device.type}.tsv", on_log, device)
    (s0, t0), (s1, t1) = stamps[0], stamps[-1]
    rate = (s1 - s0) / (t1 - t0)
    return {
        "steps_per_s": round(rate, 3),
        "pairs_per_s": round(rate * cfg.batch_size, 1),
        "batch": cfg.batch_size,
        "timed_steps": s1 - s0,
        "n_parameters": n_parameters(Denoiser(network)),
    }


@torch.no_grad()
def ihg_sampling(p, device: torch.device, n: int, batch: int) -> dict:
    torch.manual_seed(0)
    model = Denoiser(DenoiserConfig.from_params(p, "interhandgen.model", **architecture("cascade"))).to(device).eval()
    schedule = ScheduleConfig.from_params(p, "interhandgen.diffusion")
    sched = schedule.sampling()
    sched.set_timesteps(schedule.sampling_steps, device=device)
    w = p.get("interhandgen.sample.cfg_weight")

    def one_batch(m: int) -> None:
        anchor = _denoise(sched, torch.randn(m, DIM, device=device), lambda x, t, k: model(x, t))
        cond = anchor[:, :HAND_DIMS]

        def add_x0(x, t, k):
            both = model(torch.cat([x, x]), torch.cat([t, t]), torch.cat([cond, torch.zeros_like(cond)]))
            return both[:m] + w * (both[:m] - both[m:])

        _denoise(sched, torch.randn(m, DIM, device=device), add_x0)

    one_batch(min(batch, 64))  # warm-up
    sync(device)
    start = time.perf_counter()
    for s in range(0, n, batch):
        one_batch(min(batch, n - s))
    sync(device)
    seconds = time.perf_counter() - start
    return {
        "samples": n,
        "batch": batch,
        "seconds": round(seconds, 3),
        "samples_per_s": round(n / seconds, 1),
        "ddim_steps": schedule.sampling_steps,
    }


def digit_training(p, device: torch.device, steps: int, batch: int) -> dict:
    torch.manual_seed(0)
    cfg = DigitConfig.from_params(p, "digit.model", use_segmentation=True)
    model = Digit(cfg).to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    g = torch.Generator().manual_seed(0)
    sample = {
        "image": torch.rand(batch, 3, 256, 256, generator=g),
        "mask": torch.randint(0, 33, (batch, 128, 128), generator=g),
        "joints": torch.rand(batch, 42, 3, generator=g) * 64,
        "joint_valid": torch.ones(batch, 42, dtype=torch.bool),
        "rel_root_depth": torch.rand(batch, generator=g) * 64,
        "rel_root_valid": torch.ones(batch, dtype=torch.bool),
        "hand_type": torch.ones(batch, 2),
        "hand_type_valid": torch.ones(batch, dtype=torch.bool),
        "segm_valid": torch.ones(batch, dtype=torch.bool),
    }
    sample = {k: v.to(device) for k, v in sample.items()}

    def step() -> None:
        loss, _ = digit_loss(model(sample["image"]), sample)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    step()
    sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    sync(device)
    seconds = time.perf_counter() - start
    rates = {"steps_per_s": round(steps / seconds, 3), "images_per_s": round(steps * batch / seconds, 1)}
    return {**rates, "batch": batch, "timed_steps": steps, "n_parameters": sum(q.numel() for q in model.parameters())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench_gpu.json"))
    parser.add_argument("--cpu", action="store_true", help="also run each part on the CPU (fewer steps) for the ratio")
    parser.add_argument("--scale", default="paper", help="sizes from params/scales/<scale>.yaml (smoke: a quick check of this script)")
    args = parser.parse_args()
    p, tmp = scale_params(args.scale)
    results: dict = {"scale": args.scale, "torch": torch.__version__, "threads": torch.get_num_threads()}
    devices = [torch.device("cuda")] if torch.cuda.is_available() else []
    if torch.cuda.is_available():
        results["gpu"] = torch.cuda.get_device_name()
    if args.cpu or not devices:
        devices.append(torch.device("cpu"))
    for device in devices:
        gpu = device.type == "cuda"
        r = results[device.type] = {}
        r["interhandgen_train"] = ihg_training(p, tmp, device, steps=300 if gpu else 12, log_every=25 if gpu else 3)
        print(device, "interhandgen_train", r["interhandgen_train"], flush=True)
        r["interhandgen_sample"] = ihg_sampling(p, device, n=10000 if gpu else 250, batch=2500 if gpu else 250)
        print(device, "interhandgen_sample", r["interhandgen_sample"], flush=True)
        r["digit_train"] = digit_training(p, device, steps=60 if gpu else 2, batch=p.get("digit.train.batch_size"))
        print(device, "digit_train", r["digit_train"], flush=True)
    args.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
