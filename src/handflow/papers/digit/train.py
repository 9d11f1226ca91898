"""DIGIT training from the LMDBs: the seed's optimiser (Adam 1e-4, x0.1 at a step), its loss, checkpoints and resume.

Batches are drawn with replacement by a seeded generator, each sample's augmentation
seeded by (seed, epoch, index) where the epoch is the step's pass over the data, so a
resumed run sees exactly the samples an uninterrupted one would. `loader_threads` decode the
next batch while the device runs this one (`loader.BatchLoader`); it changes no bytes, so it
is not part of the run's identity.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from handflow.checkpoints import file_digest
from handflow.papers.digit.dataset import Augment, SplitStores
from handflow.papers.digit.loader import BatchLoader
from handflow.papers.digit.losses import digit_loss
from handflow.papers.digit.networks import Digit, DigitConfig, load_imagenet_weights
from handflow.training import Trainer, TrainSection, TrainState


@dataclass(frozen=True, kw_only=True)
class TrainConfig(TrainSection):
    """params `digit.train`."""

    lr_decay_step: int  # x0.1 at this step


class DigitTrainer(Trainer):
    """DIGIT or its ablation (`model`: variants.MODELS, whose segmentation switch `network` carries).

    `pretrained`: HRNet ImageNet weights for the backbone; `loader_threads`: threads decoding the next batch.
    """

    def __init__(
        self,
        model: str,
        stores: SplitStores,
        network: DigitConfig,
        cfg: TrainConfig,
        seed: int,
        pretrained: Path | None = None,
        loader_threads: int = 0,
    ) -> None:
        self.kind, self.stores, self.network, self.cfg, self.seed, self.pretrained = model, stores, network, cfg, seed, pretrained
        self.data = stores.samples(Augment(), network.input_size, seed=seed)
        self.loader_threads = loader_threads
        self.n_pretrained = 0

    def build(self, device: torch.device) -> TrainState:
        self.batches = BatchLoader(self.data, self.cfg.batch_size, self.cfg.steps, self.loader_threads, device)
        model = Digit(self.network)
        self.n_pretrained = load_imagenet_weights(model.backbone, self.pretrained) if self.pretrained else 0
        model.to(device)
        opt = torch.optim.Adam(model.parameters(), lr=self.cfg.lr)
        lr_schedule = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[self.cfg.lr_decay_step], gamma=0.1)
        return TrainState(model, opt, lr_schedule, torch.Generator().manual_seed(self.seed))

    def loss(self, state: TrainState) -> torch.Tensor:
        # steps done so far = the schedule's counter, which a resume restores
        samples = self.batches.batch_at(state.lr_schedule.last_epoch, state.generator)
        loss, _ = digit_loss(state.model(samples["image"]), samples)
        return loss

    def identity(self) -> list:
        return [
            self.network.to_dict(),
            self.cfg.to_dict(),
            self.seed,
            self.stores.digest(),
            file_digest(self.pretrained) if self.pretrained else None,
        ]

    def export(self, state: TrainState) -> dict:
        return {"config": self.network.to_dict()}

    def summary(self, state: TrainState) -> dict[str, float]:
        return {"n_images": float(len(self.data)), "pretrained_tensors": float(self.n_pretrained)}
