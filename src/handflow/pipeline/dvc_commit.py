"""After a successful Snakemake run, record what it built in dvc.lock, so `dvc status` is clean and `dvc push` shares it.

Only `dvc repro` writes dvc.lock by itself; without this a user who builds with
Snakemake could not push the results. The Snakefile's `onsuccess` hands over the jobs
of the run's DAG (all up to date once it succeeded), and their stages are committed.

Two choices against DVC's defaults, each measured:
- `relink=False` (`dvc commit --no-relink`): DVC otherwise checks each output out again
  from its cache, which gives it a new modification time, and Snakemake would then rerun
  what depends on it.
- One collection of the stages for all of them, through DVC's Python API: the command
  line parses dvc.yaml once per target, about a second each for our dvc.yaml.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger(__name__)


def _git_work_tree(root: Path) -> bool:
    try:
        out = subprocess.run(["git", "rev-parse", "--is-inside-work-tree"], cwd=root, capture_output=True, text=True, check=False)
    except OSError:
        return False
    return out.stdout.strip() == "true"


def commit_stages(root: Path, names: Iterable[str]) -> list[str]:
    """Commit the named stages of `root`'s dvc.yaml whose outputs exist; return those committed."""
    from dvc.repo import Repo

    wanted = set(names)
    with Repo(str(root)) as repo, repo.lock:
        stages = [s for s in repo.index.stages if s.name in wanted and all(out.exists for out in s.outs)]
        for stage in stages:
            stage.save()
            stage.commit(relink=False)
        if stages:
            stages[0].dvcfile.dump_stages(stages, update_pipeline=False)
    return [s.name for s in stages]


def commit_built(root: Path, jobs: Iterable) -> None:
    """The Snakefile's `onsuccess`: commit the stages of the run's jobs; a project without git or DVC is left alone."""
    from handflow.pipeline.dvcgen import stage_name

    if not (root / ".dvc").is_dir() or not (root / "dvc.yaml").is_file() or not _git_work_tree(root):
        print("not a git + DVC project: dvc.lock not updated", file=sys.stderr)
        return
    names = {stage_name(job) for job in jobs if not job.rule.norun}
    try:
        done = commit_stages(root, names)
    except Exception as exc:  # the build itself succeeded: say what failed, never turn it into a failure
        log.warning("dvc.lock not updated (%s: %s); `dvc commit` records the outputs by hand", type(exc).__name__, exc)
        return
    print(f"dvc.lock: {len(done)} stages of this run committed", file=sys.stderr)
