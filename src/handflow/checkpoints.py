"""Model and checkpoint files: written whole, read back with one clear error, each model file's network kind checked.

Apart from `handflow.training` on purpose: a stage that only loads a trained network
(sampling, evaluation, a figure) depends on this module and its paper's networks module,
never on trainer code, so editing a trainer reruns the trainings and nothing downstream
that did not change.

Every model file `handflow.training.fit` writes holds `kind` (which network of the paper,
e.g. "layout" or "asrn"), `config` (the network's `Section`, sizes and all) and
`state_dict`. A paper's networks module names its kinds once, in a dict of
`NetworkSpec`s, and loads through `load_model`, so every paper checks a file the same way:
a file of another kind, a damaged file, or weights that do not fit the network the config
describes are one line naming the file and the field. The anchor is diffusers'
`ModelMixin.from_pretrained`: the config saved beside the weights rebuilds the network.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from handflow.config import Section
from handflow.errors import InputError
from handflow.storage.atomic import atomic_path


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def directory_digest(path: Path) -> str:
    """One digest of every file in a model directory (names and bytes): a run never resumes on other weights."""
    h = hashlib.sha256()
    for f in sorted(p for p in Path(path).rglob("*") if p.is_file()):
        h.update(str(f.relative_to(path)).encode())
        h.update(file_digest(f).encode())
    return h.hexdigest()


def cpu_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Weights to save: on the CPU, so a model trained on a GPU loads anywhere (a no-op for CPU runs)."""
    return {k: v.cpu() for k, v in model.state_dict().items()}


def save_torch(obj: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def load_torch(path: Path, required: tuple[str, ...]) -> dict:
    """A checkpoint written by `save_torch`; one clear error if it is missing, corrupted or incomplete."""
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise InputError(path, None, "file not found") from None
    except Exception as exc:  # torch raises many types for a damaged file (RuntimeError, UnpicklingError, EOFError...)
        raise InputError(path, None, f"corrupted checkpoint ({type(exc).__name__})") from None
    if not isinstance(obj, dict):
        raise InputError(path, None, "not a handflow checkpoint")
    for key in required:
        if key not in obj:
            raise InputError(path, key, "missing from checkpoint")
    return obj


@dataclass(frozen=True)
class NetworkSpec:
    """How a model file of one kind becomes a network: its config class and the constructor taking that config."""

    config: type[Section]
    build: Callable[[Any], torch.nn.Module]


def load_model(path: Path, kind: str, networks: dict[str, NetworkSpec], required: tuple[str, ...] = ()) -> tuple[torch.nn.Module, dict]:
    """A model file written by `fit`, which must hold a network of `kind` (one of `networks`): built from its saved config.

    Returns the model in eval mode and the whole file's dict; one clear error if the file is
    damaged, holds another kind of network, or its weights do not fit the network its config
    describes (an older version).
    """
    if kind not in networks:
        raise ValueError(f"network kind {kind!r}: one of {sorted(networks)}")
    ckpt = load_torch(path, ("kind",))
    if ckpt["kind"] != kind:
        raise InputError(path, "kind", f"a {ckpt['kind']!r} network, expected {kind!r}")
    for key in ("config", "state_dict", *required):
        if key not in ckpt:
            raise InputError(path, key, "missing from checkpoint")
    spec = networks[kind]
    cfg = spec.config.from_dict(ckpt["config"], path, "config")
    try:
        model = spec.build(cfg)
        model.load_state_dict(ckpt["state_dict"])
    except (MemoryError, OverflowError, ValueError) as exc:  # a config of absurd sizes (a crafted or damaged file)
        raise InputError(path, "config", f"describes a network that cannot be built ({type(exc).__name__})") from None
    except (TypeError, KeyError, RuntimeError) as exc:
        raise InputError(path, "state_dict", f"does not match the model it describes ({str(exc).splitlines()[0][:120]})") from None
    return model.eval(), ckpt


def seed_model_files(path: Path | str) -> list[Path]:
    """The `s<k>.pt` files `fit_seeds` wrote into the folder `path`, in seed order (a model file: itself); one line if none."""
    path = Path(path)
    if path.is_file():
        return [path]
    files = sorted((f for f in path.glob("s*.pt") if f.stem[1:].isdigit()), key=lambda f: int(f.stem[1:]))
    if not files:
        raise InputError(path, None, "no trained model (s<k>.pt) in this folder")
    return files
