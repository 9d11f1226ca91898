"""DIGIT training from the LMDBs: the seed's optimiser (Adam 1e-4, x0.1 at a step), its loss, checkpoints and resume.

Batches are drawn with replacement by a seeded generator, each sample's augmentation
seeded by (seed, epoch, index) where the epoch is the step's pass over the data, so a
resumed run sees exactly the samples an uninterrupted one would.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from handflow.errors import InputError
from handflow.papers.digit.dataset import Augment, DigitSamples
from handflow.papers.digit.losses import digit_loss
from handflow.papers.digit.model import Digit, DigitConfig, load_imagenet_weights
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


@dataclass(frozen=True)
class SplitStores:
    annotations: Path
    images: Path
    masks: Path
    masks_meta: Path

    def digest(self) -> list[str]:
        return [file_digest(self.annotations), file_digest(self.images / "data.mdb"), file_digest(self.masks / "data.mdb")]


def model_config(m: dict, use_segmentation: bool) -> DigitConfig:
    """The network of params `digit.model` (lists become the config's tuples)."""
    return DigitConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in m.items()}, use_segmentation=use_segmentation)


def train_digit(stores: SplitStores, m: dict, t: dict, use_segmentation: bool, seed: int, checkpoint_dir: Path, out: Path,
                curve: Path, pretrained: Path | None = None, on_log=None,
                device: torch.device = CPU) -> dict[str, float]:  # fmt: skip
    """Train from `stores`; `pretrained`: HRNet ImageNet weights for the backbone (the rest starts from scratch)."""
    data = DigitSamples(stores.annotations, stores.images, stores.masks, stores.masks_meta, Augment(), seed=seed)
    torch.manual_seed(seed)
    cfg = model_config(m, use_segmentation)
    model = Digit(cfg)
    n_pretrained = load_imagenet_weights(model.backbone, pretrained) if pretrained else 0
    model.to(device)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=t["lr"])
    lr_schedule = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[t["lr_decay_step"]], gamma=0.1)
    batch = min(t["batch_size"], len(data))

    def loss_fn() -> torch.Tensor:
        # steps done so far = the schedule's counter, which a resume restores
        data.set_epoch(lr_schedule.last_epoch * batch // len(data))
        idx = torch.randint(0, len(data), (batch,), generator=gen).tolist()
        samples = torch.utils.data.default_collate([data[i] for i in idx])
        samples = {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in samples.items()}
        loss, _ = digit_loss(model(samples["image"]), samples)
        return loss

    run_id = fingerprint("digit", cfg.to_dict(), t, seed, stores.digest(), file_digest(pretrained) if pretrained else None)
    every = -(-t["checkpoint_every"] // t["log_every"]) * t["log_every"]
    loop = LoopConfig(t["steps"], every, t["log_every"], checkpoint_dir, run_id, grad_clip=None)
    history = train(TrainState(model, opt, lr_schedule, gen), loop, loss_fn, on_log)
    save_torch({"config": cfg.to_dict(), "state_dict": cpu_state(model), "fingerprint": run_id, "steps": t["steps"]}, out)
    write_loss_curve(history, curve)
    return {"final_loss": history[-1][1], "n_images": float(len(data)), "pretrained_tensors": float(n_pretrained)}


def load_digit(path: Path) -> Digit:
    ckpt = load_torch(path, ("config", "state_dict"))
    cfg = ckpt["config"]
    try:
        model = Digit(DigitConfig(**{**cfg, "modules": tuple(cfg["modules"]), "unet_channels": tuple(cfg["unet_channels"])}))
        model.load_state_dict(ckpt["state_dict"])
    except (TypeError, KeyError, RuntimeError) as exc:  # e.g. a model saved by an older version of this network
        raise InputError(path, "state_dict", f"does not match the model it describes ({str(exc).splitlines()[0][:120]})") from None
    return model.eval()
