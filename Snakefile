# handflow: one DAG from raw dataset files to the papers' tables and figures.
# Rules are thin: each calls `python -m handflow <group> <stage>` (commands in each group's own
# commands.py), writes atomically, logs to logs/ and declares the params/ keys it reads, so a
# changed value reruns exactly the stages that read it. dvc.yaml is generated from this DAG:
# `python -m handflow pipeline dvc-yaml`. One paper: `snakemake interhandgen`, `snakemake digit`,
# `snakemake affordance`, `snakemake s2h`, `snakemake dhpc`.
from snakemake.utils import min_version

min_version("9.20")


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/hand_model.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/interhandgen.smk"
include: "workflow/rules/digit.smk"
include: "workflow/rules/affordance.smk"
include: "workflow/rules/s2h.smk"
include: "workflow/rules/dhpc.smk"


rule all:
    default_target: True
    input:
        rules.data.input,
        rules.interhandgen.input,
        rules.digit.input,
        rules.affordance.input,
        rules.s2h.input,
        rules.dhpc.input,


# Every job's shell keeps Snakemake's strict bash mode and tells its stage to leave its MLflow run record to this
# driver (handflow.tracking), which logs the records once, in onsuccess / onerror. dvc.yaml's commands run without it.
shell.prefix("set -euo pipefail; export HANDFLOW_TRACKING_SYNC=driver; ")


onsuccess:
    # What this run built goes into dvc.lock (handflow.pipeline.dvc_commit): `dvc status` clean, `dvc push` ready.
    from handflow.pipeline.dvc_commit import commit_built
    from handflow.tracking import sync_from_driver

    commit_built(Path(workflow.basedir), workflow.dag.finished_jobs)
    sync_from_driver(Path(workflow.basedir))


onerror:
    # The jobs that finished before a failure are built too: recorded the same way, and their runs (the failed ones too).
    from handflow.pipeline.dvc_commit import commit_built
    from handflow.tracking import sync_from_driver

    commit_built(Path(workflow.basedir), workflow.dag.finished_jobs)
    sync_from_driver(Path(workflow.basedir))
