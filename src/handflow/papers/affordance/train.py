"""Affordance Diffusion's training: the pairs in memory, the seed's augmentation, and one trainer per network.

Every trainer runs through `handflow.training.fit` (checkpoints, resume, model file).
Optimiser as the seed: AdamW, weight decay 0.01, constant learning rate; gradient clipping
for LayoutNet (the seed: 0.01 by norm; a param here). Augmentation as the seed's, less
its random-resized crop: a horizontal flip (p 0.5, applied to the layout exactly: x -> -x,
u_x -> -u_x, without the seed's box-size quirk on flipped samples), the SDEdit copy of the
object image in place of the inpainted one (p 0.5), Gaussian noise of 0.05 on the object
image (p 0.5). Layouts are computed once per pair at the network's size (the seed computes
them on the fly after its crop; without the crop they would be the same each time), and
pairs whose hand has under 50 pixels there are dropped as the seed drops them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import h5py
import numpy as np
import torch
from diffusers import DDPMScheduler

from handflow.config import Section
from handflow.errors import InputError
from handflow.papers.affordance.layout import MIN_HAND_PIXELS, layout_from_hand, render_hard, render_soft
from handflow.papers.affordance.networks import (
    ContentNet,
    ContentNetConfig,
    Evaluator,
    EvaluatorConfig,
    LatentCodec,
    LayoutNet,
    LayoutNetConfig,
    Upsampler,
    UpsamplerConfig,
)
from handflow.training import LoopSettings, Trainer, TrainState, file_digest, load_model

PAIR_KEYS = ("hoi", "obj", "obj_sdedit", "keep", "hand_box", "category")
OPTIONAL_PAIR_KEYS = ("obj_true", "obj_depth", "crop_camera", "kps2d", "pose", "beta", "trans")  # embedded truth; hand labels


def noise_schedule(steps: int = 1000) -> DDPMScheduler:
    """The seed's (GLIDE's) cosine schedule over 1000 steps, epsilon prediction."""
    return DDPMScheduler(num_train_timesteps=steps, beta_schedule="squaredcos_cap_v2", prediction_type="epsilon", clip_sample=False)


def _to_tensor(images: np.ndarray) -> torch.Tensor:
    """(N, S, S, 3) uint8 -> (N, 3, S, S) float in [-1, 1]."""
    return torch.as_tensor(images).permute(0, 3, 1, 2).float() / 127.5 - 1


def _resize_all(images: np.ndarray, size: int, nearest: bool = False) -> np.ndarray:
    if images.shape[1] == size:
        return images
    interp = cv2.INTER_NEAREST if nearest else cv2.INTER_AREA
    return np.stack([cv2.resize(im, (size, size), interpolation=interp) for im in images])


def read_pairs_file(path: Path) -> dict[str, np.ndarray]:
    """The arrays of a pairs file; one line naming the file and the field when one is missing or misshapen."""
    try:
        h5 = h5py.File(path, "r")
    except FileNotFoundError:
        raise InputError(path, None, "file not found") from None
    except OSError as exc:
        raise InputError(path, None, f"not a readable HDF5 file ({exc})") from None
    with h5:
        out = {}
        for key in (*PAIR_KEYS, *OPTIONAL_PAIR_KEYS):
            if key not in h5:
                if key in OPTIONAL_PAIR_KEYS:
                    continue
                raise InputError(path, key, "missing")
            if not isinstance(h5[key], h5py.Dataset):
                raise InputError(path, key, "is not a dataset")
            out[key] = h5[key][()]
        hoi = out["hoi"]
        if hoi.ndim != 4 or hoi.shape[1] != hoi.shape[2] or hoi.shape[3] != 3 or hoi.dtype != np.uint8:
            raise InputError(path, "hoi", f"{hoi.dtype} of shape {hoi.shape}, expected uint8 (N, S, S, 3)")
        n, side = hoi.shape[:2]
        expected = {"obj": ((n, side, side, 3), "u"), "obj_sdedit": ((n, side, side, 3), "u"), "obj_true": ((n, side, side, 3), "u"),
                    "keep": ((n, side, side), "u"), "hand_box": ((n, 4), "f"), "category": ((n,), "iu"),
                    "obj_depth": ((n, 2, side, side), "f"), "crop_camera": ((n, 4), "f"), "kps2d": ((n, 21, 2), "f"),
                    "pose": ((n, 48), "f"), "beta": ((n, 10), "f"), "trans": ((n, 3), "f")}  # fmt: skip
        for key, (shape, kinds) in expected.items():
            if key in out and (out[key].shape != shape or out[key].dtype.kind not in kinds):
                raise InputError(path, key, f"{out[key].dtype} of shape {out[key].shape}, expected shape {shape}")
        for key in ("hand_box", "obj_depth", "crop_camera"):
            if key in out and not np.isfinite(out[key]).all():
                raise InputError(path, key, "contains NaN or inf")
        out["categories"] = np.array(json.loads(h5.attrs.get("categories", "[]")))
    return out


@dataclass
class PairSet:
    """The pairs at one network size, as tensors; `layout` and `keep` for both flips (index 0 as stored, 1 flipped)."""

    hoi: torch.Tensor  # (N, 3, S, S) in [-1, 1]
    obj: torch.Tensor
    obj_sdedit: torch.Tensor
    layout: torch.Tensor  # (2, N, 5)
    keep: torch.Tensor  # (2, N, 1, S, S): the hard lollipop keep-mask of the layout, 1 keep / 0 hand
    category: torch.Tensor  # (N,)
    hoi_full: torch.Tensor  # (N, 3, F, F) at the pairs' stored size (the upsampler's target)
    obj_true: torch.Tensor | None
    kept: np.ndarray  # indices into the file of the pairs kept
    dropped: int

    @staticmethod
    def load(path: Path, size: int) -> PairSet:
        raw = read_pairs_file(path)
        full = raw["hoi"].shape[1]
        keep = _resize_all(raw["keep"], size, nearest=True)
        boxes = raw["hand_box"] * size / full
        layouts, kept = [], []
        for i in range(len(keep)):
            hand = keep[i] == 0
            if hand.sum() >= MIN_HAND_PIXELS:
                kept.append(i)
                layouts.append(layout_from_hand(boxes[i], hand, str(path)))
        if len(kept) < 2:
            raise InputError(path, "keep", f"{len(kept)} pairs with a hand of at least {MIN_HAND_PIXELS} pixels at {size} px; 2 needed")
        lay = np.stack(layouts)
        flipped = lay * np.array([-1, 1, 1, -1, 1])
        masks = np.stack([[render_hard(v, size) for v in ls] for ls in (lay, flipped)]) / 255.0
        pick = lambda key: _to_tensor(_resize_all(raw[key][kept], size))  # noqa: E731
        return PairSet(pick("hoi"), pick("obj"), pick("obj_sdedit"), torch.as_tensor(np.stack([lay, flipped]), dtype=torch.float32),
                       torch.as_tensor(masks, dtype=torch.float32)[:, :, None], torch.as_tensor(raw["category"][kept]),
                       _to_tensor(raw["hoi"][kept]), _to_tensor(_resize_all(raw["obj_true"][kept], size)) if "obj_true" in raw else None,
                       np.array(kept), len(keep) - len(kept))  # fmt: skip

    def __len__(self) -> int:
        return len(self.hoi)

    def batch(self, n: int, g: torch.Generator, augment: bool = True) -> dict[str, torch.Tensor]:
        """A training batch drawn with `g` (flip, SDEdit copy, noise as the module docstring says)."""
        idx = torch.randint(0, len(self), (n,), generator=g)
        flip = (torch.rand(n, generator=g) < 0.5).long() if augment else torch.zeros(n, dtype=torch.long)
        sub = torch.rand(n, generator=g) < 0.5 if augment else torch.zeros(n, dtype=torch.bool)
        noisy = torch.rand(n, generator=g) < 0.5 if augment else torch.zeros(n, dtype=torch.bool)
        obj = torch.where(sub[:, None, None, None], self.obj_sdedit[idx], self.obj[idx])
        obj = obj + noisy[:, None, None, None] * 0.05 * torch.randn(obj.shape, generator=g)
        hoi = self.hoi[idx]
        flip_img = lambda x: torch.where(flip.bool()[:, None, None, None], x.flip(-1), x)  # noqa: E731
        return {"hoi": flip_img(hoi), "obj": flip_img(obj), "layout": self.layout[flip, idx], "keep": self.keep[flip, idx],
                "hoi_full": torch.where(flip.bool()[:, None, None, None], self.hoi_full[idx].flip(-1), self.hoi_full[idx])}  # fmt: skip


@dataclass(frozen=True)
class TrainConfig(Section):
    """params `affordance.<network>.train`."""

    lr: float
    batch_size: int
    steps: int
    checkpoint_every: int
    log_every: int
    grad_clip: float | None = None
    weight_decay: float = 0.01


def _adamw(model: torch.nn.Module, cfg: TrainConfig) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]:
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    return opt, torch.optim.lr_scheduler.LambdaLR(opt, lambda _: 1.0)


class _PairTrainer(Trainer):
    """What the three pair-trained networks share: the data, the schedule, the optimiser, identity and export."""

    network_cfg: Section

    def __init__(self, pairs: Path, size: int, cfg: TrainConfig, seed: int, extra: dict) -> None:
        self.pairs_path, self.cfg, self.seed, self.extra = pairs, cfg, seed, extra
        self.loop = LoopSettings(cfg.steps, cfg.checkpoint_every, cfg.log_every, cfg.grad_clip)
        self.data = PairSet.load(pairs, size)
        self.schedule = noise_schedule()
        self.abar = self.schedule.alphas_cumprod.float()

    def _build(self, model: torch.nn.Module, device: torch.device) -> TrainState:
        self.device = device
        model.to(device)
        opt, sched = _adamw(model, self.cfg)
        return TrainState(model, opt, sched, torch.Generator().manual_seed(self.seed))

    def _noised(self, x0: torch.Tensor, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        # t ~ U{0, ..., 999}: the seed's randint(0, 999) never drew 999; this draws every step the sampler may visit
        t = torch.randint(0, len(self.abar), (len(x0),), generator=g)
        eps = torch.randn(x0.shape, generator=g)
        return self.schedule.add_noise(x0, eps, t), eps, t

    def identity(self) -> list:
        return [self.network_cfg.to_dict(), self.cfg.to_dict(), self.seed, self.extra, file_digest(self.pairs_path)]

    def export(self, state: TrainState) -> dict:
        return {"config": self.network_cfg.to_dict(), **self.extra}

    def summary(self, state: TrainState) -> dict[str, float]:
        return {"n_pairs": float(len(self.data)), "dropped_pairs": float(self.data.dropped)}


class LayoutTrainer(_PairTrainer):
    """LayoutNet: noise MSE + `mask_loss` x L1 between the soft splats of the predicted and the true layout (0: the ablation)."""

    def __init__(self, pairs: Path, network: LayoutNetConfig, cfg: TrainConfig, mask_loss: float, seed: int) -> None:
        self.network_cfg = network
        super().__init__(pairs, network.image_size, cfg, seed, {"mask_loss": mask_loss})
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


class ContentTrainer(_PairTrainer):
    """ContentNet on `[x_t, object, keep-mask of the true layout]`; `use_layout` False: the mask channel is all ones.
    With `vae` (a diffusers AutoencoderKL directory) the LDM variant: the images are that autoencoder's latents."""

    def __init__(self, pairs: Path, network: ContentNetConfig, cfg: TrainConfig, use_layout: bool, seed: int,
                 vae: Path | None = None) -> None:  # fmt: skip
        self.network_cfg = network
        self.codec = LatentCodec(vae) if vae is not None else None
        extra = {"use_layout": use_layout} | ({"vae": str(vae), "vae_digest": directory_digest(vae)} if vae is not None else {})
        super().__init__(pairs, network.image_size, cfg, seed, extra)
        self.use_layout = use_layout
        if self.codec is not None and (self.codec.channels, self.codec.factor) != (network.latent_channels, network.latent_factor):
            raise InputError(vae, "config.json", f"latents of {self.codec.channels} channels at 1/{self.codec.factor}; the network "
                             f"expects {network.latent_channels} at 1/{network.latent_factor}")  # fmt: skip

    def build(self, device: torch.device) -> TrainState:
        if self.codec is not None:
            self.codec.to(device)
        return self._build(ContentNet(self.network_cfg), device)

    def loss(self, state: TrainState) -> torch.Tensor:
        b = self.data.batch(self.cfg.batch_size, state.generator)
        hoi, obj = b["hoi"], b["obj"]
        keep = b["keep"] if self.use_layout else torch.ones_like(b["keep"])
        if self.codec is not None:
            hoi, obj = self.codec.encode(hoi), self.codec.encode(obj)
            keep = torch.nn.functional.interpolate(keep, size=hoi.shape[-2:], mode="area")
        x_t, eps, t = self._noised(hoi, state.generator)
        d = self.device
        return torch.nn.functional.mse_loss(state.model(x_t.to(d), t.to(d), obj.to(d), keep.to(d)), eps.to(d))


