"""MLflow's cost to a pipeline run: every stage logging its own run, against stages leaving records for one driver sync.

Each "stage" is a process that does what the stage frame does for tracking and nothing
else (`tracked_run` with a few metrics, a loss curve and params), so the difference is
what tracking costs a Snakemake run of N jobs. Baseline: each process logs to MLflow as it
ends (what every stage did before run records, and what `dvc repro` still does). Ours:
the processes only write records (`HANDFLOW_TRACKING_SYNC=driver`, as under Snakemake) and
one more process syncs them (the driver's `onsuccess`). Both end with the same N runs in
the store (checked). Rounds alternate, each in a fresh project folder, so both see the same
machine; CPU time is the children's user + system time.

    .venv/bin/python benchmarks/bench_tracking.py --stages 20 --rounds 3
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

STAGE = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from handflow.tracking import tracked_run

    with tracked_run(sys.argv[2], Path(sys.argv[1]), {"data_source": "embedded", "scale": "smoke", "seed": "0"}) as run:
        for step in range(0, 200, 10):
            run.log_metrics({"loss": 1.0 / (step + 1)}, step=step)
        run.log_metrics({"fid": 1.5, "mpjpe_mm": 20.0})
        run.log_params({f"train.key{i}": i for i in range(8)})
    """
)
SYNC = "import sys; from pathlib import Path; from handflow.tracking import sync; assert sync(Path(sys.argv[1])).failed == []"


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def one_round(stages: int, deferred: bool) -> tuple[float, float]:
    """Wall and CPU seconds of `stages` stage processes one after another (and the driver's sync when deferred)."""
    root = Path(tempfile.mkdtemp(prefix="bench_tracking_"))
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "HANDFLOW_TRACKING_SYNC")}
    if deferred:
        env["HANDFLOW_TRACKING_SYNC"] = "driver"
    cpu0, wall0 = _children_cpu(), time.perf_counter()
    for i in range(stages):
        subprocess.run([sys.executable, "-c", STAGE, str(root), f"stage_{i}"], env=env, check=True, capture_output=True)
    if deferred:
        subprocess.run([sys.executable, "-c", SYNC, str(root)], env=env, check=True, capture_output=True)
    wall, cpu = time.perf_counter() - wall0, _children_cpu() - cpu0
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{root / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("handflow").experiment_id], max_results=10_000)
    assert len(runs) == stages and all(r.info.status == "FINISHED" for r in runs), "not every stage's run is in the store"
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stages", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    results: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
    for _ in range(args.rounds):
        for deferred in (False, True):
            results[deferred].append(one_round(args.stages, deferred))
    for deferred, label in ((False, "each stage logs its run"), (True, "records + one driver sync")):
        wall = statistics.median(w for w, _ in results[deferred])
        cpu = statistics.median(c for _, c in results[deferred])
        print(f"{label:27s} {args.stages} stages: median wall {wall:.1f} s, CPU {cpu:.1f} s ({cpu / args.stages:.2f} s per stage)")
    ratio = statistics.median(c for _, c in results[False]) / statistics.median(c for _, c in results[True])
    print(f"ratio of median CPU (baseline / ours): {ratio:.1f}x")


if __name__ == "__main__":
    main()
