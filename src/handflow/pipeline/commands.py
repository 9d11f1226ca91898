"""`python -m handflow pipeline ...`: tooling around the DAG itself."""

from __future__ import annotations

from argparse import Namespace

from handflow.stage import Arg, CommandGroup, Stage

group = CommandGroup("pipeline", "pipeline tooling")


@group.command(
    "dvc-yaml",
    "generate dvc.yaml from the Snakemake DAG",
    Arg("--check", action="store_true", required=False, help="fail if dvc.yaml differs instead of writing it"),
    torch_threads=False,
)
def dvc_yaml(stage: Stage, args: Namespace) -> None:
    from handflow.pipeline.dvcgen import check_or_write

    if not check_or_write(stage.root, check=args.check):
        raise SystemExit("dvc.yaml is stale: run `python -m handflow pipeline dvc-yaml` and commit it")


@group.command("sync-runs", "log the MLflow run records stages left pending (a driver killed before its hooks)", torch_threads=False)
def sync_runs(stage: Stage, args: Namespace) -> dict[str, int]:
    from handflow.tracking import report, sync

    result = sync(stage.root)
    report(result)
    if result.failed:
        raise SystemExit(1)
    return {"logged": result.logged}
