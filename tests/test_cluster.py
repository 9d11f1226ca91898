"""SLURM through the project's profile, on a real single-node cluster (see tests/slurm_cluster.py).

Part of the InterHandGen smoke pipeline (every kind of its GPU rules and a CPU rule) is
submitted with `--workflow-profile profiles/slurm`;
two settings are changed on the command line because this cluster has no accounting
database (job status comes from `squeue`, polled early), and `--keep-going`, because one
sampler in the same run is given a damaged model file. Every job must appear in the
cluster's own job-completion log, the results must equal the local run's byte for byte,
and the failing job must end snakemake with an error instead of a hang while the others
complete. One run, not two: the plugin's status polls back off to half a minute, and a
second run for the failure alone cost 38 s.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import mlflow
import pytest
from slurm_cluster import LocalSlurm, available, job_details

from conftest import PIPELINE_ENV, SNAKEMAKE, digests

pytestmark = pytest.mark.slow

TARGETS = ["results/interhandgen/eval_full.json", "results/interhandgen/apg_sweep.json"]
# A copy of the local smoke build without what the cluster must make: the InterHandGen jobs those targets need, from
# training on (their checkpoints too, so training starts afresh). The data stages stay as the local run built them;
# the rest of the pipeline goes through the same profile and rules (test_pipeline.py builds it all locally).
REBUILT = [
    "models/interhandgen/cascade.pt",
    "models/interhandgen/cascade_loss.tsv",
    "models/interhandgen/features.pt",
    "results/interhandgen/features.json",
    "data/samples/interhandgen/full.h5",
    *TARGETS,
]
CHECKPOINTS = ["checkpoints/interhandgen/cascade", "checkpoints/interhandgen/features"]
# The job that must fail: the joint baseline's sampler, on a model file that is not one (newer than what trains it, so
# nothing rebuilds it); it needs nothing the run rebuilds, so it fails in the first wave beside the training.
FAILING, DAMAGED = "data/samples/interhandgen/joint.h5", "models/interhandgen/joint.pt"
GPU_RULES = {"interhandgen_train", "interhandgen_features", "interhandgen_sample", "interhandgen_sweep"}
CPUS = 2
# `timeout -s INT`: SIGTERM only makes the plugin wait for jobs; SIGINT cancels them and exits.
SUBMIT = [
    "timeout",
    "-s",
    "INT",
    "480",
    *SNAKEMAKE,
    # the project copy runs one thread per stage (conftest.copy_project), which is also SLURM's default of one CPU:
    # two threads per rule here, so the test sees the rules' threads reach the jobs' CPU count
    "--set-threads",
    *(f"{rule}={CPUS}" for rule in sorted(GPU_RULES | {"interhandgen_evaluate"})),
    "--workflow-profile",
    "profiles/slurm",
    "--slurm-status-command",
    "squeue",
    "--slurm-init-seconds-before-status-checks",
    "2",
    "--jobs",
    "4",
]


@pytest.fixture(scope="module")
def cluster():
    why = available()
    if why:
        pytest.skip(f"local SLURM: {why}")
    slurm = LocalSlurm()
    try:
        slurm.start()
        yield slurm
    finally:
        slurm.stop()


def _submitted(log: str) -> dict[str, str]:
    """SLURM job id -> rule, from snakemake's own submission lines."""
    found = re.findall(r"submitted with SLURM jobid (\d+) \(log: \S*/rule_(\w+)/", log)
    return {job: rule for job, rule in found}


