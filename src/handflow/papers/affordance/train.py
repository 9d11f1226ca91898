"""Affordance Diffusion's training: one trainer per network family, chosen by the model's vocabulary entry.

Every trainer runs through `handflow.training.fit` (checkpoints, resume, model file).
Optimiser as the seed: AdamW, weight decay 0.01, constant learning rate; gradient clipping
for LayoutNet (the seed: 0.01 by norm; a param here). The pairs' augmentation is
`pair_data.PairSet.batch`'s. `trainer_for` builds the trainer of a model of
`variants.MODELS` from the params sections that model's vocabulary entry names (the same
ones its rule declares).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from handflow.checkpoints import directory_digest, file_digest
from handflow.config import ParamsReader, Section
from handflow.errors import InputError
from handflow.papers.affordance.handpose import pose_targets
from handflow.papers.affordance.layout import render_soft
from handflow.papers.affordance.networks import (
    ContentNet,
    ContentNetConfig,
    HandPoseConfig,
    HandPoseNet,
    LatentCodec,
    LayoutNet,
    LayoutNetConfig,
    Upsampler,
    UpsamplerConfig,
)
from handflow.papers.affordance.pair_data import PairSet
from handflow.papers.affordance.variants import Model
from handflow.training import Trainer, TrainSection, TrainState, adamw

KEY = "affordance"


@dataclass(frozen=True, kw_only=True)
class TrainConfig(TrainSection):
    """params `affordance.<network>.train`."""

    weight_decay: float = 0.01


class _PairTrainer(Trainer):
    """What the pair-trained networks share: the data, the optimiser, identity and export."""

    network_cfg: Section

    def __init__(self, kind: str, pairs: Path, size: int, cfg: TrainConfig, seed: int, extra: dict) -> None:
        self.kind, self.pairs_path, self.cfg, self.seed, self.extra = kind, pairs, cfg, seed, extra
        self.data = PairSet.load(pairs, size)

    def _build(self, model: torch.nn.Module, device: torch.device) -> TrainState:
        self.device = device
        model.to(device)
        return TrainState(model, *adamw(model, self.cfg.lr, self.cfg.weight_decay), torch.Generator().manual_seed(self.seed))

    def identity(self) -> list:
        return [self.network_cfg.to_dict(), self.cfg.to_dict(), self.seed, self.extra, file_digest(self.pairs_path)]

    def export(self, state: TrainState) -> dict:
        return {"config": self.network_cfg.to_dict(), **self.extra}

    def summary(self, state: TrainState) -> dict[str, float]:
        return {"n_pairs": float(len(self.data)), "dropped_pairs": float(self.data.dropped)}


class _DiffusionTrainer(_PairTrainer):
    """A pair-trained diffusion network: noised on the schedule its config carries (saved with it in the model file)."""

    network_cfg: LayoutNetConfig | ContentNetConfig

    def __init__(self, kind: str, pairs: Path, cfg: TrainConfig, seed: int, extra: dict) -> None:
        super().__init__(kind, pairs, self.network_cfg.image_size, cfg, seed, extra)
        self.schedule = self.network_cfg.schedule.training()
        self.abar = self.schedule.alphas_cumprod.float()

    def _noised(self, x0: torch.Tensor, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        # t ~ U{0, ..., 999}: the seed's randint(0, 999) never drew 999; this draws every step the sampler may visit
        t = torch.randint(0, len(self.abar), (len(x0),), generator=g)
        eps = torch.randn(x0.shape, generator=g)
        return self.schedule.add_noise(x0, eps, t), eps, t


class LayoutTrainer(_DiffusionTrainer):
    """LayoutNet: noise MSE + `mask_loss` x L1 between the soft splats of the predicted and the true layout (0: the ablation)."""

    def __init__(self, kind: str, pairs: Path, network: LayoutNetConfig, cfg: TrainConfig, mask_loss: float, seed: int) -> None:
        self.network_cfg = network
        super().__init__(kind, pairs, cfg, seed, {"mask_loss": mask_loss})
        self.mask_loss = mask_loss

    def build(self, device: torch.device) -> TrainState:
        return self._build(LayoutNet(self.network_cfg), device)

    def loss(self, state: TrainState) -> torch.Tensor:
        b = self.data.batch(self.cfg.batch_size, state.generator)
        x0 = b["layout"]
        x_t, eps, t = self._noised(x0, state.generator)
        d = self.device
        pred = state.model(x_t.to(d), t.to(d), b["obj"].to(d))
        loss = torch.nn.functional.mse_loss(pred, eps.to(d))
        if self.mask_loss:
            abar = self.abar[t].to(d)[:, None]
            x0_hat = (x_t.to(d) - (1 - abar).sqrt() * pred) / abar.sqrt()
            size = self.network_cfg.image_size
            loss = loss + self.mask_loss * (render_soft(x0_hat, size) - render_soft(x0.to(d), size)).abs().mean()
        return loss


class ContentTrainer(_DiffusionTrainer):
    """ContentNet on `[x_t, object, keep-mask of the true layout, jittered by `jitter`]`; `use_layout` False: the mask
    channel is all ones.
    With `vae` (a diffusers AutoencoderKL directory) the LDM variant: the images are that autoencoder's latents."""

    def __init__(
        self,
        kind: str,
        pairs: Path,
        network: ContentNetConfig,
        cfg: TrainConfig,
        use_layout: bool,
        seed: int,
        vae: Path | None = None,
        jitter: float = 0.0,
    ) -> None:
        self.network_cfg = network
        self.codec = LatentCodec(vae) if vae is not None else None
        extra = {"use_layout": use_layout, "jitter": jitter}
        extra |= {"vae": str(vae), "vae_digest": directory_digest(vae)} if vae is not None else {}
        super().__init__(kind, pairs, cfg, seed, extra)
        self.use_layout, self.jitter = use_layout, jitter
        if self.codec is not None and (self.codec.channels, self.codec.factor) != (network.latent_channels, network.latent_factor):
            raise InputError(
                vae,
                "config.json",
                f"latents of {self.codec.channels} channels at 1/{self.codec.factor}; the network "
                f"expects {network.latent_channels} at 1/{network.latent_factor}",
            )

    def build(self, device: torch.device) -> TrainState:
        if self.codec is not None:
            self.codec.to(device)
        return self._build(ContentNet(self.network_cfg), device)

    def loss(self, state: TrainState) -> torch.Tensor:
        b = self.data.batch(self.cfg.batch_size, state.generator, jitter=self.jitter)
        hoi, obj = b["hoi"], b["obj"]
        keep = b["keep"] if self.use_layout else torch.ones_like(b["keep"])
        if self.codec is not None:
            hoi, obj = self.codec.encode(hoi), self.codec.encode(obj)
            keep = torch.nn.functional.interpolate(keep, size=hoi.shape[-2:], mode="area")
        x_t, eps, t = self._noised(hoi, state.generator)
        d = self.device
        return torch.nn.functional.mse_loss(state.model(x_t.to(d), t.to(d), obj.to(d), keep.to(d)), eps.to(d))


