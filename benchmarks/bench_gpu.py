"""Paper-scale training steps and sampling on a GPU at fp32 and bf16, each beside the chip's own matrix rate (one run, one process).

Prepared to be the one script a short GPU session runs (issue 28); on a CPU-only machine it runs the
same parts on the CPU, at `--scale smoke` in under a minute, to check the script itself.

0. The chip's matrix rate: 8192^3 matmuls in bf16 and fp32 (TFLOP/s), the ceiling each step's
   achieved rate is read against.
1. InterHandGen's denoiser at the seed's size (params/scales/<scale>.yaml; paper: width 2056,
   embed 512, batch 256) trained through the project's own trainer (`fit`, with the precision's
   autocast) on random pairs in the seed's representation: steps/s after the first logged
   interval (warm-up), FLOPs per step counted by torch's FlopCounterMode, and their rate.
2. Sampling with that denoiser (untrained weights: a forward pass costs the same) through the
   project's `CascadeSampler` on the device: 42 DDIM steps of the anchor plus the add hand with CFG,
   unguided and with our batched APG (needs `--hand-model`: the demo pipeline's data/hand_model),
   and the seed's per-sample APG algorithm on fewer samples: samples/s of each.
3. DIGIT at the seed's size (HRNet-W32, batch 64): forward, loss and Adam step on a synthetic batch
   of the training samples' shapes, NCHW and channels-last (the LMDB loader is measured apart,
   bench_digit_loader.py).
4. Affordance Diffusion's ContentNet, Diffusion-HPC's text-to-image network and Semantics2Hands'
   ASRN at the scale's sizes: one training step (forward, MSE, backward, AdamW) on random tensors,
   each network placed by `Compute.prepare` as the pipeline places it (channels-last on a GPU).
5. With `--compile` (the default on a GPU): the training rows again at bf16 with `global.compile`
   (torch.compile in place, through `Compute.prepare` and `fit`), last, so a session cut short keeps
   the rest; the first logged interval (compilation) is not timed.

    python benchmarks/bench_gpu.py --out benchmarks/results/bench_gpu_h200.json --hand-model data/hand_model
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from handflow.compute import Compute
from handflow.papers.affordance.networks import ContentNet, ContentNetConfig
from handflow.papers.dhpc.networks import TextToImage, TextToImageConfig
from handflow.papers.digit.losses import digit_loss
from handflow.papers.digit.networks import Digit, DigitConfig
from handflow.papers.interhandgen.apg import ApgConfig, seed_penetration_loss
from handflow.papers.interhandgen.dataset import write_pairs
from handflow.papers.interhandgen.diffusion import CascadeSampler, Guidance, ScheduleConfig
from handflow.papers.interhandgen.networks import Denoiser, DenoiserConfig, n_parameters
from handflow.papers.interhandgen.representation import DIM, Normalizer, TwoHandDecoder
from handflow.papers.interhandgen.sample import draw
from handflow.papers.interhandgen.train import DenoiserTrainer, TrainConfig, architecture
from handflow.papers.s2h.networks import ASM_DIM, STATIC_DIM, DecoderConfig, RetargetNet
from handflow.params import load_params
from handflow.training import fit

REPO = Path(__file__).resolve().parents[1]
PRECISIONS = ("fp32", "bf16")


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


def matmul_tflops(device: torch.device, dtype: torch.dtype, n: int, reps: int) -> float:
    a, b = (torch.randn(n, n, device=device, dtype=dtype) for _ in range(2))
    a @ b
    sync(device)
    start = time.perf_counter()
    for _ in range(reps):
        a @ b
    sync(device)
    return round(2 * n**3 * reps / (time.perf_counter() - start) / 1e12, 2)


def counted_flops(step: Callable[[], None]) -> int:
    """FLOPs of one call of `step` (forward and backward), as torch's FlopCounterMode counts them (matmuls and convolutions)."""
    with FlopCounterMode(display=False) as counter:
        step()
    return counter.get_total_flops()


