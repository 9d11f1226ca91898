"""The embedded Diffusion-HPC data: rendered people with captions, keypoints, masks and depth, in one HDF5 file.

Groups (each a split of the same fields):
- `web`: the text-to-image training set (every action, web style, captions from the seed's templates);
  the HMR regressor, the mask network and the feature network learn from it too.
- `web_ref`, `web_holdout`: more web-style images, never trained on: FID's reference set, and a
  second draw of the same distribution (the table's floor: what a perfect generator would score).
- `real_train`, `real_test`: the target domain (hard actions only, the real style), split as the
  seed's few-shot protocol: a handful of training frames, a larger test set with 3D keypoints.
- `poses`: body poses of every action without images (the pose prior's training set, VPoser's AMASS).

Per image: `image` (S, S, 3) uint8, `mask` (S, S) bool, `depth` (S, S) mm (0 background),
`background` (S, S, 3) uint8 (the scene without the person: the mask network's negatives),
`kp2d` (14, 3) pixels + visibility, `kp3d` (14, 3) camera mm, `pose` (14, 3) rad, `shape` (6,),
`trans` (3,) mm (the root in camera space), `focal`, `action` (index into `actions`), `caption`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import torch

from handflow.config import Section
from handflow.errors import InputError
from handflow.papers.dhpc.poses import ACTIONS, HARD, caption, sample_poses
from handflow.papers.dhpc.render import STYLES, clothing, place, render, to_camera
from handflow.papers.dhpc.skeleton import KEYPOINTS, N_POSED, BodyModel
from handflow.storage.atomic import atomic_path
from handflow.storage.hdf5_files import TEXT, Field, attribute, open_hdf5, read_fields, read_hdf5, texts

IMAGE_SPLITS = ("web", "web_ref", "web_holdout", "real_train", "real_test")
FIELDS = {
    "image": np.uint8,
    "mask": bool,
    "depth": np.float32,
    "background": np.uint8,
    "kp2d": np.float32,
    "kp3d": np.float32,
    "pose": np.float32,
    "shape": np.float32,
    "trans": np.float32,
    "action": np.int64,
}


@dataclass(frozen=True)
class SplitSize(Section):
    n: int
    style: str  # web | real
    hard_only: bool = False


@dataclass(frozen=True)
class DataConfig(Section):
    """params `dhpc.data`."""

    image_size: int
    splits: dict[str, SplitSize]
    n_poses: int  # the prior's pose set
    jitter_deg: float  # per-joint pose noise around an action's recipe
    heading_deg: float  # the body turns about the vertical by U(-h, h)
    fill: dict[str, float]  # body height / frame, per style


def _render_split(cfg: DataConfig, split: SplitSize, rng: np.random.Generator, backend: str, model: BodyModel) -> dict[str, np.ndarray]:
    names = list(HARD if split.hard_only else ACTIONS)
    actions = rng.integers(0, len(names), split.n)
    action_names = [names[a] for a in actions]
    poses = sample_poses(action_names, cfg.jitter_deg, cfg.heading_deg, rng)
    shapes = rng.uniform(0.0, 1.0, (split.n, 6))
    with torch.no_grad():
        posed = model(torch.as_tensor(poses), torch.as_tensor(shapes))
    verts, joints = posed.vertices.numpy(), posed.keypoints.numpy()
    out: dict[str, list] = {k: [] for k in (*FIELDS, "caption", "focal")}
    for i in range(split.n):
        fill = cfg.fill[split.style] * rng.uniform(0.9, 1.05)
        offset = rng.uniform(-0.08, 0.08, 2) if split.style == "web" else rng.uniform(-0.18, 0.18, 2)
        cam = place(verts[i], cfg.image_size, fill, offset)
        r = render(verts[i], model.faces, clothing(model.vertex_part, rng), cam, split.style, rng, backend)
        kp3d = to_camera(joints[i], cam.trans)
        uv = cam.project(kp3d)
        visible = ((uv >= 0) & (uv < cfg.image_size)).all(1)
        out["image"].append(r.image), out["mask"].append(r.mask), out["depth"].append(r.depth), out["background"].append(r.background)
        out["kp2d"].append(np.concatenate([uv, visible[:, None]], 1)), out["kp3d"].append(kp3d)
        out["pose"].append(poses[i]), out["shape"].append(shapes[i]), out["trans"].append(cam.trans), out["focal"].append(cam.focal)
        out["action"].append(list(ACTIONS).index(action_names[i])), out["caption"].append(caption(action_names[i], rng))
    return {k: np.asarray(v) for k, v in out.items()}


def build(out: Path, cfg: DataConfig, seed: int, backend: str, body: BodyModel, provenance: dict) -> dict[str, float]:
    """Render every split of `body` and the pose set into `out` (written whole or not at all)."""
    for name, split in cfg.splits.items():
        if name not in IMAGE_SPLITS or split.style not in STYLES:
            raise InputError("params/dhpc.yaml", f"data.splits.{name}", f"a split of {IMAGE_SPLITS} in a style of {STYLES}")
    rng = np.random.default_rng(seed)
    counts = {}
    with atomic_path(out) as tmp, h5py.File(tmp, "w") as f:
        f.attrs["provenance"] = json.dumps(provenance)
        f.attrs["actions"] = json.dumps(list(ACTIONS))
        f.attrs["hard"] = json.dumps(list(HARD))
        f.attrs["image_size"] = cfg.image_size
        for name in IMAGE_SPLITS:
            data = _render_split(cfg, cfg.splits[name], rng, backend, body)
            g = f.create_group(name)
            for key, values in data.items():
                if key == "caption":
                    g.create_dataset(key, data=np.array(values, dtype=h5py.string_dtype()))
                else:
                    g.create_dataset(key, data=values.astype(FIELDS.get(key, np.float32)), compression="gzip" if values.ndim > 2 else None)
            counts[f"n_{name}"] = float(len(data["image"]))
        names = [list(ACTIONS)[a] for a in rng.integers(0, len(ACTIONS), cfg.n_poses)]
        f.create_dataset("poses", data=sample_poses(names, cfg.jitter_deg, cfg.heading_deg, rng).astype(np.float32))
    return counts | {"n_poses": float(cfg.n_poses)}


@dataclass
class Split:
    """One image split read back, with every field checked."""

    image: np.ndarray
    mask: np.ndarray
    depth: np.ndarray
    background: np.ndarray
    kp2d: np.ndarray
    kp3d: np.ndarray
    pose: np.ndarray
    shape: np.ndarray
    trans: np.ndarray
    focal: np.ndarray
    action: np.ndarray
    caption: list[str]
    has_3d: bool = True  # False for real frames read without 3D joints (`coco`): kp3d is zeros, MPJPE is not computed

    def __len__(self) -> int:
        return len(self.image)


_N, _S = "images", "side"
_IMAGE = Field((_N, _S, _S, 3), dtype="uint8")
SPLIT_FIELDS = {
    "image": _IMAGE,
    "mask": Field((_N, _S, _S), "b"),
    "depth": Field((_N, _S, _S), finite=True),
    "background": _IMAGE,
    "kp2d": Field((_N, len(KEYPOINTS), 3), finite=True),
    "kp3d": Field((_N, len(KEYPOINTS), 3), finite=True),
    "pose": Field((_N, N_POSED, 3), finite=True),
    "shape": Field((_N, 6), finite=True),
    "trans": Field((_N, 3), finite=True),
    "focal": Field((_N,), finite=True),
    "action": Field((_N,), "iu"),
    "caption": Field((_N,), TEXT),
}


def read_split(path: Path, name: str) -> Split:
    """A split of the renders file (or of a file in its layout: real frames, synthetic samples); a missing group or
    field, a wrong shape or a non-finite value is one line naming it."""
    with open_hdf5(path) as f:
        if not isinstance(f.get(name), h5py.Group):
            raise InputError(path, name, "missing split")
        size = attribute(f, path, "image_size", 0)
        if isinstance(size, bool | np.bool_) or not isinstance(size, int | np.integer) or size < 1:
            raise InputError(path, "image_size", f"{size!r}, expected the images' side in pixels")
        values = read_fields(f[name], path, SPLIT_FIELDS, {_S: int(size)})
        has_3d = attribute(f[name], path, "has_3d", True)
    if not isinstance(has_3d, bool | np.bool_):
        raise InputError(path, f"{name}/has_3d", f"{has_3d!r}, expected true or false")
    if len(values["image"]) == 0:
        raise InputError(path, f"{name}/image", "no images")
    if ((values["action"] < 0) | (values["action"] >= len(ACTIONS))).any():
        raise InputError(path, f"{name}/action", f"action index outside 0..{len(ACTIONS) - 1}")
    return Split(**values | {"caption": texts(values["caption"])}, has_3d=bool(has_3d))


def read_poses(path: Path) -> np.ndarray:
    """The pose prior's pose set (N, posed joints, 3)."""
    return read_hdf5(path, {"poses": Field(("poses", N_POSED, 3), finite=True)})["poses"]
