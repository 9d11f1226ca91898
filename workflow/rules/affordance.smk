# Affordance Diffusion (CVPR 2023): HOI4D tree -> HO3Pairs -> six networks -> samples -> evaluation -> report.
# Commands in src/handflow/papers/affordance/commands.py.
import handflow.papers.affordance.variants as af

AFF = "data/processed/affordance"
AFF_CMD = "handflow.papers.affordance.commands"
AFF_ROOT = af.source_root(*(P.get(k) for k in af.SOURCE_KEYS))
AFF_PROVENANCE = af.PROVENANCE.params()
AFF_CONTENT = [m for m, model in af.MODELS.items() if model.family == "content"]  # trained content.trainings times each


rule affordance_embedded:
    input:
        hand=HAND_MODEL,
        code=code_of(f"{AFF_CMD}:embedded"),
    output:
        directory(af.EMBEDDED_ROOT),
    log:
        "logs/affordance/embedded.log",
    benchmark:
        "logs/bench/affordance_embedded.tsv"
    conda:
        CONDA_ENV
    threads: P.get("global.threads")
    params:
        p=par("global.seed", "global.threads", "global.render_backend", "affordance.embedded"),
    shell:
        "python -m handflow affordance embedded --hand-model {input.hand} --out {output} --log {log}"


rule affordance_pairs:
    input:
        root=AFF_ROOT,
        code=code_of(f"{AFF_CMD}:pairs"),
    output:
        f"{AFF}/pairs_{{split}}.h5",
    log:
        "logs/affordance/pairs_{split}.log",
    benchmark:
        "logs/bench/affordance_pairs_{split}.tsv"
    wildcard_constraints:
        split="|".join(af.SPLITS),
    conda:
        CONDA_ENV
    threads: P.get("global.threads")
    params:
        p=lambda w: par(*AFF_PROVENANCE, *af.SOURCE_KEYS, "global.threads", f"affordance.data.{w.split}_csv", "affordance.pairs"),
    shell:
        "python -m handflow affordance pairs --root {input.root} --split {wildcards.split} --out {output} --log {log}"


rule affordance_train:
    input:
        data=lambda w: f"{AFF}/{af.MODELS[w.model].data}.h5",
        hand=lambda w: HAND_MODEL if af.MODELS[w.model].needs_hand_model else [],
        code=code_of(f"{AFF_CMD}:train"),
    output:
        model="models/affordance/{model}.pt",
        curve="models/affordance/{model}_loss.tsv",
    log:
        "logs/affordance/train_{model}.log",
    benchmark:
        "logs/bench/affordance_train_{model}.tsv"
    wildcard_constraints:
        model="|".join(m for m in af.MODELS if m not in AFF_CONTENT),
    conda:
        CONDA_ENV
    threads: P.get("global.threads")
    resources:
        gpu=1,
    params:
        p=lambda w: par(
            "global.seed", "global.threads", "global.device", "global.precision", "global.compile", *af.MODELS[w.model].params()
        ),
        checkpoints="checkpoints/affordance/{model}",
        hand=lambda w, input: f"--hand-model {input.hand}" if af.MODELS[w.model].needs_hand_model else "",
    shell:
        "python -m handflow affordance train --model {wildcards.model} --data {input.data} --checkpoints {params.checkpoints}"
        " --out {output.model} --curve {output.curve} {params.hand} --log {log}"


rule affordance_train_content:
    input:
        data=f"{AFF}/pairs_train.h5",
        code=code_of(f"{AFF_CMD}:train"),
    output:
        directory("models/affordance/{model}"),
    log:
        "logs/affordance/train_{model}.log",
    benchmark:
        "logs/bench/affordance_train_{model}.tsv"
    wildcard_constraints:
        model="|".join(AFF_CONTENT),
    conda:
        CONDA_ENV
    threads: P.get("global.threads")
    resources:
        gpu=1,
    params:
        p=lambda w: par(
            "global.seed",
            "global.threads",
            "global.device",
            "global.precision",
            "global.compile",
            *af.MODELS[w.model].params(),
            "affordance.content.trainings",
        ),
        checkpoints="checkpoints/affordance/{model}",
    shell:
        "python -m handflow affordance train --model {wildcards.model} --data {input.data} --checkpoints {params.checkpoints}"
        " --out {output} --log {log}"


rule affordance_sample:
    input:
        unpack(lambda w: af.sample_inputs(w.row)),
        test=f"{AFF}/pairs_test.h5",
        train=f"{AFF}/pairs_train.h5",
        code=code_of(f"{AFF_CMD}:sample"),
    output:
        "results/affordance/samples_{row}.h5",
    log:
        "logs/affordance/sample_{row}.log",
    benchmark:
        "logs/bench/affordance_sample_{row}.tsv"
    wildcard_constraints:
        row="|".join(af.VARIANTS),
    conda:
        CONDA_ENV
    threads: P.get("global.threads")
    resources:
        gpu=1,
    params:
        p=par(*AFF_PROVENANCE, "global.threads", "global.device", "global.precision", "global.compile", "affordance.sample"),
        layout=lambda w, input: f"--layout {input.layout}" if "layout" in input.keys() else "",
    shell:
        "python -m handflow affordance sample --row {wildcards.row} --test {input.test} --train {input.train}"
        " --content {input.content} {params.layout} --out {output} --log {log}"