def timed(step: Callable[[], None], device: torch.device, steps: int, warmup: int = 1) -> float:
    """Steps per second after `warmup` untimed steps (a compiled network may compile again on its second and third)."""
    for _ in range(warmup):
        step()
    sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    sync(device)
    return steps / (time.perf_counter() - start)


def rate_row(steps_per_s: float, flops: int, batch: int, peak_bf16: float) -> dict:
    achieved = steps_per_s * flops / 1e12
    return {
        "steps_per_s": round(steps_per_s, 3),
        "items_per_s": round(steps_per_s * batch, 1),
        "gflop_per_step": round(flops / 1e9, 2),
        "achieved_tflops": round(achieved, 2),
        "share_of_bf16_matmul_rate": round(achieved / peak_bf16, 4) if peak_bf16 else None,
    }


def ihg_training(p, work: Path, compute: Compute, steps: int, log_every: int, peak: float) -> dict:
    rng = np.random.default_rng(0)
    pairs = rng.normal(0, 1, (20000, 2, DIM)).astype(np.float32)
    write_pairs(work / "pairs.h5", {"pairs": pairs, "pairs_swapped": pairs[:, ::-1].copy()}, {"data_source": "random"})
    Normalizer.fit(pairs).save(work / "stats.json")
    base = TrainConfig.from_params(p, "interhandgen.train")
    cfg = TrainConfig(**{**base.to_dict(), "steps": steps, "log_every": log_every, "checkpoint_every": 10 * steps})
    network = DenoiserConfig.from_params(p, "interhandgen.model", **architecture("cascade"))
    schedule = ScheduleConfig.from_params(p, "interhandgen.diffusion")
    trainer = DenoiserTrainer("cascade", work / "pairs.h5", work / "stats.json", network, schedule, cfg, True, 0)
    state = trainer.build(compute.device)

    def one() -> None:
        with compute.autocast():
            loss = trainer.loss(state)
        loss.backward()

    flops = counted_flops(one)
    stamps: list[tuple[int, float]] = []

    def on_log(step: int, loss: float) -> None:
        sync(compute.device)
        stamps.append((step, time.perf_counter()))

    tag = f"{compute.device.type}_{compute.precision}{'_compiled' if compute.compile else ''}"
    fit(trainer, work / f"ck_{tag}", work / f"m_{tag}.pt", work / f"c_{tag}.tsv", on_log, compute)
    (s0, t0), (s1, t1) = stamps[0], stamps[-1]
    rates = rate_row((s1 - s0) / (t1 - t0), flops, cfg.batch_size, peak)
    return {**rates, "batch": cfg.batch_size, "timed_steps": s1 - s0, "n_parameters": n_parameters(Denoiser(network))}


