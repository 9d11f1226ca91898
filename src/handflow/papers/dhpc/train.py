"""The trainers of every network of the pipeline, under the one trainer contract (`handflow.training.fit`).

`trainer_for` builds the trainer of a model of `variants.MODELS` from the params sections
its vocabulary entry names (the ones its rule declares).

Batches are drawn from the renders file with the run's generator, so a killed run resumes
to the same bytes. The HMR trainer also fine-tunes (the downstream experiment): started
from a trained regressor, on the few-shot real frames (2D keypoints only, as the seed's
real sets) and, when given, the generated synthetic set (full body labels, as the seed's
`spin_gt.pkl`), half a batch each. The two sets' losses are summed, not averaged: the real
term keeps the weight it has in the real-only fine-tuning, so "real + synthetic vs real
only" adds the synthetic term rather than also halving the real one (until 2026-12-04 it was
the mean). The seed's DAPA instead mixes the sets by a sampling ratio in one batch, which
weights each term by its share of the batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from handflow import pretrained_text
from handflow.checkpoints import file_digest
from handflow.config import ParamsReader, Section
from handflow.diffusion import to_tensor
from handflow.papers.dhpc.dataset import Split, read_poses, read_split
from handflow.papers.dhpc.networks import (
    ConvConfig,
    HMRNet,
    MaskNet,
    PosePrior,
    PriorConfig,
    TextToImage,
    TextToImageConfig,
    load_network,
)
from handflow.papers.dhpc.posing import pelvis_relative, posed_keypoints, project, rot6d, rotvec_of_6d
from handflow.papers.dhpc.render import depth_map
from handflow.papers.dhpc.skeleton import BodyModel
from handflow.papers.dhpc.text import PAD, tokenize
from handflow.papers.dhpc.variants import Model
from handflow.training import Trainer, TrainSection, TrainState, adamw

KEY = "dhpc"


def depth_tensor(depth_mm: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(np.stack([depth_map(d) for d in depth_mm]))[:, None]


class _Base(Trainer):
    network: Section

    def __init__(self, kind: str, renders: Path, network: Section, cfg: TrainSection, seed: int, extra: dict | None = None) -> None:
        self.kind, self.renders, self.network, self.cfg, self.seed = kind, renders, network, cfg, seed
        self.extra = extra or {}

    def _state(self, model: torch.nn.Module, device: torch.device) -> TrainState:
        self.device = device
        model.to(device)
        return TrainState(model, *adamw(model, self.cfg.lr), torch.Generator().manual_seed(self.seed))

    def _pick(self, n: int, g: torch.Generator) -> torch.Tensor:
        return torch.randint(0, n, (self.cfg.batch_size,), generator=g)

    def identity(self) -> list:
        return [self.kind, self.network.to_dict(), self.cfg.to_dict(), self.seed, self.extra, file_digest(self.renders)]

    def export(self, state: TrainState) -> dict:
        return {"config": self.network.to_dict(), **self.extra}


class DiffusionTrainer(_Base):
    """Noise prediction on the web renders and their captions; `p_uncond` of the prompts dropped to the null prompt (CFG)."""

    def __init__(self, renders: Path, network: TextToImageConfig, cfg: TrainSection, p_uncond: float, seed: int) -> None:
        extra = {"p_uncond": p_uncond} | ({"text_encoder": pretrained_text.provenance()} if network.text_encoder == "minilm" else {})
        super().__init__("depth" if network.depth_channel else "t2i", renders, network, cfg, seed, extra)
        web = read_split(renders, "web")
        self.images = to_tensor(web.image)
        self.tokens = tokenize(web.caption, network.max_tokens, f"{renders}:web/caption", network.text_encoder)
        self.depth = depth_tensor(web.depth) if network.depth_channel else None
        self.schedule, self.p_uncond = network.schedule.training(), p_uncond

    def build(self, device: torch.device) -> TrainState:
        return self._state(TextToImage(self.network), device)

    def loss(self, state: TrainState) -> torch.Tensor:
        g, d = state.generator, self.device
        idx = self._pick(len(self.images), g)
        x0, tokens = self.images[idx], self.tokens[idx].clone()
        tokens[torch.rand(len(idx), generator=g) < self.p_uncond] = PAD
        t = torch.randint(0, self.schedule.config.num_train_timesteps, (len(idx),), generator=g)
        eps = torch.randn(x0.shape, generator=g)
        x_t = self.schedule.add_noise(x0, eps, t)
        depth = self.depth[idx].to(d) if self.depth is not None else None
        return torch.nn.functional.mse_loss(state.model(x_t.to(d), t.to(d), tokens.to(d), depth), eps.to(d))


@dataclass(frozen=True)
class HMRLoss(Section):
    """params `dhpc.hmr.loss`: the seed's SPIN weights are keypoint 5, pose 1, betas 0.001."""

    keypoints: float
    pose: float
    shape: float
    joints3d: float
    colour_noise: float  # the seed's noise_factor: each channel scaled by U(1 - f, 1 + f)


