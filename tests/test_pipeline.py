"""The pipeline spine: dvc.yaml is the Snakemake DAG, and `dvc repro` builds what `snakemake` builds.

Runs the whole data pipeline twice at the smoke scale (about a minute together).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import REPO, copy_project

pytestmark = pytest.mark.slow
ENV = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", "MLFLOW_TRACKING_URI": ""}


def _run(cmd: list[str], cwd: Path) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=ENV, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout + proc.stderr


def _digests(root: Path) -> dict[str, str]:
    files = [p for d in ("data", "results") for p in (root / d).rglob("*") if p.is_file() and p.name != ".snakemake_timestamp"]
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def _job_counts(text: str) -> dict[str, int]:
    """Rule -> count from Snakemake's "Job stats" table."""
    table = text.split("Job stats:")[1]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M) if m[1] not in ("total", "all")}


def test_dvc_yaml_is_in_sync_with_the_snakefile():
    proc = subprocess.run([sys.executable, "-m", "handflow", "pipeline", "dvc-yaml", "--check"], cwd=REPO, env=ENV,
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert proc.returncode == 0, "dvc.yaml is stale: run `python -m handflow pipeline dvc-yaml` and commit it\n" + proc.stderr[-2000:]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, Path]:
    """The smoke pipeline built once by snakemake (A) and once by dvc repro (B)."""
    base = tmp_path_factory.mktemp("pipeline")
    a, b = copy_project(base / "A"), copy_project(base / "B")
    _run([sys.executable, "-m", "snakemake", "--cores", "2", "--workflow-profile", "workflow/profiles/default"], a)
    _run([sys.executable, "-m", "handflow", "pipeline", "dvc-yaml"], b)
    commit = ["git", "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "smoke"]
    for cmd in (["git", "init", "-q"], ["git", "add", "-A"], commit):
        _run(cmd, b)
    _run(["dvc", "repro"], b)
    return a, b


def test_dvc_repro_equals_snakemake(built):
    a, b = built
    da, db = _digests(a), _digests(b)
    assert "results/data_summary.json" in da and any(k.endswith(".jpg") for k in da)
    assert da == db
    summary = json.loads((a / "results/data_summary.json").read_text())
    assert summary["data_source"] == "embedded" and summary["scale"] == "smoke"
    assert "dvc.lock" in os.listdir(b)


def test_param_change_reruns_only_its_readers(built):
    a, b = built
    for root in (a, b):
        path = root / "params/data.yaml"
        data = yaml.safe_load(path.read_text())
        data["preprocess"]["batch_size"] = 128
        path.write_text(yaml.safe_dump(data))
    # Snakemake: the three preprocess jobs, and the report downstream of them; nothing upstream
    dry = _run([sys.executable, "-m", "snakemake", "-n", "--cores", "1", "--quiet", "rules"], a)
    assert _job_counts(dry) == {"preprocess_interhand": 3, "data_report": 1}
    # DVC: the same three stages have a changed param (the report is stale only once they rerun)
    status = json.loads(_run(["dvc", "status", "--json"], b).strip().splitlines()[-1])
    assert set(status) == {"preprocess_interhand_train", "preprocess_interhand_val", "preprocess_interhand_test"}
    for entries in status.values():
        changed = next(e["changed deps"] for e in entries if "changed deps" in e)
        assert changed == {"params/data.yaml": {"preprocess.batch_size": "modified"}}