def ihg_sampling(p, compute: Compute, n: int, batch: int, hand_model: Path | None, seed_n: int) -> dict:
    """Unguided, our APG and the seed's APG through the project's sampler; samples/s of each."""
    from handflow.hand.model import create_pair

    torch.manual_seed(0)
    model = Denoiser(DenoiserConfig.from_params(p, "interhandgen.model", **architecture("cascade")))
    schedule = ScheduleConfig.from_params(p, "interhandgen.diffusion")
    normalizer = Normalizer(np.zeros(DIM), np.full(DIM, 0.1))
    w = p.get("interhandgen.sample.cfg_weight")
    decoder = TwoHandDecoder(create_pair(hand_model)).to(compute.device) if hand_model else None
    apg = ApgConfig()
    runs: dict[str, tuple[Guidance, Callable | None, int]] = {"unguided": (Guidance(w, None), None, n)}
    if decoder is not None:
        faces = (decoder.left.faces, decoder.right.faces)
        runs["apg_ours"] = (Guidance(w, apg), None, n)
        runs["apg_seed_algorithm"] = (
            Guidance(w, apg),
            lambda vl, jl, vr, jr: seed_penetration_loss(vl, vr, *faces, apg.rho, apg.weight),
            seed_n,
        )
    out: dict = {"ddim_steps": schedule.sampling_steps, "batch": batch}
    for name, (guidance, loss, count) in runs.items():
        sampler = CascadeSampler(model, normalizer, decoder, schedule, guidance, penetration_loss=loss, compute=compute)
        draw(sampler, min(batch, 64), batch, 0)  # warm-up
        start = time.perf_counter()
        draw(sampler, count, min(batch, count), 1)  # returns host arrays: synchronised
        seconds = time.perf_counter() - start
        out[name] = {"samples": count, "seconds": round(seconds, 3), "samples_per_s": round(count / seconds, 2)}
    if decoder is not None:
        out["apg_over_unguided_time"] = round(out["unguided"]["samples_per_s"] / out["apg_ours"]["samples_per_s"], 3)
        out["ours_over_seed_apg_speed"] = round(out["apg_ours"]["samples_per_s"] / out["apg_seed_algorithm"]["samples_per_s"], 2)
    else:
        out["apg"] = "not measured: no --hand-model"
    return out


def digit_training(p, compute: Compute, steps: int, batch: int, peak: float, channels_last: bool) -> dict:
    torch.manual_seed(0)
    device = compute.device
    cfg = DigitConfig.from_params(p, "digit.model", use_segmentation=True)
    model = Digit(cfg).to(device).train()
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt)
    if compute.compile:
        model.compile()
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
    sample["image"] = sample["image"].contiguous(memory_format=fmt)

    def forward_backward() -> None:
        with compute.autocast():
            loss, _ = digit_loss(model(sample["image"]), sample)
        opt.zero_grad(set_to_none=True)
        loss.backward()

    def step() -> None:
        forward_backward()
        opt.step()

    flops = counted_flops(forward_backward)
    return {**rate_row(timed(step, device, steps, 3 if compute.compile else 1), flops, batch, peak), "batch": batch, "timed_steps": steps}


def network_step(model: torch.nn.Module, inputs: tuple, target: torch.Tensor, compute: Compute, steps: int, peak: float, call=None) -> dict:
    """One AdamW training step of `model` on fixed random inputs: MSE against `target`."""
    model = compute.prepare(model).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    inputs = tuple(x.to(compute.device) if isinstance(x, torch.Tensor) else x for x in inputs)
    target = target.to(compute.device)
    call = call or model

    def forward_backward() -> None:
        with compute.autocast():
            loss = torch.nn.functional.mse_loss(call(*inputs).float(), target)
        opt.zero_grad(set_to_none=True)
        loss.backward()

    def step() -> None:
        forward_backward()
        opt.step()

    flops = counted_flops(forward_backward)
    n_parameters = sum(q.numel() for q in model.parameters())
    rate = timed(step, compute.device, steps, 3 if compute.compile else 1)
    return {**rate_row(rate, flops, len(target), peak), "n_parameters": n_parameters}