class UpsamplerTrainer(_PairTrainer):
    """The upsampler: L1 between its output from the network-size HOI crop and the stored full-size crop (EDSR's loss)."""

    def __init__(self, kind: str, pairs: Path, network: UpsamplerConfig, small: int, cfg: TrainConfig, seed: int) -> None:
        self.network_cfg = network
        super().__init__(kind, pairs, small, cfg, seed, {"small": small})
        if self.data.hoi_full.shape[-1] != small * network.scale:
            raise InputError(pairs, "hoi", f"stored at {self.data.hoi_full.shape[-1]} px; the upsampler makes {small * network.scale}")

    def build(self, device: torch.device) -> TrainState:
        return self._build(Upsampler(self.network_cfg), device)

    def loss(self, state: TrainState) -> torch.Tensor:
        b = self.data.batch(self.cfg.batch_size, state.generator)
        d = self.device
        return (state.model(b["hoi"].to(d)) - b["hoi_full"].to(d)).abs().mean()


class HandPoseTrainer(Trainer):
    """The hand-pose network (`handpose`): L1 on the 2D joints (NDC) plus L1 on the wrist-relative 3D joints (decimetres)."""

    kind = "handpose"

    def __init__(self, pairs: Path, model_dir: Path, network: HandPoseConfig, cfg: TrainConfig, seed: int) -> None:
        self.pairs, self.model_dir, self.network_cfg, self.cfg, self.seed = pairs, model_dir, network, cfg, seed
        self.images, self.kps, self.joints = pose_targets(pairs, model_dir, network.image_size)

    def build(self, device: torch.device) -> TrainState:
        self.device = device
        model = HandPoseNet(self.network_cfg).to(device)
        return TrainState(model, *adamw(model, self.cfg.lr, self.cfg.weight_decay), torch.Generator().manual_seed(self.seed))

    def loss(self, state: TrainState) -> torch.Tensor:
        g, n = state.generator, self.cfg.batch_size
        idx = torch.randint(0, len(self.images), (n,), generator=g)
        x = self.images[idx] + 0.05 * torch.randn(n, 3, 1, 1, generator=g)  # a colour cast per image
        kps, rel = state.model(x.to(self.device))
        return (kps - self.kps[idx].to(self.device)).abs().mean() + (rel - self.joints[idx].to(self.device)).abs().mean()

    def identity(self) -> list:
        return [
            self.network_cfg.to_dict(),
            self.cfg.to_dict(),
            self.seed,
            file_digest(self.pairs),
            file_digest(self.model_dir / "MANO_RIGHT.npz"),
        ]

    def export(self, state: TrainState) -> dict:
        return {"config": self.network_cfg.to_dict(), "mean_joints": self.joints.mean(0), "mean_kps": self.kps.mean(0)}


