# Affordance Diffusion (CVPR 2023): HOI4D tree -> HO3Pairs -> six networks -> samples -> evaluation -> report.
# Commands in src/handflow/papers/affordance/commands.py.
import handflow.papers.affordance.variants as af

AFF = "data/processed/affordance"
AFF_CMD = "handflow.papers.affordance.commands"
AFF_ROOT = af.source_root(*(P.get(k) for k in af.SOURCE_KEYS))
AFF_TRAIN = {"layout": "pairs_train", "layout_nomask": "pairs_train", "content": "pairs_train", "content_nolayout": "pairs_train",
             "upsampler": "pairs_train", "evaluator": "frames_train", "handpose": "pairs_train"}  # fmt: skip
AFF_TRAIN_KEYS = {"layout": ("layout", "content.network.image_size"), "layout_nomask": ("layout", "content.network.image_size"),
                  "content": ("content",), "content_nolayout": ("content",), "upsampler": ("upsampler", "content.network.image_size"),
                  "evaluator": ("evaluator",), "handpose": ("handpose",)}  # fmt: skip


rule affordance_embedded:
    input:
        hand="data/hand_model",
        code=code_of(f"{AFF_CMD}:embedded"),
    output:
        directory(af.EMBEDDED_ROOT),
    params:
        p=par("global.seed", "global.threads", "global.render_backend", "affordance.embedded"),
    log:
        "logs/affordance/embedded.log",
    benchmark:
        "logs/bench/affordance_embedded.tsv"
    shell:
        "python -m handflow affordance embedded --hand-model {input.hand} --out {output} --log {log}"


rule affordance_pairs:
    input:
        root=AFF_ROOT,
        code=code_of(f"{AFF_CMD}:pairs"),
    output:
        f"{AFF}/pairs_{{split}}.h5",
    wildcard_constraints:
        split="|".join(af.SPLITS),
    params:
        p=lambda w: par(*af.PROVENANCE_KEYS, *af.SOURCE_KEYS, "global.threads", f"affordance.data.{w.split}_csv", "affordance.pairs"),
    log:
        "logs/affordance/pairs_{split}.log",
    benchmark:
        "logs/bench/affordance_pairs_{split}.tsv"
    shell:
        "python -m handflow affordance pairs --root {input.root} --split {wildcards.split} --out {output} --log {log}"


rule affordance_frames:
    input:
        root=af.EMBEDDED_ROOT,
        code=code_of(f"{AFF_CMD}:frames"),
    output:
        f"{AFF}/frames_{{split}}.h5",
    wildcard_constraints:
        split="|".join(af.SPLITS),
    params:
        p=par(*af.PROVENANCE_KEYS, "affordance.pairs.size"),
    log:
        "logs/affordance/frames_{split}.log",
    benchmark:
        "logs/bench/affordance_frames_{split}.tsv"
    shell:
        "python -m handflow affordance frames --root {input.root} --split {wildcards.split} --out {output} --log {log}"


rule affordance_train:
    input:
        data=lambda w: f"{AFF}/{AFF_TRAIN[w.model]}.h5",
        hand=lambda w: "data/hand_model" if w.model == "handpose" else [],
        code=code_of(f"{AFF_CMD}:train"),
    output:
        model="models/affordance/{model}.pt",
        curve="models/affordance/{model}_loss.tsv",
    wildcard_constraints:
        model="|".join(af.MODELS),
    params:
        p=lambda w: par("global.seed", "global.threads", "global.device", *(f"affordance.{k}" for k in AFF_TRAIN_KEYS[w.model])),
        checkpoints="checkpoints/affordance/{model}",
        hand=lambda w, input: f"--hand-model {input.hand}" if w.model == "handpose" else "",
    threads: P.get("global.threads")
    resources:
        gpu=1,
    log:
        "logs/affordance/train_{model}.log",
    benchmark:
        "logs/bench/affordance_train_{model}.tsv"
    shell:
        "python -m handflow affordance train --model {wildcards.model} --data {input.data} --checkpoints {params.checkpoints}"
        " --out {output.model} --curve {output.curve} {params.hand} --log {log}"


AFF_NETS = {f"net_{m}": f"models/affordance/{m}.pt" for m in ("layout", "layout_nomask", "content", "content_nolayout")}


rule affordance_sample:
    input:
        test=f"{AFF}/pairs_test.h5",
        train=f"{AFF}/pairs_train.h5",
        **AFF_NETS,
        code=code_of(f"{AFF_CMD}:sample"),
    output:
        "results/affordance/samples_{variant}.h5",
    wildcard_constraints:
        variant="|".join(af.VARIANTS),
    params:
        p=par(*af.PROVENANCE_KEYS, "global.threads", "global.device", "affordance.sample"),
    threads: P.get("global.threads")
    resources:
        gpu=1,
    log:
        "logs/affordance/sample_{variant}.log",
    benchmark:
        "logs/bench/affordance_sample_{variant}.tsv"
    shell:
        "python -m handflow affordance sample --variant {wildcards.variant} --test {input.test} --train {input.train}"
        " --layout {input.net_layout} --layout-nomask {input.net_layout_nomask} --content {input.net_content}"
        " --content-nolayout {input.net_content_nolayout} --out {output} --log {log}"