def directory_digest(path: Path) -> str:
    """One digest of every file in a model directory (names and bytes): a checkpoint never resumes on other weights."""
    import hashlib

    h = hashlib.sha256()
    for f in sorted(p for p in Path(path).rglob("*") if p.is_file()):
        h.update(str(f.relative_to(path)).encode())
        h.update(file_digest(f).encode())
    return h.hexdigest()


class UpsamplerTrainer(_PairTrainer):
    """The upsampler: L1 between its output from the network-size HOI crop and the stored full-size crop (EDSR's loss)."""

    def __init__(self, pairs: Path, network: UpsamplerConfig, small: int, cfg: TrainConfig, seed: int) -> None:
        self.network_cfg = network
        super().__init__(pairs, small, cfg, seed, {"small": small})
        if self.data.hoi_full.shape[-1] != small * network.scale:
            raise InputError(pairs, "hoi", f"stored at {self.data.hoi_full.shape[-1]} px; the upsampler makes {small * network.scale}")

    def build(self, device: torch.device) -> TrainState:
        return self._build(Upsampler(self.network_cfg), device)

    def loss(self, state: TrainState) -> torch.Tensor:
        b = self.data.batch(self.cfg.batch_size, state.generator)
        d = self.device
        return (state.model(b["hoi"].to(d)) - b["hoi_full"].to(d)).abs().mean()