class HMRTrainer(_Base):
    """The regressor: from scratch on the web renders (full labels), or fine-tuned from `init` on few-shot real + synthetic."""

    def __init__(
        self,
        renders: Path,
        network: ConvConfig,
        cfg: TrainSection,
        weights: HMRLoss,
        seed: int,
        body: BodyModel,
        init: Path | None = None,
        real_split: str | None = None,
        synthetic: Path | None = None,
    ) -> None:
        extra = {
            "loss": weights.to_dict(),
            "init": file_digest(init) if init else None,
            "real_split": real_split,
            "synthetic": file_digest(synthetic) if synthetic else None,
        }
        super().__init__("hmr", renders, network, cfg, seed, extra)
        self.weights, self.init, self.body = weights, init, body
        self.sets: list[tuple[Split, bool]] = []  # (split, has body labels)
        if real_split is None:
            self.sets.append((read_split(renders, "web"), True))
        else:
            self.sets.append((read_split(renders, real_split), False))
            if synthetic is not None:
                self.sets.append((read_split(synthetic, "synthetic"), True))

    def build(self, device: torch.device) -> TrainState:
        model = HMRNet(self.network)
        if self.init is not None:
            model.load_state_dict(load_network(self.init, "hmr")[0].state_dict())
        return self._state(model, device)

    def _batch_loss(self, model: torch.nn.Module, split: Split, labelled: bool, n: int, g: torch.Generator) -> torch.Tensor:
        idx = torch.randint(0, len(split), (n,), generator=g).numpy()
        images = to_tensor(split.image[idx])
        images = ((images + 1) * (1 + self.weights.colour_noise * (2 * torch.rand(n, 3, 1, 1, generator=g) - 1)) - 1).clamp(-1, 1)
        six, shape, trans = model(images.to(self.device))
        six, shape, trans = six.cpu(), shape.cpu(), trans.cpu()
        pose = rotvec_of_6d(six)
        kp = posed_keypoints(self.body, pose, shape, trans)
        size = split.image.shape[1]
        kp2d = torch.as_tensor(split.kp2d[idx])
        uv = project(kp, torch.as_tensor(split.focal[idx]).float(), size)
        visible = kp2d[..., 2:3]
        loss = self.weights.keypoints * ((uv - kp2d[..., :2]).abs() * visible).sum() / visible.sum().clamp_min(1) / size
        if labelled:
            gt_pose = torch.as_tensor(split.pose[idx])
            loss = loss + self.weights.pose * torch.nn.functional.mse_loss(six, rot6d(gt_pose))
            loss = loss + self.weights.shape * torch.nn.functional.mse_loss(shape, torch.as_tensor(split.shape[idx]))
            kp3d = torch.as_tensor(split.kp3d[idx])
            loss = loss + self.weights.joints3d * torch.nn.functional.mse_loss(pelvis_relative(kp) / 1000.0, pelvis_relative(kp3d) / 1000.0)
        return loss

    def loss(self, state: TrainState) -> torch.Tensor:
        n = self.cfg.batch_size // len(self.sets)  # half a batch each; summed: the real term as in the real-only run
        return sum(self._batch_loss(state.model, s, labelled, n, state.generator) for s, labelled in self.sets)


