"""What the data stages produced, for a person: a summary JSON and a sample figure.

The figure draws, on sample images of the test split, the joints projected from
joint_3d.json through camera.json, and the annotation box: if the geometry of a
data source is off (units, camera convention, joint order), it shows here first.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from handflow.datasets.interhand.preprocessed import read_preprocessed
from handflow.datasets.interhand.reader import InterHandSplit
from handflow.render.figure import save_image_grid
from handflow.storage.atomic import atomic_write_text

N_TILES = 8


def _split_summary(arrays: dict[str, np.ndarray]) -> dict:
    types = arrays["hand_type"]
    out = {
        "time_steps": len(types),
        "interacting": int((types == 2).sum()),
        "right_only": int((types == 0).sum()),
        "left_only": int((types == 1).sum()),
    }
    for side in ("right", "left"):
        err = arrays[f"{side}/fit_error_mm"]
        out[f"{side}_fits"] = int(arrays[f"{side}/valid"].sum())
        out[f"{side}_fit_error_mm_median"] = round(float(np.nanmedian(err)), 4) if np.isfinite(err).any() else None
    return out


def sample_figure(root: Path, split: str, out: Path, tile_height: int = 256) -> None:
    data = InterHandSplit(root, split)
    records = list(data)
    picks = np.linspace(0, len(records) - 1, min(N_TILES, len(records))).round().astype(int)
    tiles = []
    for i in picks:
        rec = records[i]
        img = cv2.imread(str(rec.image_path))
        if img is None:
            from handflow.errors import InputError

            raise InputError(rec.image_path, None, "unreadable image")
        for k, (u, v) in enumerate(rec.joints_img):
            if rec.joint_valid[k]:
                cv2.circle(img, (round(u), round(v)), 2, (0, 255, 0) if k < 21 else (255, 0, 255), -1)
        x, y, w, h = rec.bbox
        cv2.rectangle(img, (round(x), round(y)), (round(x + w), round(y + h)), (255, 255, 0), 1)
        scale = tile_height / img.shape[0]
        tiles.append(cv2.resize(img, (round(img.shape[1] * scale), tile_height), interpolation=cv2.INTER_AREA))
    grid = [[t[..., ::-1] for t in tiles[i : i + 4]] for i in range(0, len(tiles), 4)]
    width = max(t.shape[1] for t in tiles)
    grid = [[np.pad(t, ((0, 0), (0, width - t.shape[1]), (0, 0))) for t in row] for row in grid]
    grid = [row + [np.zeros_like(row[0])] * (4 - len(row)) for row in grid]  # a short last row: blank tiles
    save_image_grid(
        out,
        grid,
        f"InterHand2.6M, {split} split: annotations drawn on the images",
        [""] * 4,
        [f"images {4 * r + 1}-{4 * r + len(row)}" for r, row in enumerate(grid)],
        "Joints from joint_3d.json projected through camera.json: right hand green, left hand magenta; "
        "the annotation box in cyan. Off-hand dots mean a units, camera or joint-order problem.",
    )


def write_report(root: Path, h5_files: list[Path], out_json: Path, out_figure: Path, provenance: dict[str, str]) -> None:
    summary = {**provenance, "splits": {}}
    keys = ["hand_type", *(f"{side}/{key}" for side in ("right", "left") for key in ("fit_error_mm", "valid"))]
    for path in h5_files:
        pre = read_preprocessed(path, keys)
        summary["splits"][pre.split] = _split_summary(pre.arrays)
    sample_figure(root, "test" if "test" in summary["splits"] else next(iter(summary["splits"])), out_figure)
    atomic_write_text(out_json, json.dumps(summary, indent=2, sort_keys=True) + "\n")
