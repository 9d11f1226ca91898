"""The trainer contract: every paper's training runs through `fit`, with checkpoints that survive a kill.

A paper says what it trains by subclassing `Trainer` (what to build, one step's loss, what
identifies the run, what the model file keeps); `fit` owns the rest, the same for every
paper: seeding, the step loop, checkpoints and resume, the final model file and the loss
curve. `tests/test_trainer_contract.py` runs every paper's trainer through one test of
this contract (killed and resumed to identical bytes; a damaged checkpoint is one clear
error), so a new paper's trainer is covered by adding it there.

Checkpoints hold everything the next step depends on: model, optimizer, learning
rate schedule, the data generator's RNG state and torch's global RNGs (dropout; CPU
and, when used, CUDA), and the loss history, so a run resumed after a kill takes the same steps as an
uninterrupted one. Each checkpoint carries a fingerprint of the run's settings and
data; a checkpoint of another run (changed params, other data) is never resumed.
Checkpoints live outside the stage's declared outputs, so Snakemake does not
delete them when a killed job is cleaned up.

A trainer that can score its model on held-out data (`Trainer.validate`, lower is better)
has it scored at every checkpoint; the best so far travels in the checkpoint, and the model
file keeps that one's weights and says which step it was (`selected`), as the seeds'
Lightning `ModelCheckpoint(monitor=...)` keeps the best validation step. Validation must
draw no random numbers, so a resumed run still takes the same steps.

Reading model files back (what sampling and evaluation stages need) is `handflow.checkpoints`,
so those stages never depend on this module or a paper's trainers.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from handflow.checkpoints import cpu_state, load_torch, save_torch
from handflow.compute import CPU, Compute
from handflow.config import Section
from handflow.errors import ComputationError
from handflow.storage.atomic import atomic_path

log = logging.getLogger(__name__)


def fingerprint(*parts: Any) -> str:
    """Stable hash of JSON-able settings and file digests."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


@dataclass
class TrainState:
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    lr_schedule: torch.optim.lr_scheduler.LRScheduler
    generator: torch.Generator
    history: list[tuple[int, float]] = field(default_factory=list)
    best: dict[str, Any] | None = None  # with a validation: {"step", "score", "model"} of the best checkpoint so far


@dataclass(frozen=True)
class LoopConfig:
    n_steps: int
    checkpoint_every: int
    log_every: int
    checkpoint_dir: Path
    fingerprint: str
    grad_clip: float | None = None


def _checkpoint_path(cfg: LoopConfig) -> Path:
    return cfg.checkpoint_dir / "last.pt"


def _resume(state: TrainState, cfg: LoopConfig) -> int:
    path = _checkpoint_path(cfg)
    if not path.exists():
        return 0
    ckpt = load_torch(path, ("fingerprint", "step", "model", "optimizer", "lr_schedule", "generator", "torch_rng", "history"))
    if ckpt["fingerprint"] != cfg.fingerprint:
        log.info("checkpoint %s belongs to another run (settings or data changed): starting afresh", path)
        return 0
    state.model.load_state_dict(ckpt["model"])
    state.optimizer.load_state_dict(ckpt["optimizer"])
    state.lr_schedule.load_state_dict(ckpt["lr_schedule"])
    state.generator.set_state(ckpt["generator"])
    torch.set_rng_state(ckpt["torch_rng"])
    if ckpt.get("cuda_rng") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(ckpt["cuda_rng"])
    state.history[:] = [(int(s), float(v)) for s, v in ckpt["history"]]
    state.best = ckpt.get("best")
    log.info("resumed from %s at step %d", path, ckpt["step"])
    return int(ckpt["step"])


def _save(state: TrainState, cfg: LoopConfig, step: int) -> None:
    save_torch(
        {
            "fingerprint": cfg.fingerprint,
            "step": step,
            "model": state.model.state_dict(),
            "optimizer": state.optimizer.state_dict(),
            "lr_schedule": state.lr_schedule.state_dict(),
            "generator": state.generator.get_state(),
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else [],
            "history": state.history,
            "best": state.best,
        },
        _checkpoint_path(cfg),
    )


