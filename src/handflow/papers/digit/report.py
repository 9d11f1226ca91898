"""`results/digit_metrics.json`, the paper-layout table with the seed's reported values, and a figure.

Reported values are the seed repository's own results for its released model on the
InterHand2.6M test split (RootNet boxes and depths); ours use ground-truth root depths
and the embedded data, so they are not comparable in absolute value.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import torch

from handflow.papers.digit.dataset import HEATMAP, INPUT, DigitSamples
from handflow.papers.digit.model import Digit
from handflow.storage.atomic import atomic_path, atomic_write_text

ROWS = {"seg": "DIGIT", "noseg": "DIGIT w/o segmentation (ablation)"}
REPORTED = {"seg": {"mpjpe_all": 12.59, "mpjpe_single": 10.73, "mpjpe_interacting": 14.21, "mrrpe": 29.04, "handedness_accuracy": 0.9915}}
COLUMNS = {"mpjpe_all": "MPJPE all (mm)", "mpjpe_single": "MPJPE single (mm)", "mpjpe_interacting": "MPJPE interacting (mm)",
           "mrrpe": "MRRPE (mm)", "handedness_accuracy": "Handedness acc.", "segm_miou": "Segm. mIoU"}  # fmt: skip


def build_metrics(evals: dict[str, dict], provenance: dict[str, str]) -> dict:
    rows = {
        k: {"label": label, "metrics": {c: evals[k].get(c) for c in COLUMNS}, "reported": {c: REPORTED.get(k, {}).get(c) for c in COLUMNS}}
        for k, label in ROWS.items()
    }
    seg, noseg = rows["seg"]["metrics"]["mpjpe_interacting"], rows["noseg"]["metrics"]["mpjpe_interacting"]
    return {"paper": "DIGIT (Fan et al., 3DV 2021)", **provenance, "n_test_images": int(evals["seg"]["n_images"]), "rows": rows,
            "claims_hold": {"segmentation_lowers_interacting_mpjpe": bool(seg < noseg)},
            "reported_source": "seed repository results/*.txt, released model, InterHand2.6M test, RootNet root depths"}  # fmt: skip


def table_markdown(metrics: dict) -> str:
    fmt = lambda v: "" if v is None else (f"{v:.3f}" if v < 1.5 else f"{v:.2f}")  # noqa: E731
    seg, noseg = (metrics["rows"][k]["metrics"]["mpjpe_interacting"] for k in ("seg", "noseg"))
    title = f"# DIGIT: two-hand pose ({metrics['data_source']} data, scale {metrics['scale']}, {metrics['n_test_images']} test images)"
    lines = [title, "",
             "Ours use ground-truth root depths; *reported*: the seed's released model on real InterHand2.6M with RootNet.", "",
             "| Method | " + " | ".join(COLUMNS.values()) + " |", "|" + "---|" * (len(COLUMNS) + 1)]  # fmt: skip
    for row in metrics["rows"].values():
        lines.append(f"| {row['label']} | " + " | ".join(fmt(row["metrics"][c]) for c in COLUMNS) + " |")
        if any(v is not None for v in row["reported"].values()):
            lines.append(
                f"| *{row['label']}, reported* | "
                + " | ".join(f"*{fmt(row['reported'][c])}*" if row["reported"][c] else "" for c in COLUMNS)
                + " |"
            )
    lines += [
        "",
        "Claims on this data: "
        + ", ".join(f"{k}: {'holds' if v else 'does NOT hold'}" for k, v in metrics["claims_hold"].items())
        + f" (interacting MPJPE {fmt(seg)} vs {fmt(noseg)} mm; one training run each, no repeats).",
        "",
    ]
    return "\n".join(lines)


@torch.no_grad()
def prediction_figure(model: Digit, data: DigitSamples, out: Path, n: int = 4) -> None:
    """Per test image: the input crop, the predicted part mask, the predicted 2D joints."""
    tiles = []
    for i in np.linspace(0, len(data) - 1, n).round().astype(int):
        s = data[int(i)]
        pred = model(s["image"][None])
        img = (s["image"].numpy().transpose(1, 2, 0) * 255).astype(np.uint8)[..., ::-1].copy()
        seg = pred["segm_logits"][0].argmax(0).numpy().astype(np.uint8) if "segm_logits" in pred else np.zeros((128, 128), np.uint8)
        seg = cv2.resize(
            cv2.applyColorMap(seg * 7, cv2.COLORMAP_JET) * (seg[..., None] > 0), (INPUT, INPUT), interpolation=cv2.INTER_NEAREST
        )
        joints = img.copy()
        for j, (u, v, _) in enumerate(pred["joints"][0].numpy() * INPUT / HEATMAP):
            cv2.circle(joints, (int(u), int(v)), 3, (0, 0, 255) if j < 21 else (255, 0, 0), -1)
        tiles.append(np.hstack([img, seg, joints]))
    with atomic_path(out) as tmp:
        tmp.write_bytes(cv2.imencode(".png", np.vstack(tiles))[1].tobytes())


def write_report(evals: dict[str, dict], provenance: dict[str, str], model: Digit, data: DigitSamples, out_json: Path, out_table: Path,
                 out_figure: Path) -> dict:  # fmt: skip
    metrics = build_metrics(evals, provenance)
    for path in (out_json, out_table, out_figure):
        path.parent.mkdir(parents=True, exist_ok=True)
    prediction_figure(model, data, out_figure)
    atomic_write_text(out_table, table_markdown(metrics))
    atomic_write_text(out_json, json.dumps(metrics, indent=2))
    return metrics