rule affordance_evaluate:
    input:
        test=f"{AFF}/pairs_test.h5",
        handpose="models/affordance/handpose.pt",
        hand=HAND_MODEL,
        samples=lambda w: [f"results/affordance/samples_{w.row}.h5"] if w.row in af.VARIANTS else [],
        code=code_of(f"{AFF_CMD}:evaluate"),
    output:
        "results/affordance/eval_{row}.json",
    log:
        "logs/affordance/evaluate_{row}.log",
    benchmark:
        "logs/bench/affordance_evaluate_{row}.tsv"
    wildcard_constraints:
        row="|".join(af.ROWS),
    conda:
        CONDA_ENV
    threads: P.get("global.threads")
    params:
        p=par(*AFF_PROVENANCE, "global.threads", "global.device", "affordance.evaluate", "affordance.content.network.image_size"),
    shell:
        "python -m handflow affordance evaluate --row {wildcards.row} --test {input.test}"
        " --handpose {input.handpose} --hand-model {input.hand} --samples {input.samples} --out {output} --log {log}"


AFF_EDIT_MODELS = {m: af.model_path(m) for m in ("layout", "content", "upsampler")}


rule affordance_edit:
    input:
        **AFF_EDIT_MODELS,
        test=f"{AFF}/pairs_test.h5",
        code=code_of(f"{AFF_CMD}:edit"),
    output:
        gif=report("results/figures/affordance_interpolation.gif", caption="../report/affordance_edit.rst", category="Affordance"),
        hijack=report("results/figures/affordance_hijack.png", caption="../report/affordance_edit.rst", category="Affordance"),
    log:
        "logs/affordance/edit.log",
    benchmark:
        "logs/bench/affordance_edit.tsv"
    conda:
        CONDA_ENV
    threads: P.get("global.threads")
    params:
        p=par("global.seed", "global.threads", "affordance.sample.sampler", "affordance.sample.steps", "affordance.edit"),
    shell:
        "python -m handflow affordance edit --test {input.test} --layout {input.layout} --content {input.content}"
        " --upsampler {input.upsampler} --gif {output.gif} --hijack {output.hijack} --log {log}"


rule affordance_infer:
    input:
        **AFF_EDIT_MODELS,
        images=P.get("affordance.inference.images") or f"{AFF}/pairs_test.h5",
        code=code_of(f"{AFF_CMD}:infer"),
    output:
        directory("results/affordance/inference"),
    log:
        "logs/affordance/infer.log",
    benchmark:
        "logs/bench/affordance_infer.tsv"
    conda:
        CONDA_ENV
    threads: P.get("global.threads")
    params:
        p=par("global.seed", "global.threads", "affordance.sample.sampler", "affordance.sample.steps", "affordance.inference"),
    shell:
        "python -m handflow affordance infer --images {input.images} --layout {input.layout} --content {input.content}"
        " --upsampler {input.upsampler} --out {output} --log {log}"


rule affordance_report:
    input:
        evals=expand("results/affordance/eval_{row}.json", row=af.ROWS),
        samples=expand("results/affordance/samples_{row}.h5", row=af.VARIANTS),
        test=f"{AFF}/pairs_test.h5",
        upsampler="models/affordance/upsampler.pt",
        handpose="models/affordance/handpose.pt",
        hand=HAND_MODEL,
        code=code_of(f"{AFF_CMD}:report"),
    output:
        json=af.METRICS_JSON,
        table="results/tables/affordance_table.md",
        html=report("results/tables/affordance_table.html", caption="../report/affordance_table.rst", category="Affordance"),
        figure=report("results/figures/affordance_grid.png", caption="../report/affordance_grid.rst", category="Affordance"),
    log:
        "logs/affordance/report.log",
    benchmark:
        "logs/bench/affordance_report.tsv"
    conda:
        CONDA_ENV
    threads: P.get("global.threads")
    params:
        p=par(*AFF_PROVENANCE, "global.threads", "affordance.sample", "affordance.evaluate.fingertip_reach"),
    shell:
        "python -m handflow affordance report --evals {input.evals} --samples {input.samples} --test {input.test}"
        " --upsampler {input.upsampler} --handpose {input.handpose}"
        " --hand-model {input.hand} --json {output.json}"
        " --table {output.table} --html {output.html} --figure {output.figure} --log {log}"


rule affordance:
    input:
        af.TARGETS,
