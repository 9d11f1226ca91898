# Diffusion-HPC (arXiv 2303.09541): anny renders -> six networks -> text-only samples -> pose correction -> FID/KID,
# H-FID/H-KID; real-guided synthetic set -> regressor fine-tuning -> PCK, MPJPE, PA-MPJPE -> table and figure.
# Commands in src/handflow/papers/dhpc/commands.py.
import handflow.papers.dhpc.variants as dhpc

DHPC_CMD = "handflow.papers.dhpc.commands"


DHPC_PROVENANCE = dhpc.PROVENANCE.params()
# the stages that draw images read the user's Stable Diffusion pipelines (if any) and the data's image size they return
DHPC_SD = ("dhpc.stable_diffusion", "dhpc.data.image_size")


rule dhpc_data:
    input:
        code=code_of(f"{DHPC_CMD}:data"),
    output:
        dhpc.RENDERS,
    log:
        "logs/dhpc/data.log",
    benchmark:
        "logs/bench/dhpc_data.tsv"
    conda:
        CONDA_ENV
    threads: P.get("global.threads")
    params:
        p=par(*DHPC_PROVENANCE, "global.threads", "global.render_backend", "dhpc.data"),
    shell:
        "python -m handflow dhpc data --out {output} --log {log}"


rule dhpc_train:
    input:
        renders=dhpc.RENDERS,
        code=code_of(f"{DHPC_CMD}:train"),
    output:
        model="models/dhpc/{model}.pt",
        curve="models/dhpc/{model}_loss.tsv",
    log:
        "logs/dhpc/train_{model}.log",
    benchmark:
        "logs/bench/dhpc_train_{model}.tsv"
    wildcard_constraints:
        model="|".join(dhpc.MODELS),
    conda:
        CONDA_ENV
    threads: P.get("global.threads")
    resources:
        gpu=1,
    params:
        p=lambda w: par("global.seed", "global.threads", "global.device", "global.precision", "global.compile", *dhpc.MODELS[w.model].reads),
        checkpoints="checkpoints/dhpc/{model}",
    shell:
        "python -m handflow dhpc train --model {wildcards.model} --renders {input.renders} --checkpoints {params.checkpoints}"
        " --out {output.model} --log {log}"


rule dhpc_sample:
    input:
        t2i="models/dhpc/t2i.pt",
        code=code_of(f"{DHPC_CMD}:sample"),
    output:
        dhpc.SAMPLES.format(row="text_only"),
    log:
        "logs/dhpc/sample.log",
    benchmark:
        "logs/bench/dhpc_sample.tsv"
    conda:
        CONDA_ENV
    threads: P.get("global.threads")
    resources:
        gpu=1,
    params:
        p=par(
            *DHPC_PROVENANCE,
            "global.threads",
            "global.device",
            "global.precision",
            "global.compile",
            *DHPC_SD,
            "dhpc.sample",
            "dhpc.prompts",
            "dhpc.n_seeds",
        ),
    shell:
        "python -m handflow dhpc sample --t2i {input.t2i} --out {output} --log {log}"


rule dhpc_correct:
    input:
        samples=dhpc.SAMPLES.format(row="text_only"),
        nets=expand("models/dhpc/{model}.pt", model=("mask", "hmr", "prior", "depth")),
        code=code_of(f"{DHPC_CMD}:correct"),
    output:
        dhpc.SAMPLES.format(row="corrected"),
    log:
        "logs/dhpc/correct.log",
    benchmark:
        "logs/bench/dhpc_correct.tsv"
    conda:
        CONDA_ENV
    threads: P.get("global.threads")
    resources:
        gpu=1,
    params:
        p=par(
            *DHPC_PROVENANCE,
            "global.threads",
            "global.device",
            "global.precision",
            "global.compile",
            "global.render_backend",
            *DHPC_SD,
            "dhpc.sample",
            "dhpc.correct",
        ),
    shell:
        "python -m handflow dhpc correct --samples {input.samples} --mask {input.nets[0]} --hmr {input.nets[1]} --prior {input.nets[2]}"
        " --depth {input.nets[3]} --out {output} --log {log}"


# the user's real frames (COCO keypoints files) in place of the renders' real-style splits, when params name them
DHPC_REAL = [P.get(f"dhpc.real.{k}") for k in ("train_json", "test_json", "images")]
DHPC_REAL_INPUT = [dhpc.REAL] if DHPC_REAL[0] else []


