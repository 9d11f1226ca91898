"""Scoring the table's rows: the image rows against the held-out reference renders, the pose rows on the real-style test set."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from handflow.diffusion import to_tensor
from handflow.errors import InputError
from handflow.papers.dhpc.dataset import read_split
from handflow.papers.dhpc.evaluate import features, image_metrics, mpjpe, pck
from handflow.papers.dhpc.generate import person_masks, regress
from handflow.papers.dhpc.networks import load_network
from handflow.papers.dhpc.posing import pelvis_relative, posed_keypoints, project
from handflow.papers.dhpc.samples import read
from handflow.papers.dhpc.skeleton import BodyModel


def _masked_features(nets: dict, images: torch.Tensor) -> tuple[np.ndarray, np.ndarray, float]:
    masks = person_masks(nets["mask"], images)
    person_rate = float((masks.flatten(1).any(1)).float().mean())
    return features(nets["features"], images), features(nets["features"], images, masks), person_rate


def score_image_rows(renders: Path, generated: dict[str, Path], nets: dict, n_seeds: int, seed: int) -> dict:
    """Per row: per-seed FID/KID/H-FID/H-KID and the share of images with a person found, and their means."""
    ref_split = read_split(renders, "web_ref")
    ref, ref_masked, _ = _masked_features(nets, to_tensor(ref_split.image))
    rng = np.random.default_rng(seed)
    sets: dict[str, list[torch.Tensor]] = {}
    web = read_split(renders, "web")
    pixels = to_tensor(web.image)
    mu, sd = pixels.mean(0), pixels.std(0)
    n = len(ref_split)
    g = torch.Generator().manual_seed(seed)
    sets["pixel_gaussian"] = [(mu + sd * torch.randn((n, *mu.shape), generator=g)).clamp(-1, 1) for _ in range(n_seeds)]
    for row, path in generated.items():
        arrays, _, _ = read(path, "samples", ("seed",))
        images = to_tensor(arrays["image"])
        seeds = arrays["seed"]
        missing = sorted(set(range(n_seeds)) - set(seeds.tolist()))
        if missing:
            raise InputError(path, "samples/seed", f"no image of sampling seed {missing[0]} (n_seeds is {n_seeds})")
        sets[row] = [images[torch.as_tensor(seeds == k)] for k in range(n_seeds)]
    sets["real"] = [to_tensor(read_split(renders, "web_holdout").image)]
    rows = {}
    for row, draws in sets.items():
        per_seed = []
        for images in draws:
            if len(images) < 2:
                raise InputError(generated.get(row, renders), "samples/image", f"{row}: {len(images)} images in a draw, FID needs 2")
            feats, masked, person_rate = _masked_features(nets, images)
            metrics = image_metrics(feats, ref, masked, ref_masked, rng)
            per_seed.append({**metrics, "person_rate": person_rate, "n_images": float(len(images))})
        rows[row] = {"per_seed": per_seed, "mean": {k: float(np.mean([s[k] for s in per_seed])) for k in per_seed[0]}}
    return {"reference": {"split": "web_ref", "n_images": n}, "rows": rows}


def _mean_pose_prediction(renders: Path, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The trivial row: every test frame gets the few-shot frames' mean 2D keypoints and the training renders' mean 3D pose."""
    real = read_split(renders, "real_train")
    web = read_split(renders, "web")
    uv = real.kp2d[..., :2].mean(0)
    kp3d = pelvis_relative(torch.as_tensor(web.kp3d)).mean(0).numpy()
    return np.repeat(uv[None], n, 0), np.repeat(kp3d[None], n, 0)


@torch.no_grad()
def _predict(model_file: Path, test, body: BodyModel) -> tuple[np.ndarray, np.ndarray]:
    hmr = load_network(model_file, "hmr")[0]
    bodies = regress(hmr, to_tensor(test.image))
    kp = posed_keypoints(body, bodies.pose, bodies.shape, bodies.trans)
    return project(kp, torch.as_tensor(test.focal).float(), test.image.shape[1]).numpy(), kp.numpy()


def score_pose_row(row: str, renders: Path, model_files: list[Path], body: BodyModel) -> list[dict[str, float]]:
    """PCK@0.1 (x 100), MPJPE and PA-MPJPE (mm) on `real_test`, once per model file (the trivial row: once)."""
    test = read_split(renders, "real_test")
    size = test.image.shape[1]
    preds = [_mean_pose_prediction(renders, len(test))] if row == "mean_pose" else [_predict(f, test, body) for f in model_files]
    out = []
    for uv, kp3d in preds:
        err, pa = mpjpe(kp3d.astype(np.float64), test.kp3d.astype(np.float64))
        out.append({"pck": pck(uv, test.kp2d, size), "mpjpe": err, "pa_mpjpe": pa})
    return out
