# InterHandGen (CVPR 2024): dataset -> train (cascade, joint) -> features -> sample (one file per variant)
# -> evaluate (+ ground-truth reference) -> APG sweep -> report. Commands in src/handflow/papers/interhandgen/commands.py.
import handflow.papers.interhandgen.variants as ihg

IHG = "data/processed/interhandgen"
IHG_CMD = "handflow.papers.interhandgen.commands"


rule interhandgen_dataset:
    input:
        train="data/processed/interhand26m_train.h5",
        test="data/processed/interhand26m_test.h5",
        hand=HAND_MODEL,
        code=code_of(f"{IHG_CMD}:dataset"),
    output:
        train=f"{IHG}/pairs_train.h5",
        test=f"{IHG}/pairs_test.h5",
        stats=f"{IHG}/stats.json",
    log:
        "logs/interhandgen/dataset.log",
    benchmark:
        "logs/bench/interhandgen_dataset.tsv"
    conda:
        CONDA_ENV
    threads: P.get("global.threads")
    params:
        p=par(*PROVENANCE, "global.threads", "interhandgen.dataset"),
    shell:
        "python -m handflow interhandgen dataset --hand-model {input.hand} --train {input.train} --test {input.test}"
        " --out-train {output.train} --out-test {output.test} --out-stats {output.stats} --log {log}"


rule interhandgen_train:
    input:
        pairs=f"{IHG}/pairs_train.h5",
        stats=f"{IHG}/stats.json",
        code=code_of(f"{IHG_CMD}:train"),
    output:
        model="models/interhandgen/{model}.pt",
        curve="models/interhandgen/{model}_loss.tsv",
    log:
        "logs/interhandgen/train_{model}.log",
    benchmark:
        "logs/bench/interhandgen_train_{model}.tsv"
    wildcard_constraints:
        model="|".join(ihg.MODELS),
    conda:
        CONDA_ENV
    threads: P.get("global.threads")
    resources:
        gpu=1,
    params:
        p=par(
            "global.seed",
            "global.threads",
            "global.device",
            "global.precision",
            "global.compile",
            "interhandgen.dataset.swap_augmentation",
            "interhandgen.model",
            "interhandgen.diffusion",
            "interhandgen.train",
        ),
        checkpoints="checkpoints/interhandgen/{model}",
    shell:
        "python -m handflow interhandgen train --model {wildcards.model} --pairs {input.pairs} --stats {input.stats}"
        " --checkpoints {params.checkpoints} --out {output.model} --curve {output.curve} --log {log}"


rule interhandgen_features:
    input:
        train=f"{IHG}/pairs_train.h5",
        test=f"{IHG}/pairs_test.h5",
        hand=HAND_MODEL,
        code=code_of(f"{IHG_CMD}:features"),
    output:
        model="models/interhandgen/features.pt",
        report="results/interhandgen/features.json",
    log:
        "logs/interhandgen/features.log",
    benchmark:
        "logs/bench/interhandgen_features.tsv"
    conda:
        CONDA_ENV
    threads: P.get("global.threads")
    resources:
        gpu=1,
    params:
        p=par(
            *PROVENANCE,
            "global.threads",
            "global.device",
            "global.precision",
            "global.compile",
            "interhandgen.dataset.swap_augmentation",
            "interhandgen.features",
        ),
        checkpoints="checkpoints/interhandgen/features",
    shell:
        "python -m handflow interhandgen features --hand-model {input.hand} --train {input.train} --test {input.test}"
        " --checkpoints {params.checkpoints} --out {output.model} --report {output.report} --log {log}"


rule interhandgen_sample:
    input:
        model=lambda w: f"models/interhandgen/{ihg.VARIANTS[w.row].model}.pt",
        hand=HAND_MODEL,
        code=code_of(f"{IHG_CMD}:sample"),
    output:
        "data/samples/interhandgen/{row}.h5",
    log:
        "logs/interhandgen/sample_{row}.log",
    benchmark:
        "logs/bench/interhandgen_sample_{row}.tsv"
    wildcard_constraints:
        row="|".join(ihg.VARIANTS),
    conda:
        CONDA_ENV
    threads: P.get("global.threads")
    resources:
        gpu=1,
    params:
        p=par(
            *PROVENANCE,
            "global.threads",
            "global.device",
            "global.precision",
            "global.compile",
            "interhandgen.diffusion.sampling_steps",
            "interhandgen.sample",
        ),
    shell:
        "python -m handflow interhandgen sample --row {wildcards.row} --model {input.model} --hand-model {input.hand}"
        " --out {output} --log {log}"


