rule embedded_interhand:
    input:
        hand="data/hand_model",
        code=code_of("handflow.datasets.interhand.generator", "handflow.hand.model"),
    output:
        directory("data/raw/embedded/InterHand2.6M"),
    params:
        p=par("global.seed", "global.render_backend", "data.embedded"),
    log:
        "logs/embedded_interhand.log",
    benchmark:
        "logs/bench/embedded_interhand.tsv"
    shell:
        "python -m handflow data embedded --hand-model {input.hand} --out {output} --log {log}"


rule download_interhand:
    input:
        code_of("handflow.datasets.interhand.download"),
    output:
        directory("data/raw/interhand26m"),
    params:
        p=par("data.download"),
    log:
        "logs/download_interhand.log",
    benchmark:
        "logs/bench/download_interhand.tsv"
    shell:
        "python -m handflow data download --out {output} --log {log}"


rule preprocess_interhand:
    input:
        root=raw_interhand_root(),
        hand="data/hand_model",
        code=code_of("handflow.datasets.interhand.preprocess", "handflow.hand.model"),
    output:
        "data/processed/interhand26m_{split}.h5",
    params:
        p=par("global.data_source", "global.scale", "global.seed", "data.preprocess.batch_size"),
    log:
        "logs/preprocess_interhand_{split}.log",
    benchmark:
        "logs/bench/preprocess_interhand_{split}.tsv"
    shell:
        "python -m handflow data preprocess --root {input.root} --split {wildcards.split}"
        " --hand-model {input.hand} --out {output} --log {log}"


rule data_report:
    input:
        root=raw_interhand_root(),
        h5=expand("data/processed/interhand26m_{split}.h5", split=SPLITS),
        code=code_of("handflow.datasets.interhand.report"),
    output:
        json="results/data_summary.json",
        figure="results/figures/interhand_samples.png",
    params:
        p=par("global.data_source", "global.scale", "global.seed", "global.hand_model"),
    log:
        "logs/data_report.log",
    benchmark:
        "logs/bench/data_report.tsv"
    shell:
        "python -m handflow data report --root {input.root} --h5 {input.h5}"
        " --json {output.json} --figure {output.figure} --log {log}"