def affordance_samples(wildcards):
    return [f"results/affordance/samples_{wildcards.row}.h5"] if wildcards.row in af.VARIANTS else []


rule affordance_evaluate:
    input:
        test=f"{AFF}/pairs_test.h5",
        evaluator="models/affordance/evaluator.pt",
        handpose="models/affordance/handpose.pt",
        hand="data/hand_model",
        samples=affordance_samples,
        code=code_of(f"{AFF_CMD}:evaluate"),
    output:
        "results/affordance/eval_{row}.json",
    wildcard_constraints:
        row="|".join(af.ROWS),
    params:
        p=par(*af.PROVENANCE_KEYS, "global.threads", "affordance.evaluate"),
    threads: P.get("global.threads")
    log:
        "logs/affordance/evaluate_{row}.log",
    benchmark:
        "logs/bench/affordance_evaluate_{row}.tsv"
    shell:
        "python -m handflow affordance evaluate --row {wildcards.row} --test {input.test} --evaluator {input.evaluator}"
        " --handpose {input.handpose} --hand-model {input.hand} --samples {input.samples} --out {output} --log {log}"


AFF_EDIT_MODELS = {"layout": "models/affordance/layout.pt", "content": "models/affordance/content.pt",
                   "upsampler": "models/affordance/upsampler.pt"}  # fmt: skip


rule affordance_edit:
    input:
        test=f"{AFF}/pairs_test.h5",
        **AFF_EDIT_MODELS,
        code=code_of(f"{AFF_CMD}:edit"),
    output:
        gif=report("results/figures/affordance_interpolation.gif", caption="../report/affordance_edit.rst", category="Affordance"),
        hijack=report("results/figures/affordance_hijack.png", caption="../report/affordance_edit.rst", category="Affordance"),
    params:
        p=par("global.seed", "global.threads", "affordance.sample.sampler", "affordance.sample.steps", "affordance.edit"),
    threads: P.get("global.threads")
    log:
        "logs/affordance/edit.log",
    benchmark:
        "logs/bench/affordance_edit.tsv"
    shell:
        "python -m handflow affordance edit --test {input.test} --layout {input.layout} --content {input.content}"
        " --upsampler {input.upsampler} --gif {output.gif} --hijack {output.hijack} --log {log}"


rule affordance_infer:
    input:
        images=P.get("affordance.inference.images") or f"{AFF}/pairs_test.h5",
        **AFF_EDIT_MODELS,
        code=code_of(f"{AFF_CMD}:infer"),
    output:
        directory("results/affordance/inference"),
    params:
        p=par("global.seed", "global.threads", "affordance.sample.sampler", "affordance.sample.steps", "affordance.inference"),
    threads: P.get("global.threads")
    log:
        "logs/affordance/infer.log",
    benchmark:
        "logs/bench/affordance_infer.tsv"
    shell:
        "python -m handflow affordance infer --images {input.images} --layout {input.layout} --content {input.content}"
        " --upsampler {input.upsampler} --out {output} --log {log}"


rule affordance_report:
    input:
        evals=expand("results/affordance/eval_{row}.json", row=af.ROWS),
        samples=expand("results/affordance/samples_{variant}.h5", variant=af.VARIANTS),
        test=f"{AFF}/pairs_test.h5",
        frames=f"{AFF}/frames_test.h5",
        evaluator="models/affordance/evaluator.pt",
        upsampler="models/affordance/upsampler.pt",
        handpose="models/affordance/handpose.pt",
        hand="data/hand_model",
        code=code_of(f"{AFF_CMD}:report"),
    output:
        json=af.METRICS_JSON,
        table="results/tables/affordance_table.md",
        html=report("results/tables/affordance_table.html", caption="../report/affordance_table.rst", category="Affordance"),
        figure=report("results/figures/affordance_grid.png", caption="../report/affordance_grid.rst", category="Affordance"),
    params:
        p=par(*af.PROVENANCE_KEYS, "global.threads", "affordance.sample"),
    threads: P.get("global.threads")
    log:
        "logs/affordance/report.log",
    benchmark:
        "logs/bench/affordance_report.tsv"
    shell:
        "python -m handflow affordance report --evals {input.evals} --samples {input.samples} --test {input.test}"
        " --evaluator {input.evaluator} --frames {input.frames} --upsampler {input.upsampler} --handpose {input.handpose}"
        " --hand-model {input.hand} --json {output.json}"
        " --table {output.table} --html {output.html} --figure {output.figure} --log {log}"


rule affordance:
    input:
        af.TARGETS,