rule dhpc_real:
    input:
        files=[p for p in DHPC_REAL if p],
        code=code_of(f"{DHPC_CMD}:real"),
    output:
        dhpc.REAL,
    log:
        "logs/dhpc/real.log",
    benchmark:
        "logs/bench/dhpc_real.tsv"
    conda:
        CONDA_ENV
    threads: P.get("global.threads")
    params:
        p=par(*DHPC_PROVENANCE, "global.threads", "dhpc.real", "dhpc.data.image_size"),
    shell:
        "python -m handflow dhpc real --out {output} --log {log}"


rule dhpc_synthesize:
    input:
        renders=dhpc.RENDERS,
        real=DHPC_REAL_INPUT,
        nets=expand("models/dhpc/{model}.pt", model=("mask", "hmr", "prior", "depth")),
        code=code_of(f"{DHPC_CMD}:synthesize"),
    output:
        dhpc.SYNTHETIC,
    log:
        "logs/dhpc/synthesize.log",
    benchmark:
        "logs/bench/dhpc_synthesize.tsv"
    conda:
        CONDA_ENV
    threads: P.get("global.threads")
    resources:
        gpu=1,
    params:
        p=par(
            *DHPC_PROVENANCE,
            "global.threads",
            "global.device",
            "global.precision",
            "global.compile",
            "global.render_backend",
            *DHPC_SD,
            "dhpc.synthetic",
        ),
        real=lambda w, input: f"--real {input.real}" if DHPC_REAL_INPUT else "",
    shell:
        "python -m handflow dhpc synthesize --renders {input.renders} {params.real} --mask {input.nets[0]} --hmr {input.nets[1]}"
        " --prior {input.nets[2]} --depth {input.nets[3]} --out {output} --log {log}"


rule dhpc_posegen:
    input:
        renders=dhpc.RENDERS,
        real=DHPC_REAL_INPUT,
        nets=expand("models/dhpc/{model}.pt", model=("hmr", "depth")),
        code=code_of(f"{DHPC_CMD}:posegen"),
    output:
        dhpc.POSEGEN,
    log:
        "logs/dhpc/posegen.log",
    benchmark:
        "logs/bench/dhpc_posegen.tsv"
    conda:
        CONDA_ENV
    threads: P.get("global.threads")
    resources:
        gpu=1,
    params:
        p=par(
            *DHPC_PROVENANCE,
            "global.threads",
            "global.device",
            "global.precision",
            "global.compile",
            "global.render_backend",
            *DHPC_SD,
            "dhpc.sample",
            "dhpc.posegen",
            "dhpc.n_seeds",
        ),
        real=lambda w, input: f"--real {input.real}" if DHPC_REAL_INPUT else "",
    shell:
        "python -m handflow dhpc posegen --renders {input.renders} {params.real} --hmr {input.nets[0]} --depth {input.nets[1]}"
        " --out {output} --log {log}"


rule dhpc_evaluate_posegen:
    input:
        renders=dhpc.RENDERS,
        real=DHPC_REAL_INPUT,
        posegen=dhpc.POSEGEN,
        code=code_of(f"{DHPC_CMD}:evaluate_posegen"),
    output:
        "results/dhpc/eval_posegen.json",
    log:
        "logs/dhpc/evaluate_posegen.log",
    benchmark:
        "logs/bench/dhpc_evaluate_posegen.tsv"
    conda:
        CONDA_ENV
    threads: P.get("global.threads")
    params:
        p=par(*DHPC_PROVENANCE, "global.threads", "global.device", "dhpc.n_seeds"),
        real=lambda w, input: f"--real {input.real}" if DHPC_REAL_INPUT else "",
    shell:
        "python -m handflow dhpc evaluate-posegen --renders {input.renders} {params.real} --posegen {input.posegen} --out {output} --log {log}"


rule dhpc_finetune:
    input:
        renders=dhpc.RENDERS,
        real=DHPC_REAL_INPUT,
        hmr="models/dhpc/hmr.pt",
        synthetic=lambda w: [dhpc.SYNTHETIC] if w.mode == "real_synth" else [],
        code=code_of(f"{DHPC_CMD}:finetune"),
    output:
        directory("models/dhpc/finetune_{mode}"),
    log:
        "logs/dhpc/finetune_{mode}.log",
    benchmark:
        "logs/bench/dhpc_finetune_{mode}.tsv"
    wildcard_constraints:
        mode="|".join(dhpc.FINETUNES),
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
            "dhpc.body_model",
            "dhpc.hmr.network",
            "dhpc.hmr.loss",
            "dhpc.finetune",
            "dhpc.n_seeds",
        ),
        synthetic=lambda w, input: f"--synthetic {input.synthetic}" if w.mode == "real_synth" else "",
        checkpoints="checkpoints/dhpc/finetune_{mode}",
        real=lambda w, input: f"--real {input.real}" if DHPC_REAL_INPUT else "",
    shell:
        "python -m handflow dhpc finetune --mode {wildcards.mode} --renders {input.renders} {params.real} --hmr {input.hmr} {params.synthetic}"
        " --checkpoints {params.checkpoints} --out {output} --log {log}"


