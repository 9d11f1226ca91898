"""After a Snakemake run, record what it built in dvc.lock, so `dvc status` is clean and `dvc push` shares it.

Only `dvc repro` writes dvc.lock by itself; without this a user who builds with
Snakemake could not push the results. The Snakefile's `onsuccess` and `onerror` hand over
the jobs that finished in this run, and their stages are committed. Only those: the jobs
that were already up to date were committed by the run that built them, and saving every
stage of the DAG again took about 25 s after each run (measured on the smoke build: 93
stages, after a run of one job).

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
    """The Snakefile's `onsuccess` and `onerror`: commit the stages of the jobs that finished in this run; a project
    without git or DVC is left alone."""
    from handflow.pipeline.dvcgen import stage_name

    names = {stage_name(job) for job in jobs if not job.rule.norun}
    if not names:
        return
    if not (root / ".dvc").is_dir() or not (root / "dvc.yaml").is_file() or not _git_work_tree(root):
        print("not a git + DVC project: dvc.lock not updated", file=sys.stderr)
        return
    try:
        done = commit_stages(root, names)
    except Exception as exc:  # the build itself succeeded: say what failed, never turn it into a failure
        log.warning("dvc.lock not updated (%s: %s); `dvc commit` records the outputs by hand", type(exc).__name__, exc)
        return
    print(f"dvc.lock: {len(done)} stages of this run committed", file=sys.stderr)