rule interhandgen_evaluate:
    input:
        samples="data/samples/interhandgen/{row}.h5",
        train=f"{IHG}/pairs_train.h5",
        test=f"{IHG}/pairs_test.h5",
        features="models/interhandgen/features.pt",
        hand=HAND_MODEL,
        code=code_of(f"{IHG_CMD}:evaluate"),
    output:
        "results/interhandgen/eval_{row}.json",
    log:
        "logs/interhandgen/evaluate_{row}.log",
    benchmark:
        "logs/bench/interhandgen_evaluate_{row}.tsv"
    wildcard_constraints:
        row="|".join(ihg.VARIANTS),
    conda:
        CONDA_ENV
    threads: P.get("global.threads")
    params:
        p=par(*PROVENANCE, "global.threads", "interhandgen.evaluate"),
    shell:
        "python -m handflow interhandgen evaluate --row {wildcards.row} --samples {input.samples} --train {input.train}"
        " --test {input.test} --features {input.features} --hand-model {input.hand} --out {output} --log {log}"


rule interhandgen_evaluate_gt:
    input:
        train=f"{IHG}/pairs_train.h5",
        test=f"{IHG}/pairs_test.h5",
        features="models/interhandgen/features.pt",
        hand=HAND_MODEL,
        code=code_of(f"{IHG_CMD}:evaluate"),
    output:
        f"results/interhandgen/eval_{ihg.REFERENCE}.json",
    log:
        "logs/interhandgen/evaluate_gt.log",
    benchmark:
        "logs/bench/interhandgen_evaluate_gt.tsv"
    conda:
        CONDA_ENV
    threads: P.get("global.threads")
    params:
        p=par(*PROVENANCE, "global.threads", "interhandgen.evaluate", "interhandgen.sample.n_samples", "interhandgen.sample.n_repeats"),
    shell:
        f"python -m handflow interhandgen evaluate --row {ihg.REFERENCE} --train {{input.train}} --test {{input.test}}"
        " --features {input.features} --hand-model {input.hand} --out {output} --log {log}"


rule interhandgen_sweep:
    input:
        model="models/interhandgen/cascade.pt",
        hand=HAND_MODEL,
        code=code_of(f"{IHG_CMD}:sweep"),
    output:
        "results/interhandgen/apg_sweep.json",
    log:
        "logs/interhandgen/sweep.log",
    benchmark:
        "logs/bench/interhandgen_sweep.tsv"
    conda:
        CONDA_ENV
    threads: P.get("global.threads")
    resources:
        gpu=1,
    params:
        p=par(
            *PROVENANCE,
            "global.threads",
            "global.device",
            "global.precision",
            "global.compile",
            "interhandgen.diffusion.sampling_steps",
            "interhandgen.sample",
            "interhandgen.sweep",
        ),
    shell:
        "python -m handflow interhandgen sweep --model {input.model} --hand-model {input.hand} --out {output} --log {log}"


rule interhandgen_report:
    input:
        evals=expand("results/interhandgen/eval_{row}.json", row=[ihg.REFERENCE, *ihg.VARIANTS]),
        features="results/interhandgen/features.json",
        sweep="results/interhandgen/apg_sweep.json",
        samples="data/samples/interhandgen/full.h5",
        hand=HAND_MODEL,
        code=code_of(f"{IHG_CMD}:report"),
    output:
        json="results/interhandgen_metrics.json",
        table="results/tables/interhandgen_table.md",
        html=report("results/tables/interhandgen_table.html", caption="../report/interhandgen_table.rst", category="InterHandGen"),
        samples=report("results/figures/interhandgen_samples.png", caption="../report/interhandgen_samples.rst", category="InterHandGen"),
        sweep=report("results/figures/interhandgen_apg_sweep.png", caption="../report/interhandgen_sweep.rst", category="InterHandGen"),
    log:
        "logs/interhandgen/report.log",
    benchmark:
        "logs/bench/interhandgen_report.tsv"
    conda:
        CONDA_ENV
    threads: P.get("global.threads")
    params:
        p=par(*PROVENANCE, "global.threads"),
    shell:
        "python -m handflow interhandgen report --evals {input.evals} --features {input.features} --sweep {input.sweep}"
        " --samples {input.samples} --hand-model {input.hand} --json {output.json} --table {output.table} --html {output.html}"
        " --fig-samples {output.samples} --fig-sweep {output.sweep} --log {log}"


rule interhandgen:
    input:
        ihg.TARGETS,
