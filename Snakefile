# handflow: one DAG from raw dataset files to the papers' tables and figures.
# Rules are thin: each calls `python -m handflow <group> <stage>` (logic in src/handflow),
# writes atomically, logs to logs/ and declares the params/ keys it reads, so a changed
# value reruns exactly the stages that read it. dvc.yaml is generated from this DAG:
# `python -m handflow pipeline dvc-yaml`.
from snakemake.utils import min_version

min_version("9.20")


include: "workflow/rules/common.smk"
include: "workflow/rules/hand_model.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/interhandgen.smk"
include: "workflow/rules/digit.smk"


rule all:
    default_target: True
    input:
        "results/data_summary.json",
        "results/figures/interhand_samples.png",
        "results/interhandgen_metrics.json",
        "results/tables/interhandgen_table.md",
        "results/digit_metrics.json",
        "results/tables/digit_table.md",
