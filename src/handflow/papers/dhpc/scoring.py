"""Scoring the table's rows: the image rows against the held-out reference renders, the pose rows on the real-style test set."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from handflow.diffusion import to_tensor, to_uint8
from handflow.errors import InputError
from handflow.papers.dhpc.dataset import read_split
from handflow.papers.dhpc.evaluate import image_metrics, mpjpe, pck
from handflow.papers.dhpc.generate import regress
from handflow.papers.dhpc.judging import Judges, PeopleReading, pose_agreement
from handflow.papers.dhpc.networks import load_network
from handflow.papers.dhpc.posing import pelvis_relative, posed_keypoints, project
from handflow.papers.dhpc.samples import read
from handflow.papers.dhpc.skeleton import BodyModel


def _judged(judges: Judges, images: np.ndarray) -> tuple[np.ndarray, np.ndarray, PeopleReading]:
    reading = judges.read(images)
    return judges.features_of(images), judges.features_of(images, reading.masks), reading


def score_image_rows(renders: Path, generated: dict[str, Path], judges: Judges, n_seeds: int, seed: int) -> dict:
    """Per row: per-seed FID/KID/H-FID/H-KID, the share of images with a person found, and the pose agreement where a row
    has bodies to agree with (`judging`); and their means. Every value is read by judges no one here trained."""
    ref_split = read_split(renders, "web_ref")
    ref, ref_masked, _ = _judged(judges, ref_split.image)
    rng = np.random.default_rng(seed)
    web = read_split(renders, "web")
    pixels = to_tensor(web.image)
    mu, sd = pixels.mean(0), pixels.std(0)
    n, side = len(ref_split), ref_split.image.shape[1]
    g = torch.Generator().manual_seed(seed)
    gaussian = [to_uint8((mu + sd * torch.randn((n, *mu.shape), generator=g)).clamp(-1, 1)) for _ in range(n_seeds)]
    sets: dict[str, list[tuple[np.ndarray, np.ndarray | None]]] = {"pixel_gaussian": [(x, None) for x in gaussian]}
    drawn = {}
    for row, path in generated.items():
        drawn[row] = read(path, "samples", ("seed", "source", "kp2d") if row == "corrected" else ("seed",))[0]
        seeds = drawn[row]["seed"]
        missing = sorted(set(range(n_seeds)) - set(seeds.tolist()))
        if missing:
            raise InputError(path, "samples/seed", f"no image of sampling seed {missing[0]} (n_seeds is {n_seeds})")
    corrected, text_only = drawn["corrected"], drawn["text_only"]
    if (corrected["source"] >= len(text_only["image"])).any():
        raise InputError(generated["corrected"], "samples/source", f"an index past the {len(text_only['image'])} text-only samples")
    # the bodies the correction rendered: the corrected images and the text-only images they came from are read against them
    bodies = [corrected["kp2d"][corrected["seed"] == k] for k in range(n_seeds)]
    # Paired rows, as the seed's `generate_dataset.py`: it saves neither image of a sample whose correction failed (no
    # person) or that the prior filter drops, so text-only is scored on exactly the samples the corrected row keeps,
    # the text-to-image images the corrections started from (scoring every text-only sample put the person-less ones,
    # all black in H-FID, in the text-only row only).
    sources = [text_only["image"][corrected["source"][corrected["seed"] == k]] for k in range(n_seeds)]
    sets["text_only"] = [(sources[k], bodies[k]) for k in range(n_seeds)]
    sets["corrected"] = [(corrected["image"][corrected["seed"] == k], bodies[k]) for k in range(n_seeds)]
    holdout = read_split(renders, "web_holdout")
    sets["real"] = [(holdout.image, holdout.kp2d)]  # the calibration: renders read against their own bodies
    rows = {}
    for row, draws in sets.items():
        per_seed = []
        for images, kp2d in draws:
            if len(images) < 2:
                raise InputError(generated.get(row, renders), "samples/image", f"{row}: {len(images)} images in a draw, FID needs 2")
            feats, masked, reading = _judged(judges, images)
            values = {**image_metrics(feats, ref, masked, ref_masked, rng), "person_rate": float(reading.found.mean())}
            if kp2d is not None:  # text-only: the same bodies, on the images the correction started from
                values["pose_agreement"] = pose_agreement(reading, kp2d, side)
            per_seed.append({**values, "n_images": float(len(images))})
        rows[row] = {"per_seed": per_seed, "mean": {key: float(np.mean([s[key] for s in per_seed])) for key in per_seed[0]}}
    return {"reference": {"split": "web_ref", "n_images": n}, "judges": judges.provenance(), "rows": rows}


def _mean_pose_prediction(renders: Path, real_file: Path, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The trivial row: every test frame gets the few-shot frames' mean 2D keypoints and the training renders' mean 3D pose."""
    real = read_split(real_file, "real_train")
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


