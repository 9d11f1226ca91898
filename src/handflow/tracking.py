"""MLflow runs for pipeline stages: recorded by the stage, logged to the store by one process.

A stage does not talk to MLflow while it computes. What it logs (tags, params, metrics with
their steps and times, artifacts, its status, start and end) goes into a run record, written
at its end as one JSON file under `logs/mlflow/` (atomic, so a killed stage leaves none).
`sync` logs the pending records to the store, under a file lock, and removes them:

- under Snakemake, by the driver: the Snakefile's `onsuccess` and `onerror` (its jobs see
  `HANDFLOW_TRACKING_SYNC=driver`). MLflow costs each process that logs ~2.4 s of CPU before
  it logs anything (its import ~1.5 s, SQLAlchemy's store ~0.8 s; measured 2026-12-06), which
  was a third of a median smoke-scale stage and ~5 minutes of `make demo`; now it is paid once
  per Snakemake run. On a cluster only the login node's driver writes the store: compute nodes
  need no route to a tracking server, and a SQLite store on a network filesystem sees one
  writer, not one per job;
- otherwise (`dvc repro`, a command run by hand), by the stage itself as it ends.

`python -m handflow pipeline sync-runs` logs what a driver killed before its hooks left.
The price: under Snakemake a run shows in MLflow when the Snakemake run ends, not while the
stage trains (its log file shows the loss as it goes).

Default store: `sqlite:///mlflow.db` in the project root (MLflow's own default since 3.7;
the file store is deprecated); `MLFLOW_TRACKING_URI`, as the stage saw it, overrides it,
e.g. a tracking server. A failure to log never fails a stage or the build, whose outputs
are done: the record stays pending and the failure is one line on stderr.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import math
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from filelock import FileLock

from handflow.errors import InputError
from handflow.storage.json_files import write_json

EXPERIMENT = "handflow"
PENDING = Path("logs/mlflow")  # under the project root
RECORD_FORMAT = "handflow-run-record/1"
SYNC_ENV = "HANDFLOW_TRACKING_SYNC"  # "driver": leave the record to the Snakemake driver's hooks
STATUSES = ("FINISHED", "FAILED")
T = TypeVar("T")
log = logging.getLogger(__name__)


def tracking_uri(root: Path) -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{(root / 'mlflow.db').resolve()}"


def _retry(fn: Callable[[], T], attempts: int = 30) -> T:
    """SQLite answers "database is locked" while another process (an `mlflow ui`, a second project's sync) writes."""
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


def _now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class RunRecord:
    """One stage's MLflow run, as the stage saw it: logged to `tracking_uri` by `sync`."""

    run_name: str
    tracking_uri: str
    tags: dict[str, str]
    start_time: int
    params: dict[str, str] = field(default_factory=dict)
    metrics: list[tuple[str, float, int, int]] = field(default_factory=list)  # key, value, timestamp (ms), step
    artifacts: list[str] = field(default_factory=list)  # absolute paths, copied into the run when it is logged
    status: str = "RUNNING"
    end_time: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"format": RECORD_FORMAT, **{k: getattr(self, k) for k in self.__dataclass_fields__}}

    @classmethod
    def read(cls, path: Path) -> RunRecord:
        """A pending record, checked whole before anything is logged (a bad one creates no run)."""
        try:
            data = json.loads(path.read_bytes())
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(path, None, f"not a JSON run record ({type(exc).__name__})") from None
        if not isinstance(data, dict):
            raise InputError(path, None, "not a JSON object")
        if data.get("format") != RECORD_FORMAT:
            raise InputError(path, "format", f"expected {RECORD_FORMAT!r}")

        def get(key: str, check: Callable[[Any], bool], what: str) -> Any:
            if key not in data:
                raise InputError(path, key, "missing")
            if not check(data[key]):
                raise InputError(path, key, f"expected {what}")
            return data[key]

        def is_ms(v: Any) -> bool:
            return isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**53

        def str_map(v: Any) -> bool:
            return isinstance(v, dict) and all(isinstance(k, str) and isinstance(x, str) for k, x in v.items())

        def metric(m: Any) -> bool:
            return (
                isinstance(m, list)
                and len(m) == 4
                and isinstance(m[0], str)
                and bool(m[0])
                and isinstance(m[1], int | float)
                and not isinstance(m[1], bool)
                and math.isfinite(m[1])
                and is_ms(m[2])
                and is_ms(m[3])
            )

        return cls(
            run_name=get("run_name", lambda v: isinstance(v, str) and bool(v), "a non-empty string"),
            tracking_uri=get("tracking_uri", lambda v: isinstance(v, str) and bool(v), "a non-empty string"),
            tags=get("tags", str_map, "an object of strings"),
            start_time=get("start_time", is_ms, "a time in milliseconds"),
            params=get("params", str_map, "an object of strings"),
            metrics=[
                tuple(m) for m in get("metrics", lambda v: isinstance(v, list) and all(map(metric, v)), "[key, value, ms, step] items")
            ],
            artifacts=get("artifacts", lambda v: isinstance(v, list) and all(isinstance(a, str) and a for a in v), "a list of paths"),
            status=get("status", lambda v: v in STATUSES, " or ".join(STATUSES)),
            end_time=get("end_time", is_ms, "a time in milliseconds"),
        )


