"""Sharing artifacts through the project's DVC remote, and DVC's view of a param change.

Works on a copy of the Snakemake smoke build (its onsuccess commits every output to dvc.lock and the cache),
with the project's `store` remote pointed at a local directory (`dvc remote modify --local`, as a user would point it at S3 or SSH).
"""

from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path

import pytest
import yaml

from conftest import digests, run_ok

pytestmark = pytest.mark.slow

ARTIFACTS = ("data", "models", "results")


@pytest.fixture(scope="module")
def project(smoke_build, tmp_path_factory) -> Path:
    built, _ = smoke_build
    base = tmp_path_factory.mktemp("dvc")
    root = base / "project"
    shutil.copytree(built, root, symlinks=True)
    run_ok(["dvc", "remote", "modify", "--local", "store", "url", str(base / "remote")], root)
    return root


def _changed(diff: dict) -> dict:
    """`dvc metrics diff` entries whose value changed (it lists NaN -> NaN too, e.g. an interacting MPJPE with no interacting frame)."""

    def nan(v) -> bool:
        return isinstance(v, float) and math.isnan(v)

    out = {f: {k: v for k, v in keys.items() if not (nan(v.get("old")) and nan(v.get("new")))} for f, keys in diff.items()}
    return {f: keys for f, keys in out.items() if keys}


def test_push_delete_pull_restores_every_artifact(project):
    before = digests(project, *ARTIFACTS)
    assert "results/interhandgen_metrics.json" in before and "models/interhandgen/cascade.pt" in before
    run_ok(["dvc", "push"], project)
    for path in (*ARTIFACTS, ".dvc/cache"):
        shutil.rmtree(project / path)
    run_ok(["dvc", "pull"], project)
    assert "up to date" in run_ok(["dvc", "status"], project)
    assert digests(project, *ARTIFACTS) == before


def test_param_change_reruns_its_readers_and_shows_in_metrics_diff(project):
    run_ok(["git", "add", "-A"], project)  # dvc.lock of the build, so HEAD has metrics to diff against
    run_ok(["git", "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "built"], project)
    params = project / "params/interhandgen.yaml"
    data = yaml.safe_load(params.read_text())
    data["evaluate"]["contact_mm"] = 100.0  # every interacting ground-truth pair comes this close
    params.write_text(yaml.safe_dump(data))

    variants = ("gt", "full", "no_shared", "no_selfatt", "no_cfg", "no_apg", "joint")
    evaluators = {f"interhandgen_evaluate_{v}" for v in variants}

    def stale() -> set[str]:
        return set(json.loads(run_ok(["dvc", "status", "--json"], project).strip().splitlines()[-1]))

    assert stale() == evaluators  # the stages that read `evaluate`; nothing else is stale yet
    # One reader reproduced (all seven are the same command on other samples, and DVC rewrites its whole dvc.lock after
    # each stage, about 6 s here): only it runs, and the report that reads its output is stale after it, nothing else.
    gt = "interhandgen_evaluate_gt"
    ran = set(re.findall(r"Running stage '([\w-]+)'", run_ok(["dvc", "repro", "--single-item", gt], project)))
    assert ran == {gt}
    assert stale() == (evaluators - {gt}) | {"interhandgen_report"}

    diff = _changed(json.loads(run_ok(["dvc", "metrics", "diff", "--json"], project).strip().splitlines()[-1]))
    assert set(diff) == {"results/interhandgen/eval_gt.json"}
    changed = diff["results/interhandgen/eval_gt.json"]
    contact = [k for k in changed if k.endswith("proximity_ratio.mean")]
    assert contact and all(changed[k]["new"] >= changed[k]["old"] for k in contact)  # a looser threshold finds more contact
    shown = run_ok(["dvc", "metrics", "show"], project)
    assert "results/digit_metrics.json" in shown and "results/interhandgen_metrics.json" in shown


def test_plots_show_the_training_curves(project):
    plots = json.loads(run_ok(["dvc", "plots", "show", "--json"], project).strip().splitlines()[-1])
    curve = "models/interhandgen/cascade_loss.tsv"
    assert curve in json.dumps(plots), plots.keys()
    out = project / "dvc_plots"
    run_ok(["dvc", "plots", "show", "-o", str(out)], project)
    assert (out / "index.html").exists()