def other_papers(p, compute: Compute, steps: int, peak: float) -> dict:
    g = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    out = {}
    content = ContentNetConfig.from_params(p, "affordance.content.network")
    b, s = p.get("affordance.content.train.batch_size"), content.image_size
    x = torch.randn(b, 3, s, s, generator=g)
    out["affordance_content_train"] = network_step(
        ContentNet(content), (x, torch.randint(0, 1000, (b,), generator=g), x, torch.ones(b, 1, s, s)), x, compute, steps, peak
    )
    t2i = TextToImageConfig.from_params(p, "dhpc.t2i.network")
    b, s = p.get("dhpc.t2i.train.batch_size"), t2i.image_size
    x = torch.randn(b, 3, s, s, generator=g)
    tokens = torch.randint(1, 20, (b, t2i.max_tokens), generator=g)
    out["dhpc_t2i_train"] = network_step(TextToImage(t2i), (x, torch.randint(0, 1000, (b,), generator=g), tokens), x, compute, steps, peak)
    s2h = DecoderConfig.from_params(p, "s2h.network")
    b, window = p.get("s2h.train.batch_size"), p.get("s2h.train.window")
    net = RetargetNet("asrn", s2h)
    dyn, static = torch.randn(b, ASM_DIM, window, generator=g), torch.randn(b, STATIC_DIM["mixamo"], generator=g)
    out["s2h_asrn_train"] = network_step(
        net, ("mixamo", dyn, static), torch.randn(b, window, 15, 6, generator=g), compute, steps, peak, call=net.forward
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench_gpu.json"))
    parser.add_argument("--cpu", action="store_true", help="also run each part on the CPU (fewer steps) for the ratio")
    parser.add_argument("--scale", default="paper", help="sizes from params/scales/<scale>.yaml (smoke: a quick check of this script)")
    parser.add_argument("--hand-model", type=Path, default=None, help="a prepared hand model folder (data/hand_model): APG rows")
    parser.add_argument("--precisions", nargs="+", default=list(PRECISIONS), choices=PRECISIONS)
    parser.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None, help="compiled bf16 rows (default: on a GPU)")
    args = parser.parse_args()
    p, tmp = scale_params(args.scale)
    results: dict = {"scale": args.scale, "torch": torch.__version__, "threads": torch.get_num_threads()}
    devices = [torch.device("cuda")] if torch.cuda.is_available() else []
    if torch.cuda.is_available():
        results["gpu"] = torch.cuda.get_device_name()
        torch.backends.cuda.matmul.allow_tf32 = False  # fp32 rows are fp32
    if args.cpu or not devices:
        devices.append(torch.device("cpu"))

    def record(device: torch.device, key: str, value: dict) -> None:
        results[device.type][key] = value
        print(device, key, json.dumps(value), flush=True)
        args.out.write_text(json.dumps(results, indent=2))  # what was measured survives a kill

    for device in devices:
        gpu = device.type == "cuda"
        results[device.type] = {}
        n = 8192 if gpu else 1024
        peak = {name: matmul_tflops(device, dt, n, 20 if gpu else 2) for name, dt in (("bf16", torch.bfloat16), ("fp32", torch.float32))}
        record(device, "matmul_tflops", peak)
        for precision in args.precisions:
            compute = Compute(device, precision)
            ihg = ihg_training(p, tmp, compute, steps=300 if gpu else 6, log_every=25 if gpu else 2, peak=peak["bf16"])
            record(device, f"interhandgen_train_{precision}", ihg)
            size = (10000, 2500, 256) if gpu else (64, 64, 8)
            record(device, f"interhandgen_sample_{precision}", ihg_sampling(p, compute, *size[:2], args.hand_model, size[2]))
            batch = p.get("digit.train.batch_size")
            for channels_last in (False, True):
                row = digit_training(p, compute, 40 if gpu else 1, batch, peak["bf16"], channels_last)
                record(device, f"digit_train_{precision}{'_channels_last' if channels_last else ''}", row)
            for key, row in other_papers(p, compute, 50 if gpu else 1, peak["bf16"]).items():
                record(device, f"{key}_{precision}", row)
        if gpu if args.compile is None else args.compile:
            compute = Compute(device, "bf16", compile=True)
            ihg = ihg_training(p, tmp, compute, steps=300 if gpu else 6, log_every=25 if gpu else 2, peak=peak["bf16"])
            record(device, "interhandgen_train_bf16_compiled", ihg)
            digit = digit_training(p, compute, 40 if gpu else 1, p.get("digit.train.batch_size"), peak["bf16"], channels_last=gpu)
            record(device, "digit_train_bf16_compiled", digit)
            for key, row in other_papers(p, compute, 50 if gpu else 1, peak["bf16"]).items():
                record(device, f"{key}_bf16_compiled", row)
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
