"""Shared fixtures: the prepared open hand model, a smoke-scale embedded dataset, project copies."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from handflow.datasets.interhand.generator import EmbeddedConfig, Generator
from handflow.datasets.interhand.preprocess import preprocess_split
from handflow.hand.model import HandModel, create_pair
from handflow.hand.prepare import prepare
from handflow.params import load_params

REPO = Path(__file__).resolve().parents[1]
# What a project needs to run its pipeline (everything tracked by git that the rules touch).
PROJECT_ITEMS = ("Snakefile", "workflow", "params", "src", "dvc.yaml", ".dvc/config", ".dvc/.gitignore", ".dvcignore", ".gitignore")


def copy_project(dest: Path, scale: str = "smoke") -> Path:
    """A copy of the project's pipeline files at `dest`, set to `scale`."""
    dest.mkdir(parents=True, exist_ok=True)
    for item in PROJECT_ITEMS:
        src = REPO / item
        target = dest / item
        target.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, target, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(src, target)
    glob = dest / "params" / "global.yaml"
    text = glob.read_text()
    current = load_params(REPO).scale
    glob.write_text(text.replace(f"scale: {current}", f"scale: {scale}", 1))
    assert load_params(dest).scale == scale
    return dest


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("hand") / "hand_model"
    prepare("open", None, out)
    return out


@pytest.fixture(scope="session")
def hands(model_dir) -> dict[str, HandModel]:
    return create_pair(model_dir, dtype=torch.float64)


@pytest.fixture(scope="session")
def smoke_params(tmp_path_factory):
    return load_params(copy_project(tmp_path_factory.mktemp("proj") / "p", "smoke"))


@pytest.fixture(scope="session")
def smoke_dataset(tmp_path_factory, model_dir, smoke_params) -> Path:
    """An embedded InterHand2.6M tree at the smoke scale (generated once per session)."""
    root = tmp_path_factory.mktemp("ih") / "InterHand2.6M"
    cfg = EmbeddedConfig.from_params(smoke_params.get("data.embedded"), seed=0)
    Generator(create_pair(model_dir), cfg, backend="numpy").write(root)
    return root


@pytest.fixture(scope="session")
def smoke_h5(tmp_path_factory, smoke_dataset, hands) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("h5")
    files = {}
    for split in ("train", "val", "test"):
        files[split] = out / f"interhand26m_{split}.h5"
        preprocess_split(smoke_dataset, split, hands, files[split], 512, {"data_source": "embedded", "scale": "smoke"})
    return files
