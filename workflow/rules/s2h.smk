# Semantics2Hands (ACM MM 2023): anny Mixamo characters + InterHand2.6M MANO runs -> MixHand BVH tree -> packed
# bs-rotations -> ASRN and DM (n_seeds each) -> S_finger / S_palm / intra-domain MSE -> table and GIF.
# Commands in src/handflow/papers/s2h/commands.py.
import handflow.papers.s2h.variants as s2h

S2H_CMD = "handflow.papers.s2h.commands"


S2H_CHARACTERS = P.get("s2h.characters_dir")


rule s2h_tree:
    input:
        hand=HAND_MODEL,
        interhand=expand("data/processed/interhand26m_{split}.h5", split=("train", "val", "test")),
        characters=S2H_CHARACTERS or [],
        code=code_of(f"{S2H_CMD}:tree"),
    output:
        directory(s2h.TREE),
    log:
        "logs/s2h/tree.log",
    benchmark:
        "logs/bench/s2h_tree.tsv"
    conda:
        CONDA_ENV
    threads: P.get("global.threads")
    params:
        p=par("global.seed", "global.threads", "s2h.characters", "s2h.characters_dir", "s2h.character_splits", "s2h.motions"),
        characters=f"--characters-dir {S2H_CHARACTERS}" if S2H_CHARACTERS else "",
    shell:
        "python -m handflow s2h tree --hand-model {input.hand} --interhand-train {input.interhand[0]}"
        " --interhand-val {input.interhand[1]} --interhand-test {input.interhand[2]} {params.characters} --out {output} --log {log}"


rule s2h_pack:
    input:
        tree=s2h.TREE,
        hand=HAND_MODEL,
        code=code_of(f"{S2H_CMD}:pack"),
    output:
        s2h.PACKED,
    log:
        "logs/s2h/pack.log",
    benchmark:
        "logs/bench/s2h_pack.tsv"
    conda:
        CONDA_ENV
    threads: P.get("global.threads")
    params:
        p=par("global.threads"),
    shell:
        "python -m handflow s2h pack --tree {input.tree} --hand-model {input.hand} --out {output} --log {log}"


rule s2h_train:
    input:
        data=s2h.PACKED,
        code=code_of(f"{S2H_CMD}:train"),
    output:
        directory("models/s2h/{model}"),
    log:
        "logs/s2h/train_{model}.log",
    benchmark:
        "logs/bench/s2h_train_{model}.tsv"
    wildcard_constraints:
        model="|".join(s2h.MODELS),
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
            "s2h.network",
            "s2h.train",
            "s2h.n_seeds",
        ),
        checkpoints="checkpoints/s2h/{model}",
    shell:
        "python -m handflow s2h train --model {wildcards.model} --data {input.data} --checkpoints {params.checkpoints}"
        " --out {output} --log {log}"


rule s2h_evaluate:
    input:
        data=s2h.PACKED,
        models=lambda w: [f"models/s2h/{w.row}"] if w.row in s2h.MODELS else [],
        code=code_of(f"{S2H_CMD}:evaluate"),
    output:
        "results/s2h/eval_{row}.json",
    log:
        "logs/s2h/evaluate_{row}.log",
    benchmark:
        "logs/bench/s2h_evaluate_{row}.tsv"
    wildcard_constraints:
        row="|".join(s2h.ROWS),
    conda:
        CONDA_ENV
    threads: P.get("global.threads")
    resources:
        gpu=1,
    params:
        p=par(*s2h.PROVENANCE.params(), "global.threads", "global.device", "s2h.train.window", "s2h.train.stride"),
        models=lambda w, input: f"--models {input.models}" if w.row in s2h.MODELS else "",
    shell:
        "python -m handflow s2h evaluate --row {wildcards.row} --data {input.data} {params.models} --out {output} --log {log}"


rule s2h_figure:
    input:
        data=s2h.PACKED,
        tree=s2h.TREE,
        hand=HAND_MODEL,
        models=f"models/s2h/{s2h.FIGURE_MODEL}",
        code=code_of(f"{S2H_CMD}:figure"),
    output:
        report("results/figures/s2h_retarget.gif", caption="../report/s2h_retarget.rst", category="Semantics2Hands"),
    log:
        "logs/s2h/figure.log",
    benchmark:
        "logs/bench/s2h_figure.tsv"
    conda:
        CONDA_ENV
    threads: P.get("global.threads")
    params:
        p=par("global.threads", "global.render_backend", "s2h.figure", "s2h.train.window"),
    shell:
        "python -m handflow s2h figure --data {input.data} --tree {input.tree} --hand-model {input.hand} --models {input.models}"
        " --out {output} --log {log}"


S2H_RETARGET = [P.get(f"s2h.retarget.{k}") for k in ("source", "target")]


rule s2h_retarget:
    input:
        tree=s2h.TREE,
        hand=HAND_MODEL,
        models=f"models/s2h/{s2h.FIGURE_MODEL}",
        motions=[p for p in S2H_RETARGET if p],
        code=code_of(f"{S2H_CMD}:retarget"),
    output:
        bvh=s2h.RETARGETED,
        gif=s2h.RETARGETED_GIF,
    log:
        "logs/s2h/retarget.log",
    benchmark:
        "logs/bench/s2h_retarget.tsv"
    conda:
        CONDA_ENV
    threads: P.get("global.threads")
    params:
        p=par("global.threads"),  # s2h.retarget reaches the command as its arguments (a change changes the command)
        given=" ".join(f"--{k} {v}" for k, v in zip(("source", "target"), S2H_RETARGET) if v),
        kind=s2h.FIGURE_MODEL,
    shell:
        "python -m handflow s2h retarget --model {input.models} --kind {params.kind} --tree {input.tree}"
        " --hand-model {input.hand} {params.given} --out {output.bvh} --gif {output.gif} --log {log}"


rule s2h_report:
    input:
        evals=expand("results/s2h/eval_{row}.json", row=s2h.ROWS),
        data=s2h.PACKED,
        code=code_of(f"{S2H_CMD}:report"),
    output:
        json=s2h.METRICS_JSON,
        table="results/tables/s2h_table.md",
        html=report("results/tables/s2h_table.html", caption="../report/s2h_table.rst", category="Semantics2Hands"),
    log:
        "logs/s2h/report.log",
    benchmark:
        "logs/bench/s2h_report.tsv"
    conda:
        CONDA_ENV
    threads: P.get("global.threads")
    params:
        p=par(*s2h.PROVENANCE.params(), "global.threads", "s2h.n_seeds"),
    shell:
        "python -m handflow s2h report --evals {input.evals} --data {input.data} --json {output.json} --table {output.table}"
        " --html {output.html} --log {log}"


rule s2h:
    input:
        s2h.TARGETS,
