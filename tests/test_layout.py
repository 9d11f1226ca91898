"""One shape for every paper, checked on the built smoke pipeline.

- each paper owns its commands: editing one paper's command module makes only that
  paper's stages stale, and adding a paper's commands makes none stale, under both drivers;
- each command reads exactly the params keys its rule declares;
- each paper builds alone (`snakemake <paper>` for every paper the CLI discovers);
- after a Snakemake build, dvc.lock records it (`dvc status` clean);
- dvc.yaml frozen before a data-source switch cannot run a stage on the wrong tree;
- `snakemake --report` gives one page with every paper's tables and figures, in a real browser.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from conftest import PARAMS_READ, PIPELINE_ENV, SNAKEMAKE, copy_project, digests, run_ok
from handflow.cli import SHARED_GROUPS, command_modules
from handflow.params import DeclaredParams
from handflow.pipeline.dvcgen import _jobs


def covers(declared: set[str] | list[str], key: str) -> bool:
    """A read of `key` is declared when the key itself or a block holding it is."""
    return any(key == d or key.startswith(d + ".") for d in declared)


pytestmark = pytest.mark.slow
PAPERS = sorted(set(command_modules()) - set(SHARED_GROUPS))  # each has a target rule of its own name


def _dry_rules(root: Path, *targets: str) -> set[str]:
    out = run_ok([*SNAKEMAKE, *targets, "-n", "--cores", "1", "--quiet", "rules"], root)
    if "Nothing to be done" in out:
        return set()
    table = out.split("Job stats:")[1]
    return {m[1] for m in re.finditer(r"^(\w+)\s+\d+$", table, re.M)} - {"total", "all", "data", *PAPERS}


def _dvc_stale(root: Path) -> set[str]:
    return set(json.loads(run_ok(["dvc", "status", "--json"], root).strip().splitlines()[-1]))


@pytest.fixture(scope="module")
def built_copy(smoke_build, tmp_path_factory) -> Path:
    """A copy of build A (Snakemake metadata, dvc.lock and all) that tests may edit."""
    a, _ = smoke_build
    dest = tmp_path_factory.mktemp("layout") / "p"
    shutil.copytree(a, dest, symlinks=True)
    return dest


def test_a_snakemake_build_leaves_dvc_status_clean(built_copy):
    assert not _dvc_stale(built_copy), "the build's onsuccess committed every stage it ran to dvc.lock"
    lock = yaml.safe_load((built_copy / "dvc.lock").read_text())["stages"]
    assert set(lock) == set(yaml.safe_load((built_copy / "dvc.yaml").read_text())["stages"])


def test_editing_one_papers_commands_leaves_the_other_papers_up_to_date(built_copy):
    assert not _dry_rules(built_copy) and not _dvc_stale(built_copy)
    commands = built_copy / "src/handflow/papers/digit/commands.py"
    original = commands.read_text()
    try:
        commands.write_text(original + "\n# an edit\n")
        stale_rules = _dry_rules(built_copy)
        assert stale_rules and all(r.startswith("digit_") for r in stale_rules), stale_rules
        stale_stages = _dvc_stale(built_copy)
        assert stale_stages and all(s.startswith("digit_") for s in stale_stages), stale_stages
    finally:
        commands.write_text(original)
    # a new paper with its own commands: nothing of the existing papers is stale
    new = built_copy / "src/handflow/papers/newpaper"
    new.mkdir()
    (new / "__init__.py").write_text('"""A paper to come."""\n')
    (new / "commands.py").write_text('from handflow.stage import CommandGroup\n\ngroup = CommandGroup("newpaper", "a paper to come")\n')
    try:
        # Snakemake only: dvc.yaml lists each stage's source files, and a new module is in none of them
        assert not _dry_rules(built_copy)
    finally:
        shutil.rmtree(new)


def test_each_command_reads_only_what_its_rule_declares(built_copy):
    jobs = {str(job.log[0]): job for job in _jobs(built_copy) if job.log}
    records = [json.loads(line) for line in (built_copy / PARAMS_READ).read_text().splitlines()]
    assert {r["log"] for r in records} == set(jobs), "every job's command recorded what it read"
    for record in records:
        job = jobs[record["log"]]
        declared = [k for _, v in job.params.items() if isinstance(v, DeclaredParams) for k in v]
        undeclared = [k for k in record["keys"] if not covers(declared, k)]
        assert not undeclared, f"{job.rule.name} reads {undeclared} without declaring them: a change would not rerun it"
        unread = [d for d in declared if not any(covers([d], k) or covers([k], d) for k in record["keys"])]
        assert not unread, f"{job.rule.name} declares {unread} but never reads them: a change would rerun it for nothing"


@pytest.fixture(scope="module")
def fresh_project(tmp_path_factory) -> Path:
    return copy_project(tmp_path_factory.mktemp("alone") / "p")


@pytest.mark.parametrize("paper", PAPERS)
def test_each_paper_builds_alone(fresh_project, paper):
    """`snakemake <paper>` plans the paper's own stages to its report, the shared ones it reads, and no other paper's."""
    rules = _dry_rules(fresh_project, paper)
    assert f"{paper}_report" in rules and any(r.startswith(f"{paper}_train") for r in rules), rules
    others = [r for r in rules if any(r.startswith(f"{other}_") for other in PAPERS if other != paper)]
    assert not others, f"{paper} plans another paper's stages: {others}"


def test_the_local_profile_applies_without_being_named(fresh_project):
    """A plain `snakemake <target>` in the project root takes profiles/default (Snakemake looks for `profiles/default`
    beside the Snakefile): its cores, GPU slot and `rerun-incomplete` are what the README promises. Until 2026-12-06
    it lay in workflow/profiles/, where Snakemake looks only for a workflow/Snakefile, and applied only when named."""
    for profile, applied in ((), True), (("--workflow-profile", "none"), False):
        out = run_ok([sys.executable, "-m", "snakemake", "-n", "data", *profile], fresh_project)
        assert ("Using workflow specific profile profiles/default" in out) == applied
        assert ("Shell command: python -m handflow data report" in out) == applied  # the profile's printshellcmds


def test_a_data_source_switch_is_caught_even_with_a_stale_dvc_yaml(smoke_build, tmp_path):
    b, _ = smoke_build  # the Snakemake build: a DVC project too (its dvc.lock from the run's onsuccess)
    project = tmp_path / "p"
    shutil.copytree(b, project, symlinks=True)
    real = tmp_path / "InterHand2.6M"  # "the user's copy": the same files, elsewhere
    shutil.copytree(b / "data/raw/embedded/InterHand2.6M", real)
    glob = project / "params/global.yaml"
    data = yaml.safe_load(glob.read_text())
    data.update(data_source="interhand26m", interhand26m_root=str(real))
    glob.write_text(yaml.safe_dump(data))  # dvc.yaml not regenerated: it still passes the embedded tree
    stale = _dvc_stale(project)
    readers = {f"preprocess_interhand_{s}" for s in ("train", "val", "test")} | {"data_report"}
    assert readers <= stale, "every stage reading the tree declares the keys that choose it"
    before = digests(project, "data")
    proc = subprocess.run(
        ["dvc", "repro", "-s", "preprocess_interhand_test"], cwd=project, env=PIPELINE_ENV, capture_output=True, text=True, check=False
    )
    assert proc.returncode != 0
    assert "params/global.yaml: data_source: 'interhand26m' reads " + str(real) in proc.stdout + proc.stderr
    after = digests(project, "data")
    out = "data/processed/interhand26m_test.h5"  # DVC removes a stage's outputs before it runs: gone, never rebuilt from the wrong tree
    assert after.get(out) in (None, before[out]) and {k: after[k] for k in after if k != out} == {k: before[k] for k in before if k != out}
    # Snakemake reads params when it builds its DAG: the same switch makes it read the user's tree
    dry = run_ok(
        [*SNAKEMAKE, "-n", "-p", "--cores", "1", "data/processed/interhand26m_test.h5", "--forcerun", "preprocess_interhand"], project
    )
    assert f"--root {real} " in dry and "embedded_interhand" not in dry


@pytest.mark.skipif(not Path("/usr/bin/chromium").exists() and not os.environ.get("CI"), reason="Debian's chromium is not installed")
def test_the_report_shows_every_papers_tables_and_figures_in_a_browser(built_copy, tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    report = tmp_path / "report.html"
    run_ok([*SNAKEMAKE, "--report", str(report)], built_copy)
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1000"):
        options.add_argument(flag)
    browser = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    wait = WebDriverWait(browser, 30)
    try:
        for category, table, title, figure in (
            (
                "InterHandGen",
                "results/tables/interhandgen_table.html",
                "InterHandGen: two-hand synthesis",
                "results/figures/interhandgen_samples.png",
            ),
            ("DIGIT", "results/tables/digit_table.html", "DIGIT: two-hand 3D pose", "results/figures/digit_predictions.png"),
            ("Diffusion-HPC", "results/tables/dhpc_table.html", "Diffusion-HPC: pose-corrected", "results/figures/dhpc_samples.png"),
        ):
            browser.get(report.as_uri())
            wait.until(expected_conditions.element_to_be_clickable((By.XPATH, f"//span[normalize-space(text())='{category}']"))).click()
            row = wait.until(expected_conditions.presence_of_element_located((By.XPATH, f"//td[normalize-space(text())='{table}']/..")))
            row.find_element(By.XPATH, ".//a[@iconname='eye']").click()
            frame = wait.until(expected_conditions.presence_of_element_located((By.TAG_NAME, "iframe")))
            browser.switch_to.frame(frame)
            text = browser.find_element(By.TAG_NAME, "body").text
            assert title in text and "Claims" in text and "reported" in text, text[:500]
            browser.switch_to.default_content()
            shot = tmp_path / f"{category}.png"
            browser.save_screenshot(str(shot))
            pixels = np.asarray(cv2.imread(str(shot)), np.float64)
            assert pixels.std() > 10, "the screenshot is blank"
            browser.find_element(By.XPATH, f"//td[normalize-space(text())='{figure}']/..//a[@iconname='eye']").click()
            wait.until(expected_conditions.presence_of_element_located((By.XPATH, "//img[starts-with(@src, 'data:image/png')]")))
    finally:
        browser.quit()