class StageRun:
    """What a stage logs into its run, kept in its record until the stage ends."""

    def __init__(self, record: RunRecord) -> None:
        self._record = record

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        now = _now_ms()
        for key, value in metrics.items():
            if not math.isnan(float(value)):  # NaN is not a metric value
                self._record.metrics.append((key, float(value), now, step or 0))

    def log_artifact(self, path: Path | str) -> None:
        self._record.artifacts.append(str(Path(path).resolve()))

    def log_params(self, params: dict[str, Any]) -> None:
        self._record.params.update({k: str(v)[:500] for k, v in params.items()})


@contextmanager
def tracked_run(stage: str, root: Path, tags: dict[str, str]) -> Iterator[StageRun]:
    """An MLflow run for one stage. `tags` carry the provenance (data source, scale, seed, hand model);
    the stage frame logs the params a stage read once it has read them. On exit the record is written, and logged
    at once unless a Snakemake driver will (see the module docstring)."""
    all_tags = {"stage": stage, **git_state(root), **_scheduler_tags(), **{k: str(v) for k, v in tags.items()}}
    record = RunRecord(stage, tracking_uri(root), all_tags, _now_ms())
    try:
        yield StageRun(record)
        record.status = "FINISHED"
    except BaseException:
        record.status = "FAILED"
        raise
    finally:
        record.end_time = _now_ms()
        write_json(root / PENDING / f"{stage}.{uuid.uuid4().hex}.json", record.to_json())
        if os.environ.get(SYNC_ENV) != "driver":
            report(sync(root))


def _experiment_id(client: Any, root: Path, uri: str) -> str:
    exp = _retry(lambda: client.get_experiment_by_name(EXPERIMENT))
    if exp is not None:
        return exp.experiment_id
    # A local store keeps artifacts beside it in the project, not in whatever the cwd is; a tracking server decides for itself.
    location = (root / "mlruns").resolve().as_uri() if uri.startswith(("sqlite:", "file:")) else None
    return _retry(lambda: client.create_experiment(EXPERIMENT, artifact_location=location))


def _log(client: Any, experiment_id: str, record: RunRecord) -> None:
    """One record as one run; a run left half-logged by an error is deleted, so the next sync logs it whole."""
    from mlflow.entities import Metric, Param

    run = _retry(lambda: client.create_run(experiment_id, start_time=record.start_time, tags=record.tags, run_name=record.run_name))
    run_id = run.info.run_id
    try:
        metrics = [Metric(k, float(v), t, s) for k, v, t, s in record.metrics]
        params = [Param(k, v) for k, v in record.params.items()]
        _retry(lambda: client.log_batch(run_id, metrics=metrics, params=params))
        for path in record.artifacts:
            if Path(path).is_file():  # removed since (a rerun's atomic write replaced it): the run keeps what is there
                _retry(functools.partial(client.log_artifact, run_id, path))
        _retry(lambda: client.set_terminated(run_id, status=record.status, end_time=record.end_time))
    except BaseException:
        with contextlib.suppress(Exception):  # a store that failed the run may refuse this too: the error above is the news
            client.delete_run(run_id)
        raise


@dataclass
class SyncReport:
    logged: int
    failed: list[str]  # one line each: the record and why it stayed pending


def sync(root: Path) -> SyncReport:
    """Log every pending record of the project at `root` to its tracking store, oldest first, and remove it.

    One process at a time (a file lock), so no record is logged twice and SQLite sees one writer. A record that cannot be
    read, or whose store refuses it, stays pending and is reported; the others are logged.
    """
    folder = root / PENDING
    if not any(folder.glob("*.json")):
        return SyncReport(0, [])  # nothing to log: MLflow is not even imported
    import mlflow

    logged, failed, clients = 0, [], {}
    with FileLock(str(root / ".mlflow.lock")):
        for path in sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime_ns):
            try:
                record = RunRecord.read(path)
                if record.tracking_uri not in clients:
                    client = mlflow.MlflowClient(tracking_uri=record.tracking_uri)
                    clients[record.tracking_uri] = (client, _experiment_id(client, root, record.tracking_uri))
                _log(*clients[record.tracking_uri], record)
            except Exception as exc:  # reported, and the record stays for the next sync
                failed.append(str(exc) if isinstance(exc, InputError) else f"{path}: not logged ({type(exc).__name__}: {exc})")
                continue
            path.unlink()
            logged += 1
    return SyncReport(logged, failed)


def report(result: SyncReport) -> None:
    for line in result.failed:
        log.warning("MLflow: %s", " ".join(line.split()))
    if result.failed:
        log.warning("MLflow: %d run records stay pending; `python -m handflow pipeline sync-runs` logs them", len(result.failed))


def sync_from_driver(root: Path) -> None:
    """The Snakefile's `onsuccess` and `onerror`: log the runs of the jobs this driver ran (and any left pending)."""
    result = sync(root)
    report(result)
    if result.logged:
        print(f"MLflow: {result.logged} runs logged to {tracking_uri(root)}", file=sys.stderr)
