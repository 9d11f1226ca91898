"""Diffusion-HPC's table (image quality rows and downstream pose rows, the paper's claims judged) and its figure."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from handflow.errors import InputError
from handflow.papers.dhpc.samples import read
from handflow.papers.dhpc.variants import IMAGE_ROWS, POSE_ROWS, POSEGEN_ROWS, POSEGEN_TRIVIAL
from handflow.render.figure import save_image_grid
from handflow.storage.json_files import (
    COUNT,
    JUDGE,
    NUMBER,
    POSITIVE,
    RATE,
    TEXT,
    check_schema,
    gather,
    listing,
    mapping,
    read_json,
    record,
    when,
)
from handflow.tables import Claim, Column, Estimate, Reported, ResultsTable, Row

COLUMNS = [
    Column("fid", "FID (EfficientNet-Lite0)", "lower", digits=2),
    Column("kid", "KID (EfficientNet-Lite0)", "lower", digits=4),
    Column("h_fid", "H-FID (MediaPipe mask)", "lower", digits=2),
    Column("h_kid", "H-KID (MediaPipe mask)", "lower", digits=4),
    Column("person_rate", "Person found (MediaPipe)", "higher", digits=2),
    Column("pose_agreement", "Pose agrees with the body (MediaPipe, PCK@0.1)", "higher", digits=1),
    Column("pck", "PCK@0.1", "higher", digits=1),
    Column("mpjpe", "MPJPE", "lower", "mm", 1),
    Column("pa_mpjpe", "PA-MPJPE", "lower", "mm", 1),
]
IMAGE_KEYS, POSE_KEYS = ("fid", "kid", "h_fid", "h_kid", "person_rate", "pose_agreement"), ("pck", "mpjpe", "pa_mpjpe")
CLAIMS = [
    Claim(
        "judge_sees_people",
        "calibration: the person judge finds people in the held-out renders more often than in per-pixel noise (else the "
        "H-variants and the pose agreement are no evidence at this image size)",
        "person_rate",
        "real",
        "pixel_gaussian",
    ),
    Claim(
        "generator_learned",
        "The text-to-image model beats per-pixel Gaussian noise with the training images' statistics (FID)",
        "fid",
        "text_only",
        "pixel_gaussian",
    ),
    Claim(
        "correction_lowers_hfid",
        "Pose correction lowers H-FID (paper: Diffusion-HPC vs Stable Diffusion, person-masked)",
        "h_fid",
        "corrected",
        "text_only",
        requires=("generator_learned", "judge_sees_people"),
    ),
    Claim(
        "correction_agrees_with_body",
        "Pose correction makes the image agree with the body it was corrected to (the judge's 2D landmarks against the "
        "body's keypoints: corrected vs the text-to-image sample it started from)",
        "pose_agreement",
        "corrected",
        "text_only",
        requires=("generator_learned", "judge_sees_people"),
    ),
    Claim(
        "correction_lowers_hkid",
        "Pose correction lowers H-KID",
        "h_kid",
        "corrected",
        "text_only",
        requires=("generator_learned", "judge_sees_people"),
    ),
    Claim(
        "judge_sees_real_people",
        "calibration: the person judge finds people in the real guide frames more often than in per-pixel noise (else the "
        "pose-conditioned rows' H-variants are no evidence)",
        "person_rate",
        "posegen_guides",
        "posegen_gaussian",
    ),
    Claim(
        "posegen_learned",
        "Pose-conditioned generation (real frame + text) beats per-pixel Gaussian noise with the guides' statistics (FID)",
        "fid",
        "posegen_ours",
        "posegen_gaussian",
    ),
    Claim(
        "real_frame_helps",
        "Starting from the real frame brings pose-conditioned images closer to real frames than text alone (FID; paper: ours vs ours_nor)",
        "fid",
        "posegen_ours",
        "posegen_nor",
        requires=("posegen_learned",),
    ),
    Claim(
        "text_helps",
        "The text prompt helps pose-conditioned generation from the real frame (FID; paper: ours vs ours_notext)",
        "fid",
        "posegen_ours",
        "posegen_notext",
        requires=("posegen_learned",),
    ),
    Claim(
        "real_frame_helps_hfid",
        "Starting from the real frame lowers the person-masked distance too (H-FID; ours vs ours_nor)",
        "h_fid",
        "posegen_ours",
        "posegen_nor",
        requires=("posegen_learned", "judge_sees_real_people"),
    ),
    Claim("finetune_learned", "Few-shot real fine-tuning beats the mean pose (PCK)", "pck", "real_only", "mean_pose"),
    Claim("finetune_learned_3d", "Few-shot real fine-tuning beats the mean pose (MPJPE)", "mpjpe", "real_only", "mean_pose"),
    Claim(
        "synthetic_improves_pck",
        "Adding our synthetic data improves the fine-tuned regressor (PCK@0.1)",
        "pck",
        "real_synth",
        "real_only",
        requires=("finetune_learned",),
    ),
    Claim(
        "synthetic_improves_mpjpe",
        "Adding our synthetic data improves the fine-tuned regressor (MPJPE)",
        "mpjpe",
        "real_synth",
        "real_only",
        requires=("finetune_learned_3d",),
    ),
]
README = "Diffusion-HPC README, released checkpoints"
REPORTED_SMART = {"polevault": 77.70, "vault": 66.91, "diving": 79.27, "unevenbars": 44.14, "balancebeam": 85.09, "highjump": 78.14}


# What the report reads of its inputs (`storage.json_files.check_schema`)
_IMAGE_SEED = {**mapping(NUMBER), "required": ["person_rate", "n_images"], "properties": {"person_rate": RATE, "n_images": POSITIVE}}


def _rows(keys) -> dict:
    return record(**{key: record(per_seed=listing(_IMAGE_SEED)) for key in keys})


IMAGES = record(reference=record(n_images=POSITIVE), judges=record(people=JUDGE, features=JUDGE), rows=_rows(IMAGE_ROWS))
POSEGEN = record(
    posegen=record(reference=record(bodies=TEXT, guides=COUNT, n_images=COUNT), rows=_rows({**POSEGEN_TRIVIAL, **POSEGEN_ROWS}))
)
POSE = record(optional={"frames": TEXT}, row=TEXT, per_seed=listing(mapping(NUMBER)))
_GENERATOR = {
    "anyOf": [
        {"type": "null"},
        {"allOf": [{"type": "object"}, when("kind", "diffusers", record(pipeline=TEXT, path=TEXT, sha256=TEXT))]},
    ]
}
GENERATORS = {"type": "object", "properties": {"text_only": _GENERATOR, "depth": _GENERATOR}}


def read_evaluations(paths: list[Path]) -> tuple[dict, dict[str, dict], dict]:
    """The image evaluation, the pose rows' evaluations by row and the pose-conditioned evaluation among `paths` (told
    apart by their fields), each read in the form declared above."""
    evals = {p: read_json(p, {"type": "object"}) for p in paths}
    found = {}
    for field, schema in (("rows", IMAGES), ("posegen", POSEGEN)):
        path = next((p for p, e in evals.items() if field in e), None)
        if path is None:
            raise InputError(paths[0], field, f"no {'image' if field == 'rows' else 'pose-conditioned'} evaluation among the inputs")
        check_schema(evals[path], schema, path)
        found[field] = evals[path]
    poses = gather([p for p, e in evals.items() if "row" in e], "row", list(POSE_ROWS), POSE)
    return found["rows"], poses, found["posegen"]["posegen"]


def _estimate(values: list[float], deterministic: bool = False) -> Estimate:
    if deterministic:  # a fixed computation, no randomness: its spread is zero, not unknown
        return Estimate(values[0], 0.0, 1, 0.0)
    return Estimate.of(values)


def _image_row(key: str, label: str, per_seed: list[dict]) -> Row:
    values = {m: _estimate([s[m] for s in per_seed]) for m in IMAGE_KEYS if all(m in s for s in per_seed)}
    if len(per_seed) == 1:  # one fixed set (held-out renders, the guide frames): a share of images has its binomial s.e.
        p, n = per_seed[0]["person_rate"], per_seed[0]["n_images"]
        values["person_rate"] = Estimate(p, math.sqrt(p * (1 - p) / n), int(n))
    return Row(key, label, values)


def build_table(images: dict, poses: dict[str, dict], posegen: dict, corrected: Path, provenance: dict, n_seeds: int) -> ResultsTable:
    rows = [_image_row(key, label, images["rows"][key]["per_seed"]) for key, label in IMAGE_ROWS.items()]
    rows += [_image_row(key, label, posegen["rows"][key]["per_seed"]) for key, label in {**POSEGEN_TRIVIAL, **POSEGEN_ROWS}.items()]
    for key, label in POSE_ROWS.items():
        per_seed = poses[key]["per_seed"]
        ski = Reported({"mpjpe": 111.67, "pa_mpjpe": 81.76}, f"{README}: ski.pt on SkiPose (ski8481_real)")
        reported = [ski] if key == "real_synth" else []
        # real frames without 3D joints have PCK only: the 3D columns stay empty
        values = {m: _estimate([s[m] for s in per_seed], key == "mean_pose") for m in POSE_KEYS if all(m in s for s in per_seed)}
        rows.append(Row(key, label, values, reported))
    frames = poses["mean_pose"].get("frames", "the real-style renders")
    pose_note = (
        f"Pose rows on {frames}: COCO keypoints mapped onto the 14 joints, PCK over the 12 both have (head and neck have no "
        "COCO joint); MPJPE and PA-MPJPE only where the file gives 3D joints."
        if frames.startswith("the user's")
        else None
    )
    people, feats = images["judges"]["people"], images["judges"]["features"]
    _, _, attrs = read(corrected, "samples", (), {"scores": list, "no_person": list, "filtered": list})
    n_text = len(attrs["scores"])
    notes = [
        f"Image rows: {images['reference']['n_images']} held-out web-style renders are the reference; each generated row is "
        f"{n_seeds} draws of the evaluation prompts, ± over draws (one trained model). Judged by networks no one here trained: "
        f"{people['judge']} ({people['package']} {people['version']}) finds the person and masks it (the H-variants: the person "
        f"on black; the seed's Mask R-CNN), {feats['judge']} ({feats['package']} {feats['version']}) gives the FID/KID "
        "features (the seed: Inception pool3, which no package ships). Pose agreement: PCK@0.1 of the image side between "
        "the person judge's 2D landmarks and the keypoints of the body the correction rendered, on the corrected images "
        "and on the text-to-image samples they started from; the held-out renders against their own bodies are its "
        "calibration (an image without a person found scores 0).",
        f"Pose correction kept {n_text - len(attrs['no_person']) - len(attrs['filtered'])} of {n_text} text-to-image samples: "
        f"{len(attrs['no_person'])} had no person the mask network finds (the seed's -1), {len(attrs['filtered'])} scored below the "
        "prior filter. Text-only and corrected are paired: both rows score the kept samples only (the seed saves neither image "
        "of a sample whose correction fails or that the filter drops).",
        "Pose rows: PCK@0.1 of each person's crop (SPIN's eval box, 1.2 x the keypoints' larger side: the seed's 0.1 x 224), "
        "MPJPE and PA-MPJPE (pelvis-centred, 14 joints) on the real-style test frames; "
        f"fine-tunings ± over {n_seeds} seeds from one pretrained regressor; the mean pose is deterministic (± 0).",
        "The paper's FID/KID/H-FID/H-KID tables are not retrievable here; the reported rows are the README's numbers of the released "
        "checkpoints (SMART PCK per action, SkiPose MPJPE / PA-MPJPE), on data this pipeline does not have.",
    ]
    if pose_note:
        notes.append(pose_note)
    ref = posegen["reference"]
    notes.append(
        f"Pose-conditioned rows (the paper's pose-conditioned table; the seed's mpii_gen / smart_gen): the depth of {ref['bodies']} "
        f"for {ref['guides']} guide frames (the first half of the real test frames) conditions the depth model: with the guide as "
        "the initial image and its caption (ours), the guide and the null text (ours_notext), the caption from pure noise "
        f"(ours_nor); {n_seeds} draws each. Every pose-conditioned row is scored against the other {ref['n_images']} real test "
        "frames (the seed scores against the guides themselves, where copying the guide would be perfect); the guides are the "
        "floor, noise with their pixel statistics the trivial row. Pose agreement: against the guide's body."
    )
    generators = attrs.get("generator", {})
    check_schema(generators, GENERATORS, corrected)
    notes.append(_drawn_by(generators))
    return ResultsTable(
        "dhpc",
        "Diffusion-HPC: pose-corrected text-to-image people and downstream fine-tuning",
        provenance,
        COLUMNS,
        rows,
        "mean ± standard error over sampling draws (image rows) or fine-tuning seeds (pose rows).",
        CLAIMS,
        [Reported({"pck": v}, f"{README}: SMART {k}", f"Diffusion-HPC fine-tuned, SMART {k}") for k, v in REPORTED_SMART.items()],
        notes,
        {"judges": images["judges"], "generators": generators},
    )


def _drawn_by(generators: dict) -> str:
    """Which networks drew the image rows: the embedded ones trained here, or the user's pipelines with their digests."""

    def one(g: dict | None) -> str:
        if not g:
            return "not recorded"
        if g.get("kind") == "diffusers":
            return f"the user's {g['pipeline']} ({Path(g['path']).name}, sha256 {g['sha256'][:12]})"
        return f"the embedded network trained here ({g.get('text_encoder', 'learned')} text encoder)"

    return (
        f"Images drawn by: text-to-image {one(generators.get('text_only'))}; pose correction {one(generators.get('depth'))}. "
        "With Stable Diffusion the seed's negative prompt guides both; the embedded networks guide from the null text."
    )


