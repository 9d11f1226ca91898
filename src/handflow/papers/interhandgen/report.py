"""Stage 6: `results/interhandgen_metrics.json`, the paper-layout table, and the figures.

The paper's values sit beside ours, labelled as reported. They come from secondary
sources (the arXiv full text was not retrievable when the reference notes were
written; see shared/reference/seed-interhandgen.md) and were computed on real
InterHand2.6M with MANO and the authors' unreleased feature network: FHID, KHID
and diversity are not comparable in absolute value with ours, which use our own
feature network (features.py). Penetration volume is comparable in unit (cm^3).
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch

from handflow.geometry.camera import look_at
from handflow.papers.interhandgen.evaluate import METRICS
from handflow.papers.interhandgen.representation import TwoHandDecoder
from handflow.papers.interhandgen.sample import read_samples
from handflow.render.images import Lighting, shade, to_srgb8
from handflow.render.rasterize import rasterize
from handflow.storage.atomic import atomic_path, atomic_write_text

ROWS = {  # key: table label (the paper's rows that ours stand for)
    "gt": "Ground truth (test vs. train; the floor)",
    "joint": "Joint two-hand diffusion (non-cascaded baseline)",
    "no_cfg": "InterHandGen w/o CFG",
    "no_apg": "InterHandGen w/o APG",
    "full": "InterHandGen (full)",
}
# Reported in the paper (secondary sources, InterHand2.6M + MANO, the authors' evaluator). None: not reported / not retrieved.
REPORTED = {
    "full": {
        "fhid": 1.00,
        "khid": 0.15,
        "diversity": 3.59,
        "precision": 0.86,
        "penetration_volume_cm3": 0.76,
        "penetration_depth_cm": 0.04,
        "contact_ratio": 0.97,
    },
    "no_apg": {"penetration_volume_cm3": 4.23},
    "joint": {"diversity": 2.68, "precision": 0.75},  # ComMDM (parallel), Table S1
}
COLUMNS = {
    "fhid": ("FHID", "lower"),
    "khid": ("KHID", "lower"),
    "diversity": ("Diversity", "higher"),
    "precision": ("Precision", "higher"),
    "recall": ("Recall", "higher"),
    "penetration_volume_cm3": ("PenVol cm³", "lower"),
    "penetration_depth_cm": ("PenDepth cm", "lower"),
    "contact_ratio": ("Contact ratio", "higher"),
}


def _fmt(entry: dict) -> str:
    return f"{entry['mean']:.3f} ± {entry['std']:.3f}"


def build_metrics(evals: dict[str, dict], features: dict, sweep: dict, provenance: dict[str, str]) -> dict:
    rows = {}
    for key, label in ROWS.items():
        ev = evals[key]
        rows[key] = {
            "label": label,
            "metrics": {m: {"mean": ev["metrics"][m]["mean"], "std": ev["metrics"][m]["std"]} for m in METRICS},
            "reported": {m: REPORTED.get(key, {}).get(m) for m in METRICS},
        }
    mean = lambda row, m: rows[row]["metrics"][m]["mean"]  # noqa: E731
    claims = {
        "apg_lowers_penetration_volume": mean("full", "penetration_volume_cm3") < mean("no_apg", "penetration_volume_cm3"),
        "cascade_fhid_at_most_joint": mean("no_apg", "fhid") <= mean("joint", "fhid"),
    }
    return {
        "paper": "InterHandGen (Lee et al., CVPR 2024)",
        **provenance,
        "n_samples": evals["full"]["n_samples"],
        "n_repeats": evals["full"]["n_repeats"],
        "n_test": evals["full"]["n_test"],
        "feature_network": features,
        "rows": rows,
        "claims_hold": claims,
        "apg_sweep": sweep["rows"],
        "reported_source": "paper values via secondary sources (see shared/reference/seed-interhandgen.md); real InterHand2.6M, MANO, "
        "the authors' feature network: FHID/KHID/diversity not comparable in absolute value",
    }


def table_markdown(metrics: dict) -> str:
    cols = list(COLUMNS)
    head = "| Method | " + " | ".join(f"{COLUMNS[c][0]} ({'↓' if COLUMNS[c][1] == 'lower' else '↑'})" for c in cols) + " |"
    lines = [
        f"# InterHandGen: two-hand synthesis ({metrics['data_source']} data, {metrics['hand_model']} hand model, scale {metrics['scale']})",
        "",
        f"Ours: mean ± std over {metrics['n_repeats']} sampling repeats of {metrics['n_samples']} samples each, against "
        f"{metrics['n_test']} test pairs. *Reported*: the paper's value (secondary sources; real InterHand2.6M, MANO, the "
        "authors' unreleased feature network, so FHID/KHID/diversity are not comparable in absolute value). "
        f"Feature network test MPJPE: {metrics['feature_network']['test_mpjpe_mm']:.2f} mm.",
        "",
        head,
        "|" + "---|" * (len(cols) + 1),
    ]
    for row in metrics["rows"].values():
        lines.append(f"| {row['label']} | " + " | ".join(_fmt(row["metrics"][c]) for c in cols) + " |")
        reported = row["reported"]
        if any(v is not None for v in reported.values()):
            lines.append(
                f"| *{row['label']}, reported* | " + " | ".join("" if reported[c] is None else f"*{reported[c]}*" for c in cols) + " |"
            )
    lines += [
        "",
        "Claims on this data: " + ", ".join(f"{k}: {'holds' if v else 'does NOT hold'}" for k, v in metrics["claims_hold"].items()),
        "",
    ]
    return "\n".join(lines)


def sweep_figure(sweep: dict, out: Path) -> None:
    rows = sweep["rows"]
    w = [r["apg_weight"] for r in rows]
    fig, ax = plt.subplots(figsize=(5, 3.4), dpi=120)
    sem = [r["penetration_volume_cm3_std"] / np.sqrt(sweep["n_samples"]) for r in rows]
    ax.errorbar(w, [r["penetration_volume_cm3"] for r in rows], yerr=sem, marker="o", capsize=3)
    ax.set_xlabel("APG guidance weight (multiplier of the seed's step schedule)")
    ax.set_ylabel("penetration volume, cm³ (mean ± s.e.m.)")
    ax.set_title(f"Penetration vs APG weight ({sweep['n_samples']} samples each)", fontsize=9)
    ax2 = ax.twinx()
    ax2.plot(w, [r["penetrating_share"] for r in rows], color="tab:red", marker="s", linestyle="--")
    ax2.set_ylabel("share of samples penetrating", color="tab:red")
    fig.tight_layout()
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)


def _render_pair(decoder: TwoHandDecoder, verts: np.ndarray, azimuth: float, size: int = 256) -> np.ndarray:
    sealed = decoder.sealed(torch.as_tensor(verts[None], dtype=torch.float64))[0].numpy() * 1000.0  # the rasterizer works in mm
    faces = decoder.sealed_faces.numpy()
    centre = sealed.mean(0)
    # far enough that the whole pair fits the view (half field of view: atan(0.5 / 1.3))
    distance = max(300.0, 2.9 * float(np.linalg.norm(sealed - centre, axis=1).max()))
    direction = np.array([np.sin(azimuth), -0.35, -np.cos(azimuth)])
    campos = centre + distance * direction / np.linalg.norm(direction)
    rot = look_at(campos, centre)
    cam_verts = (sealed - campos) @ rot.T
    focal, princpt = np.full(2, size * 1.3), np.full(2, (size - 1) / 2)
    raster = rasterize(cam_verts, faces, focal, princpt, (size, size))
    albedo = np.zeros((len(sealed), 3))
    n_left = decoder.left.n_vertices + 1
    albedo[:n_left], albedo[n_left:] = (0.75, 0.45, 0.35), (0.35, 0.5, 0.75)  # left (anchor) warm, right cool
    light = Lighting(np.array([[0.3, -0.6, -0.74]]) / np.linalg.norm([0.3, -0.6, -0.74]), np.full((1, 3), 0.9), np.full(3, 0.25))
    rgb, mask = shade(raster, cam_verts, faces, albedo, light, focal, princpt)
    img = to_srgb8(rgb)
    img[~mask] = 245
    return img


def samples_figure(samples: Path, decoder: TwoHandDecoder, out: Path, n: int = 8) -> None:
    """A grid of the first samples of the first repeat, front and side views (left hand warm, right cool)."""
    verts, repeat = read_samples(samples, decoder.left.n_vertices + decoder.right.n_vertices)
    picks = verts[repeat == repeat[0]][:n]
    columns = [np.vstack([_render_pair(decoder, v, 0.0), _render_pair(decoder, v, np.pi / 2)]) for v in picks]
    grid = np.hstack(columns)
    with atomic_path(out) as tmp:
        _, buf = cv2.imencode(".png", grid[..., ::-1])
        tmp.write_bytes(buf.tobytes())


def write_report(
    evals: dict[str, dict],
    features: dict,
    sweep: dict,
    samples: Path,
    decoder: TwoHandDecoder,
    provenance: dict[str, str],
    out_json: Path,
    out_table: Path,
    out_samples: Path,
    out_sweep: Path,
) -> dict:
    metrics = build_metrics(evals, features, sweep, provenance)
    for path in (out_json, out_table, out_samples, out_sweep):
        path.parent.mkdir(parents=True, exist_ok=True)
    samples_figure(samples, decoder, out_samples)
    sweep_figure(sweep, out_sweep)
    atomic_write_text(out_table, table_markdown(metrics))
    atomic_write_text(out_json, json.dumps(metrics, indent=2))
    return metrics
