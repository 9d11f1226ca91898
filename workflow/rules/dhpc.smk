# Diffusion-HPC (arXiv 2303.09541): anny renders -> six networks -> text-only samples -> pose correction -> FID/KID,
# H-FID/H-KID; real-guided synthetic set -> regressor fine-tuning -> PCK, MPJPE, PA-MPJPE -> table and figure.
# Commands in src/handflow/papers/dhpc/commands.py.
import handflow.papers.dhpc.variants as dhpc

DHPC_CMD = "handflow.papers.dhpc.commands"


def dhpc_train_params(wildcards):
    m = wildcards.model
    sections = ("dhpc.t2i", "dhpc.depth.train") if m == "depth" else ("dhpc.t2i",) if m == "t2i" else (f"dhpc.{m}",)
    if m == "hmr":  # its loss poses bodies
        sections += ("dhpc.body_model",)
    return par("global.seed", "global.threads", "global.device", *sections)


rule dhpc_data:
    input:
        code=code_of(f"{DHPC_CMD}:data"),
    output:
        dhpc.RENDERS,
    params:
        p=par(*dhpc.PROVENANCE_KEYS, "global.threads", "global.render_backend", "dhpc.data"),
    log:
        "logs/dhpc/data.log",
    benchmark:
        "logs/bench/dhpc_data.tsv"
    shell:
        "python -m handflow dhpc data --out {output} --log {log}"


rule dhpc_train:
    input:
        renders=dhpc.RENDERS,
        code=code_of(f"{DHPC_CMD}:train"),
    output:
        model="models/dhpc/{model}.pt",
        curve="models/dhpc/{model}_loss.tsv",
    wildcard_constraints:
        model="|".join(dhpc.MODELS),
    params:
        p=dhpc_train_params,
        checkpoints="checkpoints/dhpc/{model}",
    threads: P.get("global.threads")
    resources:
        gpu=1,
    log:
        "logs/dhpc/train_{model}.log",
    benchmark:
        "logs/bench/dhpc_train_{model}.tsv"
    shell:
        "python -m handflow dhpc train --model {wildcards.model} --renders {input.renders} --checkpoints {params.checkpoints}"
        " --out {output.model} --log {log}"


rule dhpc_sample:
    input:
        t2i="models/dhpc/t2i.pt",
        code=code_of(f"{DHPC_CMD}:sample"),
    output:
        dhpc.SAMPLES.format(row="text_only"),
    params:
        p=par(*dhpc.PROVENANCE_KEYS, "global.threads", "global.device", "dhpc.sample", "dhpc.prompts", "dhpc.n_seeds"),
    threads: P.get("global.threads")
    resources:
        gpu=1,
    log:
        "logs/dhpc/sample.log",
    benchmark:
        "logs/bench/dhpc_sample.tsv"
    shell:
        "python -m handflow dhpc sample --t2i {input.t2i} --out {output} --log {log}"


rule dhpc_correct:
    input:
        samples=dhpc.SAMPLES.format(row="text_only"),
        nets=expand("models/dhpc/{model}.pt", model=("mask", "hmr", "prior", "depth")),
        code=code_of(f"{DHPC_CMD}:correct"),
    output:
        dhpc.SAMPLES.format(row="corrected"),
    params:
        p=par(*dhpc.PROVENANCE_KEYS, "global.threads", "global.device", "global.render_backend", "dhpc.sample", "dhpc.correct"),
    threads: P.get("global.threads")
    resources:
        gpu=1,
    log:
        "logs/dhpc/correct.log",
    benchmark:
        "logs/bench/dhpc_correct.tsv"
    shell:
        "python -m handflow dhpc correct --samples {input.samples} --mask {input.nets[0]} --hmr {input.nets[1]} --prior {input.nets[2]}"
        " --depth {input.nets[3]} --out {output} --log {log}"


rule dhpc_synthesize:
    input:
        renders=dhpc.RENDERS,
        nets=expand("models/dhpc/{model}.pt", model=("mask", "hmr", "prior", "depth")),
        code=code_of(f"{DHPC_CMD}:synthesize"),
    output:
        dhpc.SYNTHETIC,
    params:
        p=par(*dhpc.PROVENANCE_KEYS, "global.threads", "global.device", "global.render_backend", "dhpc.synthetic"),
    threads: P.get("global.threads")
    resources:
        gpu=1,
    log:
        "logs/dhpc/synthesize.log",
    benchmark:
        "logs/bench/dhpc_synthesize.tsv"
    shell:
        "python -m handflow dhpc synthesize --renders {input.renders} --mask {input.nets[0]} --hmr {input.nets[1]}"
        " --prior {input.nets[2]} --depth {input.nets[3]} --out {output} --log {log}"


def dhpc_synthetic(wildcards):
    return [dhpc.SYNTHETIC] if wildcards.mode == "real_synth" else []


def dhpc_synthetic_flag(wildcards, input):
    return f"--synthetic {input.synthetic}" if wildcards.mode == "real_synth" else ""


