"""`results/affordance_metrics.json`, the table (Markdown and HTML) and the figure grid.

The paper's own numbers (FID, contact recall and user preference on HOI4D and EPIC-KITCHENS)
could not be retrieved when the seed notes were written (shared/reference/
seed-affordance-diffusion.md, header): no reported row is printed rather than a guessed
one, and the table says so. They were measured with Inception features and the 100DOH
detector on real images; ours use the evaluator this pipeline trains, so only the
comparisons between rows carry over, not the absolute values.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import cv2
import h5py
import numpy as np
import torch

from handflow.diffusion import resize_images, to_tensor, to_uint8
from handflow.papers.affordance.evaluate import evaluator_checks
from handflow.papers.affordance.handpose import held_out_accuracy, predict_kps
from handflow.papers.affordance.layout import render_hard
from handflow.papers.affordance.networks import load_network
from handflow.papers.affordance.pair_data import PairSet
from handflow.papers.affordance.sample import SampleConfig
from handflow.papers.affordance.variants import REFERENCES, VARIANTS
from handflow.render.figure import save_image_grid
from handflow.tables import Claim, Column, Estimate, ResultsTable, Row

COLUMNS = [
    Column("fid", "FID (our features)", "lower", digits=2),
    Column("kid", "KID", "lower", digits=3),
    Column("contact_recall", "Contact recall", "higher", digits=3),
    Column("hand_present", "Hand present", "higher", digits=3),
    Column("penetration_mm", "Penetration (mm, 3D hand)", "lower", digits=1),
    Column("contact_3d", "3D contact", "higher", digits=3),
    Column("judge_accuracy", "Judge accuracy", "higher", digits=3),
]
CLAIMS = [
    Claim(
        "evaluator_is_a_judge",
        "the contact classifier beats the majority class on held-out frames (else no recall is evidence)",
        "judge_accuracy",
        "evaluator",
        "majority",
    ),
    Claim(
        "draws_hands",
        "ContentNet draws hands in contact at all (beats returning the object image)",
        "contact_recall",
        "full",
        "copy",
        requires=("evaluator_is_a_judge",),
    ),
    Claim(
        "layout_beats_nolayout_contact",
        "layout-conditioned synthesis has a higher contact recall than the no-layout baseline",
        "contact_recall",
        "full",
        "nolayout",
        requires=("draws_hands",),
    ),
    Claim(
        "layout_beats_nolayout_fid",
        "layout-conditioned synthesis has a lower FID than the no-layout baseline",
        "fid",
        "full",
        "nolayout",
        requires=("draws_hands",),
    ),
    Claim(
        "layoutnet_beats_mean_layout",
        "LayoutNet's layouts beat the training set's mean layout (contact recall)",
        "contact_recall",
        "full",
        "mean_layout",
        requires=("draws_hands",),
    ),
    Claim("mask_loss_helps", "LayoutNet's mask loss lowers FID", "fid", "full", "nomask", requires=("draws_hands",)),
]
UNCERTAINTY = (
    "mean ± standard error over sampling seeds (one trained model per network: training noise is not in it); the reference "
    "rows are fixed image sets, exact (± 0) against the same reference half; the judge's accuracy ± its binomial s.e. over "
    "held-out frames."
)


def _row(evaluation: dict, label: str) -> Row:
    per_seed = evaluation["per_seed"]
    if evaluation["row"] in REFERENCES:  # one fixed set: nothing sampled
        return Row(evaluation["row"], label, {c.key: Estimate(float(per_seed[0][c.key]), 0.0) for c in COLUMNS if c.key in per_seed[0]})
    return Row(evaluation["row"], label, {c.key: Estimate.of([s[c.key] for s in per_seed]) for c in COLUMNS if c.key in per_seed[0]})


def _judge_rows(checks: dict) -> list[Row]:
    """The evaluator against the majority class on held-out frames: the precondition of every contact-recall claim."""
    p, n = checks["contact_accuracy"], checks["n_frames"]
    se = (p * (1 - p) / n) ** 0.5
    return [
        Row("evaluator", "Contact classifier (our judge), held-out frames", {"judge_accuracy": Estimate(p, se, n)}),
        Row("majority", "Majority class (trivial judge)", {"judge_accuracy": Estimate(checks["contact_majority_baseline"], 0.0)}),
    ]


def build_table(evals: dict[str, dict], provenance: dict, extra: dict, notes: list[str]) -> ResultsTable:
    labels = {**{k: v.label for k, v in VARIANTS.items()}, **REFERENCES}
    rows = [_row(evals[key], labels[key]) for key in labels] + _judge_rows(extra["evaluator"])
    true_hands = evals["gt"].get("true_hands")
    if true_hands is not None:
        notes.append(
            f"3D hand columns (embedded data only): the hand-pose network's joints placed in the crop's camera, against the slab "
            f"between the object's near and far depth; images the judge sees no hand in are left out. Calibration: the held-out "
            f"pairs' true hands score {true_hands['penetration_mm']:.1f} mm penetration and {true_hands['contact_3d']:.3f} 3D "
            f"contact (median joint-to-surface {true_hands['median_distance_mm']:.1f} mm); the ground-truth row is the same "
            "crops read by the network, the floor of what the network's reading allows."
        )
        extra = {**extra, "true_hands": true_hands}
    notes = [
        *notes,
        "The paper's reported values are not shown: they could not be retrieved (see shared/reference/seed-affordance-diffusion.md). "
        "They are on real HOI4D with Inception features and the 100DOH detector; only comparisons between rows carry over.",
    ]
    return ResultsTable(
        "affordance",
        "Affordance Diffusion: HOI synthesis from an object image",
        provenance,
        COLUMNS,
        rows,
        UNCERTAINTY,
        CLAIMS,
        [],
        notes,
        extra,
    )


def _upsample(upsampler, images: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return to_uint8(upsampler(to_tensor(images)))


def write_figure(out: Path, test_pairs: Path, samples: dict[str, Path], upsampler_path: Path, hand_net, n: int = 4) -> None:
    """Input object, the sampled layout over it, the output (upsampled), its hand's predicted joints, the no-layout output,
    the real HOI crop."""
    upsampler = load_network(upsampler_path, "upsampler")[0]
    with h5py.File(samples["full"], "r") as h5:
        inputs, full, layouts = h5["inputs"][()], h5["images"][0], h5["layouts"][0]
    with h5py.File(samples["nolayout"], "r") as h5:
        nolayout = h5["images"][0]
    with h5py.File(test_pairs, "r") as h5:
        obj_all, hoi_all = h5["obj"], h5["hoi"]
        size = full.shape[1]
        pick = np.linspace(0, len(inputs) - 1, min(n, len(inputs))).round().astype(int)
        tiles = []
        kept = PairSet.load(test_pairs, size).kept
        for i in pick:
            src = kept[inputs[i]]
            obj = resize_images(obj_all[src][None], size)[0]
            hand = render_hard(layouts[i], size) == 0
            over = obj.copy()
            over[hand] = (0.5 * over[hand] + 0.5 * np.array([40, 90, 255])).astype(np.uint8)
            big = _upsample(upsampler, np.stack([full[i], nolayout[i]]))
            skeleton = _skeleton(big[0], predict_kps(hand_net, big[:1])[0])
            tiles.append([obj, over, big[0], skeleton, big[1], hoi_all[src]])
    save_image_grid(
        out,
        tiles,
        "Affordance Diffusion on held-out objects",
        ["object image", "sampled layout", "ours (upsampled)", "its hand's joints", "no-layout baseline", "real HOI crop"],
        caption="Seed 0 of each variant; layouts are LayoutNet samples; joints from the hand-pose network.",
    )


def _skeleton(image: np.ndarray, kps: np.ndarray) -> np.ndarray:
    """The 21 joints (OpenPose order: wrist, then four per finger) drawn as bones over the image."""
    out = np.ascontiguousarray(image.copy())
    colours = [(255, 60, 60), (255, 180, 0), (60, 200, 60), (0, 160, 255), (200, 60, 255)]
    for finger in range(5):
        chain = [0, *range(1 + 4 * finger, 5 + 4 * finger)]
        for a, b in itertools.pairwise(chain):
            pa, pb = (tuple(round(float(v)) for v in kps[j]) for j in (a, b))
            cv2.line(out, pa, pb, colours[finger], 1, cv2.LINE_AA)
    return out


def pairs_notes(test_pairs: Path) -> tuple[dict, list[str]]:
    with h5py.File(test_pairs, "r") as h5:
        stats = json.loads(h5.attrs["stats"])
        inpainting, sdedit = str(h5.attrs["inpainting"]), str(h5.attrs["sdedit"])
    notes = [f"Object-only images: {inpainting} inpainting; SDEdit copy: {sdedit}."]
    if "hole_mae_inpainted" in stats:
        notes.append(
            f"Inpainting error in the hand's hole against the true object-only render (held-out pairs, 0-255): "
            f"{stats['hole_mae_inpainted']:.1f}, vs {stats['hole_mae_mean_colour']:.1f} for the crop's mean colour and "
            f"{stats['hole_mae_unfilled']:.1f} for leaving the hand in."
        )
    return {"pairs_test": stats, "inpainting": inpainting, "sdedit": sdedit}, notes


def write_report(
    evals: dict[str, dict],
    samples: dict[str, Path],
    test: Path,
    evaluator_path: Path,
    frames: Path,
    upsampler: Path,
    handpose_path: Path,
    hand_model: Path,
    sampling: SampleConfig,
    provenance: dict,
    json_path: Path,
    table_path: Path,
    html_path: Path,
    figure: Path,
) -> ResultsTable:
    """The table (JSON, Markdown, HTML) with the judge's and the hand-pose network's checks in its notes, and the figure."""
    evaluator, ckpt = load_network(evaluator_path, "evaluator")
    checks = evaluator_checks(evaluator, frames, ckpt["config"]["image_size"])
    extra, notes = pairs_notes(test)
    net, hp_ckpt = load_network(handpose_path, "handpose")
    hand_pose = held_out_accuracy(net, hp_ckpt, test, hand_model)
    notes.append(
        f"Hand-pose network (FrankMocap's role; joints, not a MANO fit) on held-out real crops: wrist-relative MPJPE "
        f"{hand_pose['mpjpe_mm']:.1f} mm vs {hand_pose['mean_pose_mpjpe_mm']:.1f} mm for the training mean pose; 2D joints "
        f"{hand_pose['kps_error_pct']:.1f} % of the crop vs {hand_pose['mean_kps_error_pct']:.1f} %. The figure overlays its "
        "joints on the synthesised hands."
    )
    notes.append(
        f"Evaluator (contact state and category, trained on the embedded training frames) on held-out frames: contact-state "
        f"accuracy {checks['contact_accuracy']:.3f} vs {checks['contact_majority_baseline']:.3f} for the majority class; "
        f"category accuracy {checks['category_accuracy']:.3f}."
    )
    extra = {
        **extra,
        "evaluator": checks,
        "sampler": sampling.sampler,
        "sampling_steps": sampling.steps,
        "n_seeds": sampling.n_seeds,
        "references": REFERENCES,
        "hand_pose": hand_pose,
    }
    table = build_table(evals, provenance, extra, notes)
    table.write(json_path, table_path, html_path)
    write_figure(figure, test, samples, upsampler, net)
    return table