def _validated(state: TrainState, validate: Callable[[], float], step: int) -> None:
    """Score the model (in eval mode, no gradients) and keep its weights if it is the best so far."""
    state.model.eval()
    with torch.no_grad():
        score = float(validate())
    state.model.train()
    if not math.isfinite(score):
        raise ComputationError(f"validation score is {score} at step {step}")
    if state.best is None or score < state.best["score"]:
        state.best = {"step": step, "score": score, "model": {k: v.detach().cpu().clone() for k, v in state.model.state_dict().items()}}


def train(
    state: TrainState,
    cfg: LoopConfig,
    loss_fn: Callable[[], torch.Tensor],
    on_log: Callable[[int, float], None] | None = None,
    validate: Callable[[], float] | None = None,
    compute: Compute = CPU,
) -> list[tuple[int, float]]:
    """Run steps until `cfg.n_steps` (resuming if a checkpoint of this run exists); return the loss history. With
    `validate`, the model is scored at every checkpoint and the best kept in `state.best` (module docstring). The loss
    (the forward pass) runs in `compute.autocast()`, the backward pass and the optimizer outside it."""
    start = _resume(state, cfg)
    state.model.train()
    running, count = 0.0, 0
    for step in tqdm(range(start, cfg.n_steps), initial=start, total=cfg.n_steps, desc="train", mininterval=5.0):
        with compute.autocast():
            loss = loss_fn()
        if not math.isfinite(float(loss.detach())):
            raise ComputationError(f"training loss is {float(loss.detach())} at step {step}")
        state.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.grad_clip:
            torch.nn.utils.clip_grad_norm_(state.model.parameters(), cfg.grad_clip)
        state.optimizer.step()
        state.lr_schedule.step()
        running, count = running + float(loss.detach()), count + 1
        done = step + 1
        if done % cfg.log_every == 0 or done == cfg.n_steps:
            state.history.append((done, running / count))
            if on_log:
                on_log(done, running / count)
            running, count = 0.0, 0
        if done % cfg.checkpoint_every == 0 or done == cfg.n_steps:
            if validate is not None:
                _validated(state, validate, done)
            _save(state, cfg, done)
    state.model.eval()
    return state.history