rule dhpc_evaluate_images:
    input:
        renders=dhpc.RENDERS,
        text_only=dhpc.SAMPLES.format(row="text_only"),
        corrected=dhpc.SAMPLES.format(row="corrected"),
        code=code_of(f"{DHPC_CMD}:evaluate_images"),
    output:
        "results/dhpc/eval_images.json",
    log:
        "logs/dhpc/evaluate_images.log",
    benchmark:
        "logs/bench/dhpc_evaluate_images.tsv"
    conda:
        CONDA_ENV
    threads: P.get("global.threads")
    params:
        p=par(*DHPC_PROVENANCE, "global.threads", "global.device", "dhpc.n_seeds"),
    shell:
        "python -m handflow dhpc evaluate-images --renders {input.renders} --text-only {input.text_only} --corrected {input.corrected}"
        " --out {output} --log {log}"


rule dhpc_evaluate_pose:
    input:
        renders=dhpc.RENDERS,
        real=DHPC_REAL_INPUT,
        models=lambda w: dhpc.pose_row_models(w.row),
        code=code_of(f"{DHPC_CMD}:evaluate_pose"),
    output:
        "results/dhpc/eval_{row}.json",
    log:
        "logs/dhpc/evaluate_pose_{row}.log",
    benchmark:
        "logs/bench/dhpc_evaluate_pose_{row}.tsv"
    wildcard_constraints:
        row="|".join(dhpc.POSE_ROWS),
    conda:
        CONDA_ENV
    threads: P.get("global.threads")
    params:
        p=par(*DHPC_PROVENANCE, "global.threads"),
        models=lambda w, input: f"--models {input.models}" if input.models else "",
        real=lambda w, input: f"--real {input.real}" if DHPC_REAL_INPUT else "",
    shell:
        "python -m handflow dhpc evaluate-pose --row {wildcards.row} --renders {input.renders} {params.real} {params.models} --out {output}"
        " --log {log}"


rule dhpc_figure:
    input:
        text_only=dhpc.SAMPLES.format(row="text_only"),
        corrected=dhpc.SAMPLES.format(row="corrected"),
        synthetic=dhpc.SYNTHETIC,
        code=code_of(f"{DHPC_CMD}:figure"),
    output:
        report("results/figures/dhpc_samples.png", caption="../report/dhpc_samples.rst", category="Diffusion-HPC"),
    log:
        "logs/dhpc/figure.log",
    benchmark:
        "logs/bench/dhpc_figure.tsv"
    conda:
        CONDA_ENV
    threads: P.get("global.threads")
    params:
        p=par("global.threads", "dhpc.figure"),
    shell:
        "python -m handflow dhpc figure --text-only {input.text_only} --corrected {input.corrected} --synthetic {input.synthetic}"
        " --out {output} --log {log}"


rule dhpc_report:
    input:
        evals=[
            "results/dhpc/eval_images.json",
            "results/dhpc/eval_posegen.json",
            *expand("results/dhpc/eval_{row}.json", row=dhpc.POSE_ROWS),
        ],
        corrected=dhpc.SAMPLES.format(row="corrected"),
        code=code_of(f"{DHPC_CMD}:report"),
    output:
        json=dhpc.METRICS_JSON,
        table="results/tables/dhpc_table.md",
        html=report("results/tables/dhpc_table.html", caption="../report/dhpc_table.rst", category="Diffusion-HPC"),
    log:
        "logs/dhpc/report.log",
    benchmark:
        "logs/bench/dhpc_report.tsv"
    conda:
        CONDA_ENV
    threads: P.get("global.threads")
    params:
        p=par(*DHPC_PROVENANCE, "global.threads", "dhpc.n_seeds"),
    shell:
        "python -m handflow dhpc report --evals {input.evals} --corrected {input.corrected} --json {output.json}"
        " --table {output.table} --html {output.html} --log {log}"


rule dhpc:
    input:
        dhpc.TARGETS,
