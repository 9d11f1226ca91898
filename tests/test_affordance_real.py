"""Affordance Diffusion on a HOI4D copy the test writes itself (`hoi4d_layout`: HOI4D's layout, not the embedded
generator's), end to end to the table with `affordance.data.source: hoi4d`, and no stage reads the embedded tree."""

from __future__ import annotations

import json
import shutil

import hoi4d_layout
import pytest
import yaml

from conftest import CORES, SNAKEMAKE, run_ok
from handflow.papers.affordance.variants import EMBEDDED_ROOT

pytestmark = pytest.mark.slow


def test_the_affordance_table_builds_on_a_hoi4d_copy_without_the_embedded_tree(smoke_build, tmp_path):
    a, _ = smoke_build
    project = tmp_path / "p"
    shutil.copytree(a, project, symlinks=True)
    root = tmp_path / "HOI4D"
    hoi4d_layout.write_hoi4d(root)
    params = project / "params/affordance.yaml"
    data = yaml.safe_load(params.read_text())
    data["data"].update(source="hoi4d", hoi4d_root=str(root))
    params.write_text(yaml.safe_dump(data))
    # the embedded tree is moved away: a stage that opened it would fail, and Snakemake would plan to rebuild it if any
    # rule's input named it
    shutil.move(project / EMBEDDED_ROOT, tmp_path / "embedded_elsewhere")
    target = "results/affordance_metrics.json"
    dry = run_ok([*SNAKEMAKE, target, "-n", "-p", "--cores", "1"], project)
    assert "affordance_embedded" not in dry and EMBEDDED_ROOT not in dry and f"--root {root} " in dry
    run_ok([*SNAKEMAKE, target, *CORES], project)
    metrics = json.loads((project / target).read_text())
    assert metrics["data_source"] == "hoi4d"
    rows = metrics["rows"]
    assert rows["full"]["metrics"]["fid"] is not None and rows["gt"]["metrics"]["hand_present"] is not None
    assert rows["full"]["metrics"]["penetration_mm"] is None  # real HOI4D has no object depth: the 3D columns stay empty
    notes = " ".join(metrics["notes"])
    assert "HOI4D's hand poses (poseCoeff, beta) are MANO parameters" in notes and "opencv-telea" in notes
    assert not (project / EMBEDDED_ROOT).exists()