def score_pose_row(row: str, renders: Path, model_files: list[Path], body: BodyModel, real: Path | None = None) -> list[dict[str, float]]:
    """PCK@0.1 (x 100), MPJPE and PA-MPJPE (mm) on `real_test` (of `real`, the user's frames, else of the renders), once
    per model file (the trivial row: once)."""
    real = real or renders
    test = read_split(real, "real_test")
    preds = [_mean_pose_prediction(renders, real, len(test))] if row == "mean_pose" else [_predict(f, test, body) for f in model_files]
    out = []
    for uv, kp3d in preds:
        row = {"pck": pck(uv, test.kp2d)}
        if test.has_3d:  # real frames without 3D joints (COCO files without keypoints_3d) have PCK only
            row["mpjpe"], row["pa_mpjpe"] = mpjpe(kp3d.astype(np.float64), test.kp3d.astype(np.float64))
        out.append(row)
    return out


def score_posegen_rows(real: Path, posegen: Path, judges: Judges, n_seeds: int, seed: int) -> dict:
    """The pose-conditioned table (`posegen`): every row against the reference half of the real test frames, with the
    per-pixel Gaussian of the guides' statistics (trivial) and the guide frames themselves (floor, one value); the pose
    agreement of each generated image with the body whose depth conditioned it (the guides: with their own bodies)."""
    from handflow.papers.dhpc.posegen import GROUP, halves
    from handflow.papers.dhpc.variants import POSEGEN_ROWS

    test = read_split(real, "real_test")
    guide_idx, ref_idx = halves(test)
    ref, ref_masked, _ = _judged(judges, test.image[ref_idx])
    drawn, _, attrs = read(posegen, GROUP, ("seed", "row", "guide", "kp2d"), {"guides": int})
    if attrs["guides"] != len(guide_idx):
        raise InputError(posegen, "guides", f"{attrs.get('guides')} guides, the real test split's first half is {len(guide_idx)}")
    side = test.image.shape[1]
    guides = to_tensor(test.image[guide_idx])
    mu, sd = guides.mean(0), guides.std(0)
    g = torch.Generator().manual_seed(seed)
    sets: dict[str, list[tuple[np.ndarray, np.ndarray | None]]] = {
        "posegen_gaussian": [
            (to_uint8((mu + sd * torch.randn((len(guide_idx), *mu.shape), generator=g)).clamp(-1, 1)), None) for _ in range(n_seeds)
        ],
        "posegen_guides": [(test.image[guide_idx], test.kp2d[guide_idx])],
    }
    for r, row in enumerate(POSEGEN_ROWS):
        draws = []
        for k in range(n_seeds):
            pick = (drawn["row"] == r) & (drawn["seed"] == k)
            if pick.sum() != len(guide_idx):
                raise InputError(posegen, f"{GROUP}/row", f"{row}, draw {k}: {int(pick.sum())} images for {len(guide_idx)} guides")
            draws.append((drawn["image"][pick], drawn["kp2d"][pick]))
        sets[row] = draws
    rng = np.random.default_rng(seed)
    rows = {}
    for row, draws in sets.items():
        per_seed = []
        for images, kp2d in draws:
            feats, masked, reading = _judged(judges, images)
            values = {**image_metrics(feats, ref, masked, ref_masked, rng), "person_rate": float(reading.found.mean())}
            if kp2d is not None:
                values["pose_agreement"] = pose_agreement(reading, kp2d, side)
            per_seed.append({**values, "n_images": float(len(images))})
        rows[row] = {"per_seed": per_seed, "mean": {key: float(np.mean([s[key] for s in per_seed])) for key in per_seed[0]}}
    reference = {"split": "real_test (second half)", "n_images": len(ref_idx), "guides": len(guide_idx), "bodies": attrs.get("bodies")}
    return {"reference": reference, "judges": judges.provenance(), "generator": attrs.get("generator"), "rows": rows}