def _grey(depth_mm: np.ndarray) -> np.ndarray:
    fg = depth_mm > 0
    out = np.zeros(depth_mm.shape)
    if fg.any():
        d = depth_mm[fg]
        out[fg] = 0.3 + 0.7 * (d.max() - d) / max(d.max() - d.min(), 1e-6)
    return np.repeat((out * 255).astype(np.uint8)[..., None], 3, -1)


def write_figure(out: Path, text_only: Path, corrected: Path, synthetic: Path, columns: int) -> int:
    t, _, _ = read(text_only, "samples", ())
    c, prompts, _ = read(corrected, "samples", ("source", "depth"))
    s, _, _ = read(synthetic, "synthetic", ("depth",))
    n = min(columns, len(c["image"]), len(s["image"]))
    tiles = [
        [t["image"][c["source"][i]] for i in range(n)],
        [_grey(c["depth"][i]) for i in range(n)],
        [c["image"][i] for i in range(n)],
        [s["image"][i] for i in range(n)],
    ]
    save_image_grid(
        out,
        tiles,
        "Diffusion-HPC: text-to-image, regressed body depth, pose-corrected; synthetic training frames",
        [p if len(p) <= 30 else "..." + p[-27:] for p in prompts[:n]],  # the action is at the end
        ["text-to-image", "body depth", "corrected", "synthetic (real guide)"],
        "Rows 1-3 share a column (one prompt); row 4: the real-guided synthetic set, k per guide.",
    )
    return n
