# DIGIT (3DV 2021): image and part-mask LMDBs per split -> train (seg, noseg) -> evaluate -> report.
# Commands in src/handflow/papers/digit/commands.py.
import handflow.papers.digit.variants as dg

DIGIT = "data/processed/digit"
DIGIT_CMD = "handflow.papers.digit.commands"


rule digit_pack_images:
    input:
        root=RAW_INTERHAND,
        code=code_of(f"{DIGIT_CMD}:pack_images"),
    output:
        directory(f"{DIGIT}/images_{{split}}.lmdb"),
    log:
        "logs/digit/pack_images_{split}.log",
    benchmark:
        "logs/bench/digit_pack_images_{split}.tsv"
    wildcard_constraints:
        split="|".join(dg.SPLITS),
    conda:
        CONDA_ENV
    params:
        p=par(*SOURCE_KEYS, "digit.images"),
    shell:
        "python -m handflow digit pack-images --root {input.root} --split {wildcards.split} --out {output} --log {log}"


rule digit_annotations:
    input:
        root=RAW_INTERHAND,
        code=code_of(f"{DIGIT_CMD}:annotations"),
    output:
        f"{DIGIT}/annotations_{{split}}.h5",
    log:
        "logs/digit/annotations_{split}.log",
    benchmark:
        "logs/bench/digit_annotations_{split}.tsv"
    wildcard_constraints:
        split="|".join(dg.SPLITS),
    conda:
        CONDA_ENV
    params:
        p=par(*PROVENANCE, *SOURCE_KEYS),
    shell:
        "python -m handflow digit annotations --root {input.root} --split {wildcards.split} --out {output} --log {log}"


rule digit_segmentation:
    input:
        root=RAW_INTERHAND,
        hand=HAND_MODEL,
        code=code_of(f"{DIGIT_CMD}:segmentation"),
    output:
        lmdb=directory(f"{DIGIT}/segm_{{split}}.lmdb"),
        meta=f"{DIGIT}/segm_{{split}}_meta.json",
    log:
        "logs/digit/segmentation_{split}.log",
    benchmark:
        "logs/bench/digit_segmentation_{split}.tsv"
    wildcard_constraints:
        split="|".join(dg.SPLITS),
    conda:
        CONDA_ENV
    threads: P.get("global.threads")
    params:
        p=par(*SOURCE_KEYS, "global.threads", "global.render_backend", "digit.images.batch_mb", "digit.segmentation"),
    shell:
        "python -m handflow digit segmentation --root {input.root} --split {wildcards.split} --hand-model {input.hand}"
        " --out {output.lmdb} --meta {output.meta} --log {log}"


DIGIT_STORES = {
    split: {
        "annotations": f"{DIGIT}/annotations_{split}.h5",
        "images": f"{DIGIT}/images_{split}.lmdb",
        "masks": f"{DIGIT}/segm_{split}.lmdb",
        "meta": f"{DIGIT}/segm_{split}_meta.json",
    }
    for split in dg.SPLITS
}


rule digit_train:
    input:
        **DIGIT_STORES["train"],
        pretrained=P.get("digit.pretrained_backbone") or [],
        code=code_of(f"{DIGIT_CMD}:train"),
    output:
        model="models/digit/{model}.pt",
        curve="models/digit/{model}_loss.tsv",
    log:
        "logs/digit/train_{model}.log",
    benchmark:
        "logs/bench/digit_train_{model}.tsv"
    wildcard_constraints:
        model="|".join(dg.MODELS),
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
            "digit.pretrained_backbone",
            "digit.loader_threads",
            "digit.model",
            "digit.train",
        ),
        checkpoints="checkpoints/digit/{model}",
    shell:
        "python -m handflow digit train --model {wildcards.model} --annotations {input.annotations} --images {input.images}"
        " --masks {input.masks} --masks-meta {input.meta} --checkpoints {params.checkpoints} --out {output.model}"
        " --curve {output.curve} --log {log}"


rule digit_evaluate:
    input:
        **DIGIT_STORES["test"],
        model=lambda w: f"models/digit/{dg.VARIANTS[w.row].model}.pt",
        code=code_of(f"{DIGIT_CMD}:evaluate"),
    output:
        "results/digit/eval_{row}.json",
    log:
        "logs/digit/evaluate_{row}.log",
    benchmark:
        "logs/bench/digit_evaluate_{row}.tsv"
    wildcard_constraints:
        row="|".join(dg.VARIANTS),
    conda:
        CONDA_ENV
    threads: P.get("global.threads")
    resources:
        gpu=1,
    params:
        p=par(*PROVENANCE, "global.threads", "global.device"),
    shell:
        "python -m handflow digit evaluate --row {wildcards.row} --annotations {input.annotations} --images {input.images}"
        " --masks {input.masks} --masks-meta {input.meta} --model {input.model} --out {output} --log {log}"


rule digit_mean_pose:
    input:
        train=f"{DIGIT}/annotations_train.h5",
        test=f"{DIGIT}/annotations_test.h5",
        code=code_of(f"{DIGIT_CMD}:mean_pose"),
    output:
        f"results/digit/eval_{dg.REFERENCE}.json",
    log:
        "logs/digit/mean_pose.log",
    benchmark:
        "logs/bench/digit_mean_pose.tsv"
    conda:
        CONDA_ENV
    params:
        p=par(*PROVENANCE),
    shell:
        "python -m handflow digit mean-pose --train-annotations {input.train} --annotations {input.test} --out {output} --log {log}"


rule digit_evaluate_landmarker:
    input:
        **DIGIT_STORES["test"],
        code=code_of(f"{DIGIT_CMD}:evaluate_landmarker"),
    output:
        f"results/digit/eval_{dg.OFF_THE_SHELF}.json",
    log:
        "logs/digit/evaluate_landmarker.log",
    benchmark:
        "logs/bench/digit_evaluate_landmarker.tsv"
    conda:
        CONDA_ENV
    threads: P.get("global.threads")
    params:
        p=par(*PROVENANCE, "global.threads"),
    shell:
        "python -m handflow digit evaluate-landmarker --annotations {input.annotations} --images {input.images}"
        " --masks {input.masks} --masks-meta {input.meta} --out {output} --log {log}"


rule digit_report:
    input:
        **DIGIT_STORES["test"],
        evals=expand("results/digit/eval_{row}.json", row=[dg.REFERENCE, dg.OFF_THE_SHELF, *dg.VARIANTS]),
        model=f"models/digit/{dg.FIGURE_MODEL}.pt",
        code=code_of(f"{DIGIT_CMD}:report"),
    output:
        json="results/digit_metrics.json",
        table="results/tables/digit_table.md",
        html=report("results/tables/digit_table.html", caption="../report/digit_table.rst", category="DIGIT"),
        figure=report("results/figures/digit_predictions.png", caption="../report/digit_predictions.rst", category="DIGIT"),
    log:
        "logs/digit/report.log",
    benchmark:
        "logs/bench/digit_report.tsv"
    conda:
        CONDA_ENV
    threads: P.get("global.threads")
    params:
        p=par(*PROVENANCE, "global.threads"),
    shell:
        "python -m handflow digit report --evals {input.evals} --annotations {input.annotations} --images {input.images}"
        " --masks {input.masks} --masks-meta {input.meta} --model {input.model} --json {output.json} --table {output.table} --html {output.html} --figure {output.figure} --log {log}"


rule digit:
    input:
        dg.TARGETS,
