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