class MaskTrainer(_Base):
    """Person masks of the web renders; `p_empty` of a batch are the scenes without the person (an empty mask)."""

    def __init__(self, renders: Path, network: ConvConfig, cfg: TrainSection, p_empty: float, seed: int) -> None:
        super().__init__("mask", renders, network, cfg, seed, {"p_empty": p_empty})
        web = read_split(renders, "web")
        self.images, self.backgrounds = to_tensor(web.image), to_tensor(web.background)
        self.masks = torch.as_tensor(web.mask).float()[:, None]
        self.p_empty = p_empty

    def build(self, device: torch.device) -> TrainState:
        return self._state(MaskNet(self.network), device)

    def loss(self, state: TrainState) -> torch.Tensor:
        g = state.generator
        idx = self._pick(len(self.images), g)
        empty = (torch.rand(len(idx), generator=g) < self.p_empty)[:, None, None, None]
        images = torch.where(empty, self.backgrounds[idx], self.images[idx])
        masks = torch.where(empty, torch.zeros_like(self.masks[idx]), self.masks[idx])
        logits = state.model(images.to(self.device))
        return torch.nn.functional.binary_cross_entropy_with_logits(logits, masks.to(self.device))


class PriorTrainer(_Base):
    """The pose VAE on the pose set: reconstruction MSE + `kl_weight` x KL(q(z | pose) || N(0, I))."""

    def __init__(self, renders: Path, network: PriorConfig, cfg: TrainSection, kl_weight: float, seed: int) -> None:
        super().__init__("prior", renders, network, cfg, seed, {"kl_weight": kl_weight})
        self.poses = torch.as_tensor(read_poses(renders)[:, 1:]).flatten(1)
        self.kl_weight = kl_weight

    def build(self, device: torch.device) -> TrainState:
        return self._state(PosePrior(self.network), device)

    def loss(self, state: TrainState) -> torch.Tensor:
        g, d = state.generator, self.device
        x = self.poses[self._pick(len(self.poses), g)].to(d)
        q = state.model.encode(x)
        z = q.loc + q.scale * torch.randn(q.loc.shape, generator=g).to(d)
        kl = torch.distributions.kl_divergence(q, torch.distributions.Normal(torch.zeros_like(q.loc), torch.ones_like(q.scale)))
        return torch.nn.functional.mse_loss(state.model.decode(z), x) + self.kl_weight * kl.sum(1).mean()


def _diffusion(m: Model, renders: Path, params: ParamsReader, seed: int, body: BodyModel) -> Trainer:
    network = params.section(TextToImageConfig, f"{KEY}.t2i.network", depth_channel=m.name == "depth")
    cfg = params.section(TrainSection, f"{KEY}.{m.name}.train")
    return DiffusionTrainer(renders, network, cfg, params.get(f"{KEY}.t2i.p_uncond"), seed)


def _hmr(m: Model, renders: Path, params: ParamsReader, seed: int, body: BodyModel) -> Trainer:
    network, cfg = params.section(ConvConfig, f"{KEY}.hmr.network"), params.section(TrainSection, f"{KEY}.hmr.train")
    return HMRTrainer(renders, network, cfg, params.section(HMRLoss, f"{KEY}.hmr.loss"), seed, body)


def _mask(m: Model, renders: Path, params: ParamsReader, seed: int, body: BodyModel) -> Trainer:
    network, cfg = params.section(ConvConfig, f"{KEY}.mask.network"), params.section(TrainSection, f"{KEY}.mask.train")
    return MaskTrainer(renders, network, cfg, params.get(f"{KEY}.mask.p_empty"), seed)


def _prior(m: Model, renders: Path, params: ParamsReader, seed: int, body: BodyModel) -> Trainer:
    network, cfg = params.section(PriorConfig, f"{KEY}.prior.network"), params.section(TrainSection, f"{KEY}.prior.train")
    return PriorTrainer(renders, network, cfg, params.get(f"{KEY}.prior.kl_weight"), seed)


_BUILDERS = {"t2i": _diffusion, "depth": _diffusion, "hmr": _hmr, "mask": _mask, "prior": _prior}


def trainer_for(model: Model, renders: Path, params: ParamsReader, seed: int, body: BodyModel | None) -> Trainer:
    """The trainer of one model of `variants.MODELS` on the renders file, configured by the params sections its entry names;
    `body`: the run's body model (`body.load_body`), needed by the models that pose bodies (`Model.poses_bodies`)."""
    if model.poses_bodies and body is None:
        raise ValueError(f"the {model.name} model poses bodies: it needs the run's body model")
    return _BUILDERS[model.name](model, renders, params, seed, body)
