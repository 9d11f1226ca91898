# The prepared hand model every paper reads. Logic in src/handflow/hand/.
rule hand_model:
    input:
        code_of("handflow.hand.commands:prepare"),
    output:
        directory(HAND_MODEL),
    log:
        "logs/hand_model.log",
    benchmark:
        "logs/bench/hand_model.tsv"
    conda:
        CONDA_ENV
    params:
        p=par("global.hand_model", "global.hand_model_dir"),
    shell:
        "python -m handflow hand prepare --out {output} --log {log}"