@pytest.fixture(scope="module")
def submitted(smoke_build, cluster, tmp_path_factory) -> tuple[Path, dict[str, str], LocalSlurm, subprocess.CompletedProcess]:
    built, _ = smoke_build
    project = tmp_path_factory.mktemp("slurm") / "p"
    shutil.copytree(built, project, symlinks=True)
    for path in REBUILT:
        (project / path).unlink()
    for path in CHECKPOINTS:
        shutil.rmtree(project / path)
    (project / FAILING).unlink()
    (project / DAMAGED).write_bytes(b"not a model file")
    cmd = [*SUBMIT, "--keep-going", *TARGETS, FAILING]
    proc = subprocess.run(cmd, cwd=project, env=PIPELINE_ENV, capture_output=True, text=True, check=False)
    log = proc.stdout + proc.stderr
    assert proc.returncode != 124, f"snakemake under SLURM did not end in time:\n{log[-4000:]}"
    return project, _submitted(log), cluster, proc


def test_every_job_went_through_sbatch(submitted):
    _, jobs, cluster, _ = submitted
    expected = {
        "interhandgen_train": 1,
        "interhandgen_features": 1,
        "interhandgen_sample": 2,  # full, and the failing joint one
        "interhandgen_evaluate": 1,
        "interhandgen_sweep": 1,
    }
    assert {rule: list(jobs.values()).count(rule) for rule in set(jobs.values())} == expected
    records = {r["JobId"]: r for r in cluster.job_records()}
    assert set(jobs) <= set(records), "jobs snakemake submitted are missing from the cluster's job log"
    states = sorted(records[job]["JobState"] for job in jobs)
    assert states == ["COMPLETED"] * (len(jobs) - 1) + ["FAILED"], states
    for job, rule in jobs.items():
        record = records[job]
        # resources mapped from the rules and the profile: threads, partition, memory, GPUs
        details = job_details(job)
        assert record["ProcCnt"] == details["NumCPUs"] == str(CPUS), record
        assert record["Partition"] == ("gpu" if rule in GPU_RULES else "cpu"), (rule, record)
        assert (details.get("TresPerJob") == "gres:gpu:1") == (rule in GPU_RULES), (rule, details)


def test_results_equal_a_local_run(submitted, smoke_build):
    project, _, _, _ = submitted
    local, _ = smoke_build
    ours, theirs = digests(project), digests(local)
    ihg = {k for k in ours if "interhandgen" in k and k not in (FAILING, DAMAGED)}
    assert set(TARGETS) <= ihg and "models/interhandgen/cascade.pt" in ihg
    assert {k: ours[k] for k in ihg} == {k: theirs[k] for k in ihg}


def test_mlflow_runs_name_their_slurm_jobs(submitted):
    project, jobs, _, _ = submitted
    mlflow.set_tracking_uri(f"sqlite:///{project / 'mlflow.db'}")
    runs = mlflow.search_runs(experiment_names=["handflow"], output_format="list")
    on_cluster = {r.data.tags["slurm_job_id"]: r for r in runs if "slurm_job_id" in r.data.tags}
    assert set(on_cluster) == set(jobs), "every SLURM job logs one MLflow run, to the same store"
    statuses = sorted(run.info.status for run in on_cluster.values())
    assert statuses == ["FAILED"] + ["FINISHED"] * (len(jobs) - 1), statuses  # the failing job's run says so
    for run in on_cluster.values():
        assert run.data.params and (run.data.metrics or run.info.status == "FAILED")
        assert (run.data.tags["data_source"], run.data.tags["scale"]) == ("embedded", "smoke")
    assert not any("locked" in p.read_text().lower() for p in Path(project, "logs").rglob("*.log"))


def test_a_failing_job_fails_the_run_and_the_others_complete(submitted):
    project, _, _, proc = submitted
    log = proc.stdout + proc.stderr
    assert proc.returncode == 1, f"expected a failed run, got rc {proc.returncode}:\n{log[-3000:]}"
    assert "FAILED" in log and "interhandgen_sample" in log
    # the plugin keeps the batch log of a failed job (successful ones are cleaned up): the stage's one line names the file
    batch_logs = list(Path(project, "logs/slurm/rule_interhandgen_sample").rglob("*.log"))
    assert batch_logs and any("joint.pt" in p.read_text() for p in batch_logs)
    assert not (project / FAILING).exists()
    assert all(json.loads((project / target).read_text()) for target in TARGETS)