rule dhpc_finetune:
    input:
        renders=dhpc.RENDERS,
        hmr="models/dhpc/hmr.pt",
        synthetic=dhpc_synthetic,
        code=code_of(f"{DHPC_CMD}:finetune"),
    output:
        directory("models/dhpc/finetune_{mode}"),
    wildcard_constraints:
        mode="|".join(dhpc.FINETUNES),
    params:
        p=par("global.seed", "global.threads", "global.device", "dhpc.body_model", "dhpc.hmr.network", "dhpc.hmr.loss", "dhpc.finetune",
              "dhpc.n_seeds"),
        synthetic=dhpc_synthetic_flag,
        checkpoints="checkpoints/dhpc/finetune_{mode}",
    threads: P.get("global.threads")
    resources:
        gpu=1,
    log:
        "logs/dhpc/finetune_{mode}.log",
    benchmark:
        "logs/bench/dhpc_finetune_{mode}.tsv"
    shell:
        "python -m handflow dhpc finetune --mode {wildcards.mode} --renders {input.renders} --hmr {input.hmr} {params.synthetic}"
        " --checkpoints {params.checkpoints} --out {output} --log {log}"


rule dhpc_evaluate_images:
    input:
        renders=dhpc.RENDERS,
        text_only=dhpc.SAMPLES.format(row="text_only"),
        corrected=dhpc.SAMPLES.format(row="corrected"),
        features="models/dhpc/features.pt",
        mask="models/dhpc/mask.pt",
        code=code_of(f"{DHPC_CMD}:evaluate_images"),
    output:
        "results/dhpc/eval_images.json",
    params:
        p=par(*dhpc.PROVENANCE_KEYS, "global.threads", "global.device", "dhpc.n_seeds"),
    threads: P.get("global.threads")
    log:
        "logs/dhpc/evaluate_images.log",
    benchmark:
        "logs/bench/dhpc_evaluate_images.tsv"
    shell:
        "python -m handflow dhpc evaluate-images --renders {input.renders} --text-only {input.text_only} --corrected {input.corrected}"
        " --features {input.features} --mask {input.mask} --out {output} --log {log}"


def dhpc_pose_models(wildcards):
    """The regressor(s) a pose row scores: none for the mean pose, the pretrained one, or a fine-tuning's folder of seeds."""
    return {"mean_pose": [], "pretrained": ["models/dhpc/hmr.pt"]}.get(wildcards.row, [f"models/dhpc/finetune_{wildcards.row}"])


def dhpc_pose_models_flag(wildcards, input):
    return f"--models {input.models}" if input.models else ""


rule dhpc_evaluate_pose:
    input:
        renders=dhpc.RENDERS,
        models=dhpc_pose_models,
        code=code_of(f"{DHPC_CMD}:evaluate_pose"),
    output:
        "results/dhpc/eval_{row}.json",
    wildcard_constraints:
        row="|".join(dhpc.POSE_ROWS),
    params:
        p=par(*dhpc.PROVENANCE_KEYS, "global.threads"),
        models=dhpc_pose_models_flag,
    threads: P.get("global.threads")
    log:
        "logs/dhpc/evaluate_pose_{row}.log",
    benchmark:
        "logs/bench/dhpc_evaluate_pose_{row}.tsv"
    shell:
        "python -m handflow dhpc evaluate-pose --row {wildcards.row} --renders {input.renders} {params.models} --out {output}"
        " --log {log}"


rule dhpc_figure:
    input:
        text_only=dhpc.SAMPLES.format(row="text_only"),
        corrected=dhpc.SAMPLES.format(row="corrected"),
        synthetic=dhpc.SYNTHETIC,
        code=code_of(f"{DHPC_CMD}:figure"),
    output:
        report("results/figures/dhpc_samples.png", caption="../report/dhpc_samples.rst", category="Diffusion-HPC"),
    params:
        p=par("global.threads", "dhpc.figure"),
    log:
        "logs/dhpc/figure.log",
    benchmark:
        "logs/bench/dhpc_figure.tsv"
    shell:
        "python -m handflow dhpc figure --text-only {input.text_only} --corrected {input.corrected} --synthetic {input.synthetic}"
        " --out {output} --log {log}"


rule dhpc_report:
    input:
        evals=["results/dhpc/eval_images.json", *expand("results/dhpc/eval_{row}.json", row=dhpc.POSE_ROWS)],
        corrected=dhpc.SAMPLES.format(row="corrected"),
        code=code_of(f"{DHPC_CMD}:report"),
    output:
        json=dhpc.METRICS_JSON,
        table="results/tables/dhpc_table.md",
        html=report("results/tables/dhpc_table.html", caption="../report/dhpc_table.rst", category="Diffusion-HPC"),
    params:
        p=par(*dhpc.PROVENANCE_KEYS, "global.threads", "dhpc.n_seeds"),
    log:
        "logs/dhpc/report.log",
    benchmark:
        "logs/bench/dhpc_report.tsv"
    shell:
        "python -m handflow dhpc report --evals {input.evals} --corrected {input.corrected} --json {output.json}"
        " --table {output.table} --html {output.html} --log {log}"


rule dhpc:
    input:
        dhpc.TARGETS,