@dataclass
class FrameSet:
    image: torch.Tensor  # (N, 3, S, S)
    state: torch.Tensor  # (N,)
    category: torch.Tensor

    @staticmethod
    def load(path: Path, size: int) -> FrameSet:
        try:
            with h5py.File(path, "r") as h5:
                raw = {k: h5[k][()] for k in ("image", "state", "category")}
        except FileNotFoundError:
            raise InputError(path, None, "file not found") from None
        except KeyError as exc:
            raise InputError(path, str(exc), "missing") from None
        return FrameSet(_to_tensor(_resize_all(raw["image"], size)), torch.as_tensor(raw["state"]), torch.as_tensor(raw["category"]))


class EvaluatorTrainer(Trainer):
    """The contact-state and category classifier on every embedded frame's crop (flip, channel and brightness augmentation)."""

    def __init__(self, frames: Path, network: EvaluatorConfig, cfg: TrainConfig, seed: int) -> None:
        self.frames_path, self.network_cfg, self.cfg, self.seed = frames, network, cfg, seed
        self.loop = LoopSettings(cfg.steps, cfg.checkpoint_every, cfg.log_every, cfg.grad_clip)
        self.data = FrameSet.load(frames, network.image_size)

    def build(self, device: torch.device) -> TrainState:
        self.device = device
        model = Evaluator(self.network_cfg).to(device)
        opt, sched = _adamw(model, self.cfg)
        return TrainState(model, opt, sched, torch.Generator().manual_seed(self.seed))

    def loss(self, state: TrainState) -> torch.Tensor:
        g, n = state.generator, self.cfg.batch_size
        idx = torch.randint(0, len(self.data.image), (n,), generator=g)
        flip = torch.rand(n, generator=g) < 0.5
        x = torch.where(flip[:, None, None, None], self.data.image[idx].flip(-1), self.data.image[idx])
        # colours are an instance's, not its category's or its contact state's: shuffle the channels and the brightness so
        # the judge learns shape and the hand's position (held-out instances have colours never seen)
        order = torch.argsort(torch.rand(n, 3, generator=g), dim=1)
        x = torch.gather(x, 1, order[:, :, None, None].expand_as(x))
        x = (x + 1) * torch.empty(n, 1, 1, 1).uniform_(0.7, 1.3, generator=g) - 1
        x = x + 0.05 * torch.randn(x.shape, generator=g) * (torch.rand(n, 1, 1, 1, generator=g) < 0.5)
        contact, category = state.model(x.to(self.device))
        ce = torch.nn.functional.cross_entropy
        return ce(contact, self.data.state[idx].to(self.device)) + ce(category, self.data.category[idx].to(self.device))

    def identity(self) -> list:
        return [self.network_cfg.to_dict(), self.cfg.to_dict(), self.seed, file_digest(self.frames_path)]

    def export(self, state: TrainState) -> dict:
        return {"config": self.network_cfg.to_dict()}


def load_network(path: Path, kind: str) -> tuple[torch.nn.Module, dict]:
    """A model file of one of the networks, by kind: layout, content, upsampler, evaluator, handpose."""
    classes = {"layout": (LayoutNetConfig, LayoutNet), "content": (ContentNetConfig, ContentNet),
               "upsampler": (UpsamplerConfig, Upsampler), "evaluator": (EvaluatorConfig, Evaluator)}  # fmt: skip
    if kind == "handpose":
        from handflow.papers.affordance.handpose import HandPoseConfig, HandPoseNet  # it builds on this module

        classes["handpose"] = (HandPoseConfig, HandPoseNet)
    cfg_cls, build = classes[kind]
    model, ckpt = load_model(path, cfg_cls, build)
    if kind == "content" and ckpt.get("vae"):  # the LDM variant: its autoencoder, from the directory it was trained with
        model.codec = LatentCodec(Path(ckpt["vae"]))
        if directory_digest(Path(ckpt["vae"])) != ckpt.get("vae_digest"):
            raise InputError(ckpt["vae"], None, f"the autoencoder changed since {path} was trained on it")
    return model, ckpt