def _layout(m: Model, data: Path, params: ParamsReader, seed: int, hand_model: Path | None) -> Trainer:
    network = params.section(LayoutNetConfig, f"{KEY}.layout.network")
    if network.image_size != params.get(f"{KEY}.content.network.image_size"):
        raise InputError(params.source_of(f"{KEY}.layout"), "layout.network.image_size", "must equal content.network.image_size")
    return LayoutTrainer(m.name, data, network, params.section(TrainConfig, f"{KEY}.layout.train"), m.mask_loss, seed)


def _content(m: Model, data: Path, params: ParamsReader, seed: int, hand_model: Path | None) -> Trainer:
    vae = params.get(f"{KEY}.content.vae")
    latent = {}
    if vae:  # the LDM variant: the network's input and output sizes come from the user's autoencoder
        codec = LatentCodec(Path(vae))
        latent = {"latent_channels": codec.channels, "latent_factor": codec.factor}
    network = params.section(ContentNetConfig, f"{KEY}.content.network", **latent)
    cfg = params.section(TrainConfig, f"{KEY}.content.train")
    jitter = params.get(f"{KEY}.content.jitter")
    return ContentTrainer(m.name, data, network, cfg, m.use_layout, seed, Path(vae) if vae else None, jitter)


def _upsampler(m: Model, data: Path, params: ParamsReader, seed: int, hand_model: Path | None) -> Trainer:
    network = params.section(UpsamplerConfig, f"{KEY}.upsampler.network")
    small = params.get(f"{KEY}.content.network.image_size")
    return UpsamplerTrainer(m.name, data, network, small, params.section(TrainConfig, f"{KEY}.upsampler.train"), seed)


def _handpose(m: Model, data: Path, params: ParamsReader, seed: int, hand_model: Path | None) -> Trainer:
    if hand_model is None:
        raise InputError("--hand-model", None, "the hand-pose network needs the prepared hand model folder")
    network = params.section(HandPoseConfig, f"{KEY}.handpose.network")
    return HandPoseTrainer(data, hand_model, network, params.section(TrainConfig, f"{KEY}.handpose.train"), seed)


_FAMILIES: dict[str, Callable[[Model, Path, ParamsReader, int, Path | None], Trainer]] = {
    "layout": _layout,
    "content": _content,
    "upsampler": _upsampler,
    "handpose": _handpose,
}


def trainer_for(model: Model, data: Path, params: ParamsReader, seed: int, hand_model: Path | None = None) -> Trainer:
    """The trainer of one model of `variants.MODELS` on `data`, configured by the params sections its entry names."""
    return _FAMILIES[model.family](model, data, params, seed, hand_model)
