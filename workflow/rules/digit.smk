# DIGIT (3DV 2021): the image LMDB and the part-segmentation LMDB per split (training and
# evaluation to come). Logic in src/handflow/papers/digit/.
DIGIT = "data/processed/digit"


rule digit_pack_images:
    input:
        root=raw_interhand_root(),
        code=code_of("handflow.papers.digit.images"),
    output:
        directory(f"{DIGIT}/images_{{split}}.lmdb"),
    params:
        p=par("digit.images"),
    log:
        "logs/digit/pack_images_{split}.log",
    benchmark:
        "logs/bench/digit_pack_images_{split}.tsv"
    shell:
        "python -m handflow digit pack-images --root {input.root} --split {wildcards.split} --out {output} --log {log}"


rule digit_annotations:
    input:
        root=raw_interhand_root(),
        code=code_of("handflow.papers.digit.annotations"),
    output:
        f"{DIGIT}/annotations_{{split}}.h5",
    params:
        p=par("global.data_source", "global.scale", "global.seed"),
    log:
        "logs/digit/annotations_{split}.log",
    benchmark:
        "logs/bench/digit_annotations_{split}.tsv"
    shell:
        "python -m handflow digit annotations --root {input.root} --split {wildcards.split} --out {output} --log {log}"


rule digit_segmentation:
    input:
        root=raw_interhand_root(),
        hand="data/hand_model",
        code=code_of("handflow.papers.digit.segmentation", "handflow.hand.model"),
    output:
        lmdb=directory(f"{DIGIT}/segm_{{split}}.lmdb"),
        meta=f"{DIGIT}/segm_{{split}}_meta.json",
    params:
        p=par("global.render_backend", "digit.images", "digit.segmentation"),
    log:
        "logs/digit/segmentation_{split}.log",
    benchmark:
        "logs/bench/digit_segmentation_{split}.tsv"
    shell:
        "python -m handflow digit segmentation --root {input.root} --split {wildcards.split} --hand-model {input.hand}"
        " --out {output.lmdb} --meta {output.meta} --log {log}"


def digit_stores(split):
    return {
        "annotations": f"{DIGIT}/annotations_{split}.h5",
        "images": f"{DIGIT}/images_{split}.lmdb",
        "masks": f"{DIGIT}/segm_{split}.lmdb",
        "meta": f"{DIGIT}/segm_{split}_meta.json",
    }


STORE_ARGS = "--annotations {input.annotations} --images {input.images} --masks {input.masks} --masks-meta {input.meta}"


rule digit_train:
    input:
        **digit_stores("train"),
        pretrained=P.get("digit.pretrained_backbone") or [],
        code=code_of("handflow.papers.digit.train"),
    output:
        model="models/digit/{variant}.pt",
        curve="models/digit/{variant}_loss.tsv",
    wildcard_constraints:
        variant="seg|noseg",
    params:
        p=par("global.seed", "global.threads", "global.device", "digit.pretrained_backbone", "digit.model", "digit.train"),
        checkpoints="checkpoints/digit/{variant}",
    threads: P.get("global.threads")
    resources:
        gpu=1,
    log:
        "logs/digit/train_{variant}.log",
    benchmark:
        "logs/bench/digit_train_{variant}.tsv"
    shell:
        "python -m handflow digit train --variant {wildcards.variant} " + STORE_ARGS
        + " --checkpoints {params.checkpoints} --out {output.model} --curve {output.curve} --log {log}"


rule digit_evaluate:
    input:
        **digit_stores("test"),
        model="models/digit/{variant}.pt",
        code=code_of("handflow.papers.digit.evaluate", "handflow.papers.digit.train"),
    output:
        "results/digit/eval_{variant}.json",
    wildcard_constraints:
        variant="seg|noseg",
    params:
        p=par("global.threads"),
    threads: P.get("global.threads")
    log:
        "logs/digit/evaluate_{variant}.log",
    benchmark:
        "logs/bench/digit_evaluate_{variant}.tsv"
    shell:
        "python -m handflow digit evaluate --variant {wildcards.variant} " + STORE_ARGS + " --model {input.model} --out {output} --log {log}"


rule digit_report:
    input:
        **digit_stores("test"),
        evals=expand("results/digit/eval_{variant}.json", variant=["seg", "noseg"]),
        model="models/digit/seg.pt",
        code=code_of("handflow.papers.digit.report", "handflow.papers.digit.train"),
    output:
        json="results/digit_metrics.json",
        table="results/tables/digit_table.md",
        figure="results/figures/digit_predictions.png",
    params:
        p=par("global.data_source", "global.scale", "global.seed", "global.hand_model"),
    log:
        "logs/digit/report.log",
    benchmark:
        "logs/bench/digit_report.tsv"
    shell:
        "python -m handflow digit report --evals {input.evals} " + STORE_ARGS + " --model {input.model}"
        " --json {output.json} --table {output.table} --figure {output.figure} --log {log}"
