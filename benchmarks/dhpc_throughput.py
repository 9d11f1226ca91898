"""Diffusion-HPC throughput: images/s of text-to-image generation + pose correction, batched, against the seed's structure.

    python benchmarks/dhpc_throughput.py --size demo --images 16
    python benchmarks/dhpc_throughput.py --size paper --images 64 --device cuda

The seed (`api.py`, `*_quant_eval.py`) handles one prompt at a time: generate, segment,
regress, render depth, regenerate, and its helper modules load their networks as they are
used. The baseline here does that: every network read from its file again for each image,
then one image through the whole loop. Ours: networks loaded once, every stage batched.
Same networks (random weights at the size of `--size`: speed does not depend on them),
same sampler steps, in the same process; correction keeps every image (no filter, any mask)
so both paths do the same work. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

from handflow.checkpoints import save_torch
from handflow.papers.dhpc.body import load_body
from handflow.papers.dhpc.generate import CorrectConfig, correct
from handflow.papers.dhpc.generators import SampleConfig, sample_images
from handflow.papers.dhpc.networks import ConvConfig, HMRNet, MaskNet, PosePrior, PriorConfig, TextToImage, TextToImageConfig, load_network
from handflow.papers.dhpc.text import tokenize

SIZES = {  # t2i network, regressor, mask, prior, sampler steps
    "demo": (
        TextToImageConfig(32, (32, 64, 64), 32, 12),
        ConvConfig(32, (16, 32, 64), 128),
        ConvConfig(32, (16, 32)),
        PriorConfig(16, 128),
        25,
    ),
    "paper": (
        TextToImageConfig(64, (64, 128, 256), 64, 12),
        ConvConfig(64, (32, 64, 128, 256), 256),
        ConvConfig(64, (32, 64, 128)),
        PriorConfig(32, 512),
        50,
    ),
}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _write_models(folder: Path, size: str) -> dict[str, Path]:
    t2i, hmr, mask, prior, _ = SIZES[size]
    depth = TextToImageConfig(t2i.image_size, t2i.channels, t2i.text_dim, t2i.max_tokens, True)
    nets = {
        "t2i": (TextToImage(t2i), t2i),
        "depth": (TextToImage(depth), depth),
        "hmr": (HMRNet(hmr), hmr),
        "mask": (MaskNet(mask), mask),
        "prior": (PosePrior(prior), prior),
    }
    files = {}
    for kind, (net, cfg) in nets.items():
        files[kind] = folder / f"{kind}.pt"
        save_torch({"kind": kind, "config": cfg.to_dict(), "state_dict": net.state_dict()}, files[kind])
    return files


def _load(files: dict[str, Path], device: torch.device) -> dict:
    return {kind: load_network(path, kind)[0].to(device) for kind, path in files.items()}


def _generate_and_correct(nets: dict, prompts: list[str], steps: int, batch: int, g: torch.Generator, backend: str, body) -> int:
    sample = SampleConfig(steps, 7.5, batch)
    images = sample_images(nets["t2i"], tokenize(prompts, 12, "benchmark"), sample, g)
    out = correct(images, prompts, nets, CorrectConfig(0.7, True, 0.0, None), sample, g, backend, body)
    return len(out.kept)


def measure(size: str, n: int, device: torch.device, backend: str) -> dict:
    steps = SIZES[size][-1]
    tokens = ["a photo of an athlete doing a handstand"] * n
    body = load_body(None)  # loaded once on both sides: the seed's body model stays in memory too
    with tempfile.TemporaryDirectory() as tmp:
        files = _write_models(Path(tmp), size)
        _generate_and_correct(_load(files, device), tokens[:2], steps, 2, torch.Generator().manual_seed(0), backend, body)  # warm-up
        _sync(device)
        start = time.perf_counter()
        nets = _load(files, device)
        done = _generate_and_correct(nets, tokens, steps, n, torch.Generator().manual_seed(0), backend, body)
        _sync(device)
        batched = done / (time.perf_counter() - start)
        start = time.perf_counter()
        for i in range(n):  # the seed's structure: each image alone, its networks read again
            _generate_and_correct(_load(files, device), tokens[i : i + 1], steps, 1, torch.Generator().manual_seed(i), backend, body)
        _sync(device)
        single = n / (time.perf_counter() - start)
    return {
        "size": size,
        "device": str(device),
        "images": n,
        "sampler_steps": steps,
        "correction_steps": int(steps * 0.7),
        "batched_images_per_s": batched,
        "per_image_reload_images_per_s": single,
        "speedup": batched / single,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=list(SIZES), default="demo")
    parser.add_argument("--images", type=int, default=16)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--backend", default="auto")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(json.dumps({**measure(args.size, args.images, torch.device(args.device), args.backend), "threads": args.threads}))


if __name__ == "__main__":
    main()