def write_loss_curve(history: list[tuple[int, float]], path: Path) -> None:
    """The loss history as a TSV (step, loss), the format `dvc plots` reads."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.writer(f, delimiter="\t")
        writer.writerow(["step", "loss"])
        writer.writerows(history)


@dataclass(frozen=True)
class LoopSettings:
    """How long a run is and how often it logs and checkpoints."""

    steps: int
    checkpoint_every: int
    log_every: int
    grad_clip: float | None = None


@dataclass(frozen=True)
class TrainSection(Section):
    """What every network's training section in params holds (`<paper>...train`); a paper's own section adds its fields.

    Subclasses are `@dataclass(frozen=True, kw_only=True)`, so their fields may follow the
    defaulted `grad_clip` (sections are built from params by keyword anyway).
    """

    lr: float
    batch_size: int
    steps: int
    checkpoint_every: int
    log_every: int
    grad_clip: float | None = None  # by norm; None (or 0): no clipping

    @property
    def loop(self) -> LoopSettings:
        return LoopSettings(self.steps, self.checkpoint_every, self.log_every, self.grad_clip)


def adamw(
    model: torch.nn.Module, lr: float, weight_decay: float = 0.0
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]:
    """AdamW at a constant learning rate (the Affordance Diffusion and Diffusion-HPC seeds' optimiser)."""
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    return opt, torch.optim.lr_scheduler.LambdaLR(opt, lambda _: 1.0)


class Trainer(ABC):
    """One paper's training, as `fit` runs it (see the module docstring).

    `kind` names the network in the paper's vocabulary and is written into the model file,
    where the paper's loader checks it (`handflow.checkpoints.load_model`).
    """

    kind: str
    seed: int
    cfg: TrainSection

    @property
    def loop(self) -> LoopSettings:
        return self.cfg.loop

    @abstractmethod
    def build(self, device: torch.device) -> TrainState:
        """Model (on `device`), optimizer, learning-rate schedule and the CPU generator that draws batches."""

    @abstractmethod
    def loss(self, state: TrainState) -> torch.Tensor:
        """One step's loss: draw a batch from `state.generator`, run the model."""

    @abstractmethod
    def identity(self) -> list[Any]:
        """JSON-able settings and data digests: a checkpoint of another run is never resumed."""

    @abstractmethod
    def export(self, state: TrainState) -> dict[str, Any]:
        """What the model file keeps beside the kind and the weights: at least the network's `config`, and its normalisation, ..."""

    def summary(self, state: TrainState) -> dict[str, float]:
        """Metrics of the finished run beside the final loss."""
        return {}

    # What `validate` scores (its name in the model file and the metrics); None: no validation, the last step is kept
    validation_metric: str | None = None

    def validate(self, state: TrainState) -> float:
        """The model's score on held-out data, lower is better; drawing no random numbers (see the module docstring)."""
        raise NotImplementedError


def fit(
    trainer: Trainer,
    checkpoint_dir: Path,
    out: Path,
    curve: Path,
    on_log: Callable[[int, float], None] | None = None,
    compute: Compute = CPU,
) -> dict[str, float]:
    """Train (resuming from `checkpoint_dir` when it holds this run's checkpoint); write the model file and the loss curve."""
    torch.manual_seed(trainer.seed)
    state = trainer.build(compute.device)
    compute.prepare(state.model)  # in place: the optimizer's parameters are the model's still
    # bf16 and compiled runs round otherwise: their checkpoints are other runs' (fp32 keeps the fingerprints it always had)
    variant = ([compute.precision] if compute.precision != "fp32" else []) + (["compiled"] if compute.compile else [])
    run_id = fingerprint(type(trainer).__name__, trainer.identity(), *variant)
    settings = trainer.loop
    # a multiple of log_every, so a resumed run logs the same running means as an uninterrupted one
    every = -(-settings.checkpoint_every // settings.log_every) * settings.log_every
    loop = LoopConfig(settings.steps, every, settings.log_every, checkpoint_dir, run_id, grad_clip=settings.grad_clip or None)
    validate = (lambda: trainer.validate(state)) if trainer.validation_metric else None
    history = train(state, loop, lambda: trainer.loss(state), on_log, validate, compute)
    weights, selected = cpu_state(state.model), {}
    if state.best is not None:
        weights = state.best["model"]
        selected = {"selected": {"step": state.best["step"], "metric": trainer.validation_metric, "score": state.best["score"]}}
    model_file = {**trainer.export(state), "kind": trainer.kind, "state_dict": weights, "fingerprint": run_id, **selected}
    save_torch({**model_file, "steps": settings.steps}, out)
    write_loss_curve(history, curve)
    chosen = {"selected_step": float(state.best["step"]), "validation": state.best["score"]} if state.best else {}
    return {"final_loss": history[-1][1], **chosen, **trainer.summary(state)}


def fit_seeds(
    make: Callable[[int], Trainer],
    seeds: Sequence[int],
    checkpoint_dir: Path,
    out_dir: Path,
    on_log: Callable[[int, float], None] | None = None,
    compute: Compute = CPU,
) -> dict[str, float]:
    """One training per seed, `make(seed)` each, into the folder `out_dir` (`s<k>.pt`, `s<k>_loss.tsv`), written whole.

    The tables' spread over trainings comes from these; `handflow.checkpoints.seed_model_files`
    reads the folder back. Metrics are prefixed `s<k>.`.
    """
    metrics: dict[str, float] = {}
    with atomic_path(out_dir, is_dir=True) as out:
        for k, seed in enumerate(seeds):
            run = fit(make(seed), checkpoint_dir / f"s{k}", out / f"s{k}.pt", out / f"s{k}_loss.tsv", on_log, compute)
            metrics |= {f"s{k}.{key}": value for key, value in run.items()}
    return metrics
