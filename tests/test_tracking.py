"""MLflow runs: parallel stages share one SQLite store without lock errors; provenance is recorded."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

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
