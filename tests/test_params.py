"""params/ is validated against workflow/schemas: one line naming the file and the key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from conftest import REPO, copy_project
from handflow.errors import InputError
from handflow.params import load_params, scale_keys
from handflow.pipeline.dvcgen import dvc_params


@pytest.fixture
def project(tmp_path) -> Path:
    return copy_project(tmp_path / "p", "smoke")


def _edit(path: Path, fn) -> None:
    data = yaml.safe_load(path.read_text())
    fn(data)
    path.write_text(yaml.safe_dump(data))


def test_repository_params_are_valid():
    p = load_params(REPO)
    assert p.get("global.data_source") in ("embedded", "interhand26m")
    assert p.get("data.embedded.n_cameras") >= 1


@pytest.mark.parametrize("scale", yaml.safe_load((REPO / "workflow/schemas/global.schema.yaml").read_text())["properties"]["scale"]["enum"])
def test_every_scale_the_schema_allows_applies_its_file(tmp_path, scale):
    """`scale: cpu` once validated and then applied nothing (the loader knew three scales of the schema's five)."""
    project = copy_project(tmp_path / "p", scale)
    overrides = yaml.safe_load((project / f"params/scales/{scale}.yaml").read_text()) or {}
    p = load_params(project)
    for stem, tree in overrides.items():
        section, values = next(iter(tree.items()))
        got = p.get(f"{stem}.{section}")
        assert got == values or (isinstance(values, dict) and all(got[k] == v for k, v in values.items() if not isinstance(v, dict)))


def test_scale_overrides_sizes_and_is_tracked(project):
    p = load_params(project)
    smoke = yaml.safe_load((project / "params/scales/smoke.yaml").read_text())
    assert p.get("data.embedded.n_cameras") == smoke["data"]["embedded"]["n_cameras"]
    assert (
        p.get("data.embedded.interacting_fraction")
        == yaml.safe_load((project / "params/data.yaml").read_text())["embedded"]["interacting_fraction"]
    )
    scales = scale_keys(project)
    entries = {f: keys for e in dvc_params(p, ["data.embedded", "data.preprocess.batch_size"], scales) for f, keys in e.items()}
    # every scale's file that sets something under the key, whichever scale is in use, and the scale itself
    assert entries == {
        "params/data.yaml": ["embedded", "preprocess.batch_size"],
        "params/scales/smoke.yaml": ["data.embedded"],
        "params/scales/paper.yaml": ["data.embedded"],
        "params/global.yaml": ["scale"],
    }
    assert dvc_params(p, ["data.preprocess.batch_size"], scales) == [{"params/data.yaml": ["preprocess.batch_size"]}]


@pytest.mark.parametrize(
    ("file", "edit", "message"),
    [
        ("global.yaml", lambda d: d.update(sclae="demo"), "params/global.yaml: sclae: unknown key"),
        ("global.yaml", lambda d: d.update(seed="zero"), "params/global.yaml: seed: 'zero' is not of type 'integer'"),
        ("global.yaml", lambda d: d.update(data_source="hoi4d"), "params/global.yaml: data_source: 'hoi4d' is not one of"),
        ("global.yaml", lambda d: d.pop("hand_model"), "params/global.yaml: hand_model: missing"),
        ("data.yaml", lambda d: d["embedded"].update(n_cameras=2.5), "params/data.yaml: embedded.n_cameras: 2.5 is not of type 'integer'"),
        (
            "data.yaml",
            lambda d: d["embedded"]["splits"]["train"].update(n_frame=3),
            "params/data.yaml: embedded.splits.train.n_frame: unknown key",
        ),
        (
            "scales/smoke.yaml",
            lambda d: d["data"]["embedded"].update(colour="red"),
            "params/scales/smoke.yaml: embedded.colour: unknown key",
        ),
        ("scales/smoke.yaml", lambda d: d.update({"global": {"seed": 1}}), "params/scales/smoke.yaml: global: a scale may not override"),
    ],
)
def test_schema_errors_name_file_and_key(project, file, edit, message):
    _edit(project / "params" / file, edit)
    with pytest.raises(InputError) as err:
        load_params(project)
    text = str(err.value)
    assert "\n" not in text
    assert text.replace(str(project) + "/", "").startswith(message), text


def test_invalid_yaml_names_the_line(project):
    (project / "params/data.yaml").write_text("embedded:\n  n_cameras: [1, 2\n")
    with pytest.raises(InputError, match=r"params/data\.yaml: line \d+: invalid YAML"):
        load_params(project)


def test_params_file_without_schema_is_refused(project):
    (project / "params/no_such_paper.yaml").write_text("steps: 3\n")
    with pytest.raises(InputError, match="no schema for this params file"):
        load_params(project)


def test_cli_reports_one_line_and_exit_2_without_output(project):
    _edit(project / "params/global.yaml", lambda d: d.update(seed=-1))
    out = project / "data" / "hand_model"
    proc = subprocess.run(
        [sys.executable, "-m", "handflow", "--project", str(project), "hand", "prepare", "--out", str(out)],
        check=False,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert lines == [f"handflow: error: {project}/params/global.yaml: seed: -1 is less than the minimum of 0"]
    assert not (project / "data").exists() or not any((project / "data").iterdir()), "no output, not even a temporary"


def test_snakemake_stops_with_one_line_on_bad_params(project):
    _edit(project / "params/global.yaml", lambda d: d.update(scale="huge"))
    cmd = [sys.executable, "-m", "snakemake", "-n", "--cores", "1"]
    proc = subprocess.run(cmd, check=False, cwd=project, capture_output=True, text=True)
    assert proc.returncode != 0
    assert "handflow: error:" in proc.stderr and "params/global.yaml: scale: 'huge' is not one of" in proc.stderr


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without a GPU")
def test_cuda_without_a_gpu_is_one_line_naming_the_param(project, tmp_path):
    _edit(project / "params/global.yaml", lambda d: d.update(device="cuda"))
    out = tmp_path / "cascade.pt"
    cmd = [
        sys.executable,
        "-m",
        "handflow",
        "--project",
        str(project),
        "interhandgen",
        "train",
        "--model",
        "cascade",
        "--pairs",
        "p.h5",
        "--stats",
        "s.json",
        "--checkpoints",
        str(tmp_path / "ck"),
        "--out",
        str(out),
        "--curve",
        str(tmp_path / "c.tsv"),
    ]
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True)
    assert proc.returncode == 2
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    why = "cuda, but torch sees no GPU here (torch.cuda.is_available() is False)"
    assert lines == [f"handflow: error: {project}/params/global.yaml: device: {why}"]
    assert not out.exists()
