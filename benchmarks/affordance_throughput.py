"""Affordance Diffusion throughput: ContentNet training steps/s and sampling images/s, batched against a per-image loop.

    python benchmarks/affordance_throughput.py --size demo            # CPU, the demo's network
    python benchmarks/affordance_throughput.py --size paper --device cuda   # the seed's GLIDE-64-sized UNet on a GPU

`paper`: diffusers UNet2DModel with GLIDE base-inpaint's layout (192 channels, multipliers 1-2-3-4, 3 blocks per level,
attention at downsampling 2, 4, 8), 7 input channels, 64 px, batch 8 per GPU as the seed trains. Sampling: DDIM with
`--steps` updates, one batch of `--batch` images against the seed's structure of one image at a time (the baseline, in
the same process). Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from handflow.papers.affordance.networks import ContentNet, ContentNetConfig
from handflow.papers.affordance.sample import sample_content

SIZES = {
    "demo": ContentNetConfig(64, (32, 64, 64), 1, (False, False, True)),
    "paper": ContentNetConfig(64, (192, 384, 576, 768), 3, (False, True, True, True)),
}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def train_steps_per_s(net: ContentNet, batch: int, steps: int, device: torch.device) -> float:
    opt = torch.optim.AdamW(net.parameters(), lr=1e-5, weight_decay=0.01)
    x = torch.randn(batch, 3, 64, 64, device=device)
    obj, keep = torch.randn_like(x), torch.ones(batch, 1, 64, 64, device=device)
    for i in range(steps + 3):
        if i == 3:  # warm-up excluded (cuDNN autotuning, allocator)
            _sync(device)
            start = time.perf_counter()
        t = torch.randint(0, 1000, (batch,), device=device)
        loss = torch.nn.functional.mse_loss(net.unet(torch.cat([x, obj, keep], 1), t).sample, x)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    _sync(device)
    return steps / (time.perf_counter() - start)


def sampling_images_per_s(net: ContentNet, batch: int, steps: int, device: torch.device, per_image: bool) -> float:
    obj, keep = torch.rand(batch, 3, 64, 64) * 2 - 1, torch.ones(batch, 1, 64, 64)
    g = torch.Generator().manual_seed(0)
    sample_content(net, obj[:1], keep[:1], "ddim", 2, g)  # warm-up
    _sync(device)
    start = time.perf_counter()
    if per_image:
        for i in range(batch):
            sample_content(net, obj[i : i + 1], keep[i : i + 1], "ddim", steps, g)
    else:
        sample_content(net, obj, keep, "ddim", steps, g)
    _sync(device)
    return batch / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", choices=list(SIZES), default="demo")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--train-batch", type=int, default=8)
    parser.add_argument("--train-steps", type=int, default=10)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=25)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(0)
    net = ContentNet(SIZES[args.size]).to(device)
    result = {
        "size": args.size,
        "device": torch.cuda.get_device_name() if device.type == "cuda" else f"cpu x{args.threads} threads",
        "parameters_M": sum(p.numel() for p in net.parameters()) / 1e6,
        "train_batch": args.train_batch,
        "train_steps_per_s": train_steps_per_s(net, args.train_batch, args.train_steps, device),
    }
    net.eval()
    batched = sampling_images_per_s(net, args.batch, args.steps, device, per_image=False)
    looped = sampling_images_per_s(net, args.batch, args.steps, device, per_image=True)
    result |= {
        "sampling_steps": args.steps,
        "batch": args.batch,
        "batched_images_per_s": batched,
        "per_image_loop_images_per_s": looped,
        "speedup": batched / looped,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
