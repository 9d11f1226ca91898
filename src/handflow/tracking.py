"""MLflow runs for pipeline stages.

Default store: `sqlite:///mlflow.db` in the project root (MLflow's own default
since 3.7; the file store is deprecated). `MLFLOW_TRACKING_URI` overrides it, e.g.
a tracking server. Snakemake may start several stages at once, and SQLite then
answers "database is locked", while two processes creating the first experiment
(or migrating a fresh database) race each other. So: the first use of a store is
serialised with a file lock, and every call that writes is retried on a lock.
"""

from __future__ import annotations

import math
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from filelock import FileLock

EXPERIMENT = "handflow"
T = TypeVar("T")


def tracking_uri(root: Path) -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{(root / 'mlflow.db').resolve()}"


def _retry(fn: Callable[[], T], attempts: int = 30) -> T:
    for i in range(attempts):
        try:
            return fn()
        except Exception as exc:
            if "locked" not in str(exc).lower() or i == attempts - 1:
                raise
            time.sleep(0.2 + 0.1 * i)
    raise AssertionError("unreachable")


def git_state(root: Path) -> dict[str, str]:
    def run(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return ""

    commit = run("rev-parse", "HEAD") or "unknown"
    dirty = run("status", "--porcelain", "--untracked-files=no")
    return {"git_commit": commit, "git_dirty": str(bool(dirty)).lower()}


def _scheduler_tags() -> dict[str, str]:
    """The SLURM job a stage ran in, so a run can be matched to the cluster's own job records."""
    job = os.environ.get("SLURM_JOB_ID")
    return {"slurm_job_id": job, "slurm_cluster": os.environ.get("SLURM_CLUSTER_NAME", "")} if job else {}


def _experiment_id(mlflow: Any, root: Path) -> str:
    with FileLock(str(root / ".mlflow.lock")):
        exp = _retry(lambda: mlflow.get_experiment_by_name(EXPERIMENT))
        if exp is not None:
            return exp.experiment_id
        # A local store keeps artifacts beside it in the project, not in whatever the cwd is;
        # a tracking server decides for itself.
        local = tracking_uri(root).startswith(("sqlite:", "file:"))
        location = (root / "mlruns").resolve().as_uri() if local else None
        return _retry(lambda: mlflow.create_experiment(EXPERIMENT, artifact_location=location))


class StageRun:
    """What a stage logs into its run; every write is retried on a lock."""

    def __init__(self, mlflow: Any) -> None:
        self._mlflow = mlflow

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        finite = {k: float(v) for k, v in metrics.items() if not math.isnan(float(v))}  # NaN is not a metric value
        _retry(lambda: self._mlflow.log_metrics(finite, step=step))

    def log_artifact(self, path: Path | str) -> None:
        _retry(lambda: self._mlflow.log_artifact(str(path)))

    def log_params(self, params: dict[str, Any]) -> None:
        _retry(lambda: self._mlflow.log_params({k: str(v)[:500] for k, v in params.items()}))


@contextmanager
def tracked_run(stage: str, root: Path, tags: dict[str, str]) -> Iterator[StageRun]:
    """An MLflow run for one stage. `tags` carry the provenance (data source, scale, seed, hand model);
    the stage frame logs the params a stage read once it has read them."""
    import mlflow

    mlflow.set_tracking_uri(tracking_uri(root))
    exp_id = _experiment_id(mlflow, root)
    all_tags = {"stage": stage, **git_state(root), **_scheduler_tags(), **tags}
    _retry(lambda: mlflow.start_run(experiment_id=exp_id, run_name=stage, tags=all_tags))
    status = "FAILED"
    try:
        yield StageRun(mlflow)
        status = "FINISHED"
    finally:
        _retry(lambda: mlflow.end_run(status=status))
