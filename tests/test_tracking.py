"""MLflow runs: parallel stages share one SQLite store without lock errors; provenance is recorded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from conftest import copy_project
from handflow.tracking import tracked_run

WORKER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from handflow.tracking import tracked_run

    root, name = Path(sys.argv[1]), sys.argv[2]
    for i in range(3):
        with tracked_run(f"{name}_{i}", root, {"data_source": "embedded", "scale": "smoke"}) as run:
            run.log_params({"worker": name, "i": i})
            for step in range(5):
                run.log_metrics({"loss": 1.0 / (step + 1), "nan_is_skipped": float("nan")}, step=step)
    """
)


def _runs(uri: str):
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name("handflow")
    return client, client.search_runs([exp.experiment_id], max_results=1000)


def test_parallel_stages_share_the_sqlite_store(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(tmp_path), f"w{k}"], stderr=subprocess.PIPE, text=True) for k in range(4)]
    errors = [p.communicate()[1] for p in procs]
    assert all(p.returncode == 0 for p in procs), errors
    assert not any("locked" in e for e in errors)
    client, runs = _runs(f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert len(runs) == 12
    for run in runs:
        assert run.info.status == "FINISHED"
        assert {"git_commit", "git_dirty", "data_source", "scale", "stage"} <= set(run.data.tags)
        assert run.data.params["worker"].startswith("w")
        assert "nan_is_skipped" not in run.data.metrics
        assert len(client.get_metric_history(run.info.run_id, "loss")) == 5


def test_failed_stage_is_marked_failed_and_uri_is_honoured(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    artifact = tmp_path / "table.md"
    artifact.write_text("| a |\n")
    with pytest.raises(RuntimeError), tracked_run("boom", tmp_path, {"data_source": "embedded", "scale": "smoke"}) as run:
        run.log_artifact(artifact)
        raise RuntimeError("stage failed")
    assert not (tmp_path / "mlflow.db").exists()
    client, runs = _runs(uri)
    assert [r.info.status for r in runs] == ["FAILED"]
    assert [a.path for a in client.list_artifacts(runs[0].info.run_id)] == ["table.md"]


DEFERRED_STAGE = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from handflow.tracking import tracked_run

    with tracked_run("train_x", Path(sys.argv[1]), {"data_source": "embedded", "seed": 3}) as run:
        for step in range(4):
            run.log_metrics({"loss": 1.0 / (step + 1)}, step=step)
        run.log_params({"lr": 0.001})
        run.log_artifact(sys.argv[2])
    print("mlflow imported" if "mlflow" in sys.modules else "mlflow not imported")
    """
)


def test_under_a_driver_a_stage_leaves_a_record_and_one_sync_logs_it_once(tmp_path, monkeypatch):
    """What a Snakemake job does (HANDFLOW_TRACKING_SYNC=driver): no MLflow in the stage, a record the driver's sync logs
    with everything the stage logged, once however often sync runs."""
    from handflow.tracking import PENDING, SYNC_ENV, sync

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    artifact = tmp_path / "curve.tsv"
    artifact.write_text("step\tloss\n")
    env = {**os.environ, SYNC_ENV: "driver"}
    env.pop("MLFLOW_TRACKING_URI", None)
    cmd = [sys.executable, "-c", DEFERRED_STAGE, str(tmp_path), str(artifact)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "mlflow not imported"
    assert not (tmp_path / "mlflow.db").exists() and len(list((tmp_path / PENDING).glob("*.json"))) == 1
    assert sync(tmp_path).logged == 1
    assert (sync(tmp_path).logged, list((tmp_path / PENDING).glob("*.json"))) == (0, [])
    client, runs = _runs(f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert [r.info.run_name for r in runs] == ["train_x"]
    run = runs[0]
    assert run.info.status == "FINISHED" and run.info.end_time >= run.info.start_time
    assert (run.data.tags["seed"], run.data.params["lr"]) == ("3", "0.001")
    assert [m.step for m in client.get_metric_history(run.info.run_id, "loss")] == [0, 1, 2, 3]
    assert [a.path for a in client.list_artifacts(run.info.run_id)] == ["curve.tsv"]


def test_a_bad_record_stays_pending_in_one_line_and_the_others_are_logged(tmp_path, monkeypatch):
    from handflow.tracking import PENDING, SYNC_ENV, sync, tracked_run

    tmp_path = copy_project(tmp_path / "p")  # a project: `pipeline sync-runs` reads its params like every command
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv(SYNC_ENV, "driver")
    for name in ("a", "b"):
        with tracked_run(name, tmp_path, {"scale": "smoke"}) as run:
            run.log_metrics({"m": 1.0})
    bad = tmp_path / PENDING / "c.json"
    bad.write_text(json.dumps({"format": "handflow-run-record/1", "run_name": "c"}))
    result = sync(tmp_path)
    assert result.logged == 2 and len(result.failed) == 1
    assert str(bad) in result.failed[0] and "tracking_uri" in result.failed[0] and "\n" not in result.failed[0]
    assert list((tmp_path / PENDING).glob("*.json")) == [bad]
    _, runs = _runs(f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert sorted(r.info.run_name for r in runs) == ["a", "b"]
    cli = [sys.executable, "-m", "handflow", "--project", str(tmp_path), "pipeline", "sync-runs"]
    proc = subprocess.run(cli, capture_output=True, text=True, check=False, env={**os.environ, "MLFLOW_TRACKING_URI": ""})
    assert proc.returncode == 1 and str(bad) in proc.stderr
