"""dvc.yaml, generated from the Snakemake DAG: one DVC stage per Snakemake job.

The Snakefile is the single source of truth. For every job of the default target
this writes a stage with the job's own shell command (so `dvc repro` and
`snakemake` run the same commands and produce the same files), its inputs as
`deps` (the `src/` files it runs included), the params/ keys it declares through
`par(...)` as `params`, its outputs as `outs`, JSON files under results/ as
`metrics` and training loss curves (`*_loss.tsv`) as `plots`. Metrics and plots stay
cached, unlike DVC's usual advice to commit metrics to git: results/ is not in git here,
so the remote is how a collaborator gets them (`dvc pull`), and `dvc metrics diff` reads
a commit's metrics from the cache through dvc.lock.

Snakemake offers no public API that lists a fresh DAG's jobs with their shell
commands (`--detailed-summary` only knows commands of jobs that already ran), so
this uses the workflow object behind `snakemake.api` to build the DAG; the
Snakemake version is pinned below 10 in pyproject.toml, and a test fails when
the committed dvc.yaml differs from what this produces.
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import yaml

from handflow.params import DeclaredParams, Params, load_params, scale_keys

HEADER = "# Generated from the Snakemake DAG by `python -m handflow pipeline dvc-yaml`; do not edit.\n"


def _jobs(root: Path, targets: list[str] | None = None) -> list:
    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import DAGSettings, OutputSettings, ResourceSettings, StorageSettings

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        with SnakemakeApi(OutputSettings(quiet={"all"})) as api:
            wf_api = api.workflow(
                resource_settings=ResourceSettings(cores=1),
                storage_settings=StorageSettings(),
                snakefile=root / "Snakefile",
                workdir=root,
            )
            dag_api = wf_api.dag(DAGSettings(targets=set(targets or []), forceall=True))
            wf = dag_api.workflow_api._workflow
            wf._prepare_dag(forceall=True, ignore_incomplete=True, lock_warn_only=True)
            wf._build_dag()
            jobs = list(wf.dag.jobs)
    return jobs


def stage_name(job) -> str:
    """The DVC stage of a Snakemake job: its rule and wildcard values (the MLflow run has the same name)."""
    parts = [job.rule.name] + [str(v) for v in job.wildcards_dict.values()]
    return re.sub(r"[^A-Za-z0-9_-]", "_", "_".join(parts))


def _rel(path: str, root: Path) -> str:
    p = Path(path)
    return str(p.relative_to(root)) if p.is_absolute() and p.is_relative_to(root) else str(p)


def dvc_params(params: Params, keys: list[str], scales: dict[Path, frozenset[str]]) -> list[dict[str, list[str]]]:
    """DVC `params:` entries for a stage's declared keys: each key in its base file; in every scale file that sets
    something under it, the key again; and then `global.scale`, since which scale file applies is itself a param.

    Every scale, not only the one in use: dvc.yaml is committed once, and a stage's values come from whichever scale
    is set when it runs. (Naming only the scale in use, as before 2026-12-05, left DVC blind to edits of the scale
    file at any other scale.) An edit of a scale not in use reruns the stages that read the key all the same.
    """
    per_file: dict[str, list[str]] = {}
    for key in keys:
        stem, _, rest = key.partition(".")
        per_file.setdefault(str(params.files[stem].relative_to(params.root)), []).append(rest or stem)
        for path, set_keys in scales.items():
            if any(k == key or k.startswith(key + ".") for k in set_keys):
                per_file.setdefault(str(path.relative_to(params.root)), []).append(key)
                per_file.setdefault(str(params.files["global"].relative_to(params.root)), []).append("scale")
    return [{f: sorted(set(keys))} for f, keys in per_file.items()]


def stages(root: Path) -> dict:
    params = load_params(root)
    scales = scale_keys(root)
    out: dict[str, dict] = {}
    for job in sorted(_jobs(root), key=stage_name):
        if job.rule.norun:  # e.g. `all`
            continue
        stage: dict = {"cmd": " ".join(str(job.shellcmd).split())}
        deps = sorted({_rel(str(f), root) for f in job.input})
        if deps:
            stage["deps"] = deps
        keys = [k for _, v in job.params.items() if isinstance(v, DeclaredParams) for k in v]
        if keys:
            stage["params"] = dvc_params(params, keys, scales)
        outs = sorted({_rel(str(f), root) for f in job.output})
        metrics = [o for o in outs if o.startswith("results/") and o.endswith(".json")]
        curves = [o for o in outs if o.endswith("_loss.tsv")]
        plain = [o for o in outs if o not in metrics and o not in curves]
        if plain:
            stage["outs"] = plain
        if metrics:
            stage["metrics"] = metrics
        if curves:
            stage["plots"] = [{c: {"x": "step", "y": "loss", "title": Path(c).stem}} for c in curves]
        out[stage_name(job)] = stage
    return out


def render(root: Path) -> str:
    return HEADER + yaml.safe_dump({"stages": stages(root)}, sort_keys=False, width=1000)


def check_or_write(root: Path, check: bool) -> bool:
    """Write dvc.yaml, or with `check` only report whether the committed one is current."""
    root = root.resolve()
    text = render(root)
    path = root / "dvc.yaml"
    if check:
        return path.exists() and path.read_text() == text
    path.write_text(text)
    return True
