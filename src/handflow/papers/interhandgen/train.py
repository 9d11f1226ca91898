"""Stage 2: train the denoiser, the cascade (one shared network, two roles) or the joint baseline.

The seed's settings at the paper scale: Adam 1e-3, batch 256, gradient-norm clip 4,
learning rate x0.9 every 20 epochs, 80 epochs. Batches are drawn with replacement
from a seeded generator, and each pair is swapped (the mirrored scene) with
probability 1/2 per sample (the seed flips one coin per batch).
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from handflow.errors import InputError
from handflow.papers.interhandgen.dataset import read_pairs
from handflow.papers.interhandgen.diffusion import ScheduleConfig, cascade_loss, joint_loss
from handflow.papers.interhandgen.model import Denoiser, DenoiserConfig, n_parameters
from handflow.papers.interhandgen.representation import DIM, HAND_DIMS, Normalizer
from handflow.training import (
    CPU,
    LoopConfig,
    TrainState,
    cpu_state,
    file_digest,
    fingerprint,
    load_torch,
    save_torch,
    train,
    write_loss_curve,
)

KINDS = ("cascade", "joint")


def denoiser_config(kind: str, p: dict) -> DenoiserConfig:
    m = p["model"]
    dims = {"cascade": (DIM, HAND_DIMS), "joint": (HAND_DIMS + DIM, 0)}[kind]
    return DenoiserConfig(
        *dims,
        width=m["width"],
        embed_dim=m["embed_dim"],
        n_layers=m["n_layers"],
        skips=tuple(m["skips"]),
        transformer_layers=m["transformer_layers"],
        n_heads=m["n_heads"],
        dropout=m["dropout"],
    )


def train_denoiser(
    kind: str,
    pairs_path: Path,
    stats_path: Path,
    p: dict,
    seed: int,
    checkpoint_dir: Path,
    out: Path,
    curve: Path,
    on_log=None,
    device: torch.device = CPU,
) -> dict[str, float]:
    normalizer = Normalizer.load(stats_path)
    raw = [read_pairs(pairs_path)]
    if p["dataset"]["swap_augmentation"]:
        raw.append(read_pairs(pairs_path, "pairs_swapped"))
    views = torch.as_tensor(np.stack([normalizer.normalize(r) for r in raw]), dtype=torch.float32).to(device)  # (views, N, 2, 64)
    n_views, n = views.shape[:2]
    if n < 2:
        raise InputError(pairs_path, "pairs", f"{n} training pairs; at least 2 are needed")
    t = p["train"]
    torch.manual_seed(seed)
    cfg = denoiser_config(kind, p)
    model = Denoiser(cfg).to(device)
    schedule = ScheduleConfig(**p["diffusion"])
    sched = schedule.training()
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=t["lr"], betas=(0.9, 0.999), eps=1e-8)
    lr_schedule = torch.optim.lr_scheduler.StepLR(opt, step_size=t["lr_decay_every"], gamma=t["lr_decay"])
    batch = min(t["batch_size"], n)

    def loss_fn() -> torch.Tensor:
        idx = torch.randint(0, n, (batch,), generator=gen)
        view = torch.randint(0, n_views, (batch,), generator=gen)
        x = views[view, idx]
        if kind == "cascade":
            return cascade_loss(model, sched, x[:, 0], x[:, 1], t["p_uncond"], gen)
        return joint_loss(model, sched, x[:, 0], x[:, 1], gen)

    # a multiple of log_every, so a resumed run logs the same running means as an uninterrupted one
    every = -(-t["checkpoint_every"] // t["log_every"]) * t["log_every"]
    run_id = fingerprint(kind, p["model"], p["diffusion"], t, p["dataset"], seed, file_digest(pairs_path), file_digest(stats_path))
    loop = LoopConfig(t["steps"], every, t["log_every"], checkpoint_dir, run_id, grad_clip=t["grad_clip"] or None)
    history = train(TrainState(model, opt, lr_schedule, gen), loop, loss_fn, on_log)
    save_torch(
        {
            "kind": kind,
            "config": cfg.to_dict(),
            "schedule": asdict(schedule),
            "state_dict": cpu_state(model),
            "normalizer": {"mean": normalizer.mean.tolist(), "std": normalizer.std.tolist()},
            "fingerprint": run_id,
            "steps": t["steps"],
        },
        out,
    )
    write_loss_curve(history, curve)
    return {"final_loss": history[-1][1], "n_pairs": float(n), "n_parameters": float(n_parameters(model))}


def load_denoiser(path: Path, kind: str | None = None) -> tuple[Denoiser, Normalizer, ScheduleConfig]:
    ckpt = load_torch(path, ("kind", "config", "schedule", "state_dict", "normalizer"))
    if kind is not None and ckpt["kind"] != kind:
        raise InputError(path, "kind", f"{ckpt['kind']!r}, expected {kind!r}")
    try:
        cfg = DenoiserConfig(**{**ckpt["config"], "skips": tuple(ckpt["config"]["skips"])})
        model = Denoiser(cfg)
        model.load_state_dict(ckpt["state_dict"])
        normalizer = Normalizer(np.asarray(ckpt["normalizer"]["mean"]), np.asarray(ckpt["normalizer"]["std"]))
        schedule = ScheduleConfig(**ckpt["schedule"])
    except (TypeError, KeyError, RuntimeError) as exc:
        raise InputError(path, "state_dict", f"does not match the model it describes ({str(exc).splitlines()[0][:120]})") from None
    return model.eval(), normalizer, schedule
