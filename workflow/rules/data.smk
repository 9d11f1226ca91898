# InterHand2.6M, generated or real, to the preprocessed HDF5 both InterHand papers read.
# Logic in src/handflow/datasets/interhand/.
from handflow.datasets.interhand.commands import SPLITS

DATA = "handflow.datasets.interhand.commands"


rule embedded_interhand:
    input:
        hand=HAND_MODEL,
        code=code_of(f"{DATA}:embedded"),
    output:
        directory("data/raw/embedded/InterHand2.6M"),
    log:
        "logs/embedded_interhand.log",
    benchmark:
        "logs/bench/embedded_interhand.tsv"
    conda:
        CONDA_ENV
    threads: P.get("global.threads")
    params:
        p=par("global.seed", "global.threads", "global.render_backend", "data.embedded"),
    shell:
        "python -m handflow data embedded --hand-model {input.hand} --out {output} --log {log}"


rule download_interhand:
    input:
        code_of(f"{DATA}:download"),
    output:
        directory("data/raw/interhand26m"),
    log:
        "logs/download_interhand.log",
    benchmark:
        "logs/bench/download_interhand.tsv"
    conda:
        CONDA_ENV
    params:
        p=par("data.download"),
    shell:
        "python -m handflow data download --out {output} --log {log}"


rule preprocess_interhand:
    input:
        root=RAW_INTERHAND,
        hand=HAND_MODEL,
        code=code_of(f"{DATA}:preprocess"),
    output:
        "data/processed/interhand26m_{split}.h5",
    log:
        "logs/preprocess_interhand_{split}.log",
    benchmark:
        "logs/bench/preprocess_interhand_{split}.tsv"
    wildcard_constraints:
        split="|".join(SPLITS),
    conda:
        CONDA_ENV
    threads: P.get("global.threads")
    params:
        p=par(*PROVENANCE, *SOURCE_KEYS, "global.threads", "data.preprocess.batch_size"),
    shell:
        "python -m handflow data preprocess --root {input.root} --split {wildcards.split}"
        " --hand-model {input.hand} --out {output} --log {log}"


rule data_report:
    input:
        root=RAW_INTERHAND,
        h5=expand("data/processed/interhand26m_{split}.h5", split=SPLITS),
        code=code_of(f"{DATA}:report"),
    output:
        json="results/data_summary.json",
        figure=report("results/figures/interhand_samples.png", caption="../report/interhand_samples.rst", category="Data"),
    log:
        "logs/data_report.log",
    benchmark:
        "logs/bench/data_report.tsv"
    conda:
        CONDA_ENV
    params:
        p=par(*PROVENANCE, *SOURCE_KEYS),
    shell:
        "python -m handflow data report --root {input.root} --h5 {input.h5}" " --json {output.json} --figure {output.figure} --log {log}"


rule data:
    input:
        "results/data_summary.json",
        "results/figures/interhand_samples.png",
