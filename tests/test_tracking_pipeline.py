"""MLflow from the real pipeline: every stage's run in the smoke builds, and a tracking server.

The SLURM side (runs named by their SLURM job) is in test_cluster.py.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import mlflow
import pytest

from conftest import BUILD_LOG, PIPELINE_ENV, SNAKEMAKE, run_ok
from handflow.tracking import PENDING

pytestmark = pytest.mark.slow


def _runs(uri: str) -> list:
    client = mlflow.MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name("handflow")
    return client.search_runs([exp.experiment_id], max_results=1000)


# Stages that only write files (the hand model, the generated raw data, the data summary) log no run.
UNTRACKED = {"hand_model", "embedded_interhand", "data_report", "affordance_embedded"}


def test_parallel_pipeline_jobs_all_logged(smoke_build):
    """`snakemake --cores 2` ran jobs side by side: one finished run per job, named as the job, all logged by the driver
    (its onsuccess, once: handflow.tracking) and none left pending."""
    a, _ = smoke_build
    runs = _runs(f"sqlite:///{a / 'mlflow.db'}")
    jobs = {p.stem for p in (a / "logs/bench").glob("*.tsv")} - UNTRACKED  # Snakemake's benchmark file per job
    assert sorted(r.info.run_name for r in runs) == sorted(jobs) and len(jobs) > 25
    assert f"MLflow: {len(jobs)} runs logged to sqlite:///{a.resolve() / 'mlflow.db'}" in (a.parent / BUILD_LOG).read_text()
    assert not list((a / PENDING).glob("*.json"))
    for run in runs:
        assert run.info.status == "FINISHED", run.info.run_name
        assert run.data.params and run.data.metrics, run.info.run_name
        assert {"git_commit", "data_source", "scale", "seed", "stage"} <= set(run.data.tags)
        # tagged with its paper's provenance, the fields its results files record (Diffusion-HPC renders its own bodies)
        if run.info.run_name.startswith("dhpc"):
            assert (run.data.tags["data_source"], run.data.tags["body_model"]) == ("embedded (rendered bodies)", "anny")
            assert "hand_model" not in run.data.tags
        else:
            assert (run.data.tags["data_source"], run.data.tags["hand_model"]) == ("embedded", "open")
        assert run.data.tags["scale"] == "smoke"
    assert not any("database is locked" in p.read_text() for p in (a / "logs").rglob("*.log"))


def test_runs_record_the_git_commit(smoke_build):
    _, b = smoke_build  # a git repository: dvc repro ran from a commit
    head = run_ok(["git", "rev-parse", "HEAD"], b).strip()
    commits = {run.data.tags["git_commit"] for run in _runs(f"sqlite:///{b / 'mlflow.db'}")}
    assert commits == {head}


@pytest.fixture
def tracking_server(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    store, artifacts = f"sqlite:///{tmp_path / 'server.db'}", str(tmp_path / "artifacts")
    cmd = [
        sys.executable,
        "-m",
        "mlflow",
        "server",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--backend-store-uri",
        store,
        "--artifacts-destination",
        artifacts,
    ]
    log = open(tmp_path / "server.log", "wb")  # closed below
    server = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, (tmp_path / "server.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "mlflow server did not answer in time"
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # the server and its workers, started in their own session
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


def test_a_stage_logs_to_a_tracking_server(smoke_build, tracking_server, tmp_path):
    a, _ = smoke_build
    project = tmp_path / "project"
    shutil.copytree(a, project, symlinks=True)
    local_runs = len(_runs(f"sqlite:///{project / 'mlflow.db'}"))
    env = {**PIPELINE_ENV, "MLFLOW_TRACKING_URI": tracking_server}
    run_ok([*SNAKEMAKE, "--cores", "1", "--forcerun", "interhandgen_report", "results/interhandgen_metrics.json"], project, env)
    runs = _runs(tracking_server)
    assert [r.info.run_name for r in runs] == ["interhandgen_report"]
    run = runs[0]
    assert run.info.status == "FINISHED" and run.data.metrics
    assert (run.data.tags["data_source"], run.data.tags["scale"]) == ("embedded", "smoke")
    assert len(_runs(f"sqlite:///{project / 'mlflow.db'}")) == local_runs  # nothing went to the local store
