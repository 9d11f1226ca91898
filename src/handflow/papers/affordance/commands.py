"""`python -m handflow affordance ...`: Affordance Diffusion's stages, from the HOI4D tree to the table."""

from __future__ import annotations

from argparse import Namespace
from pathlib import Path

from handflow.errors import InputError
from handflow.papers.affordance.variants import MODELS, PROVENANCE, ROWS, SOURCE_KEYS, SPLITS, VARIANTS, source_root
from handflow.stage import Arg, CommandGroup, Stage, paths

group = CommandGroup("affordance", "Affordance Diffusion stages", PROVENANCE)
KEY = "affordance"
SPLIT = Arg("--split", choices=SPLITS)


def _root(stage: Stage, given: str) -> Path:
    stage.expect_path(given, source_root(*(stage.get(k) for k in SOURCE_KEYS)), SOURCE_KEYS[0])
    return Path(given)


def _sampling(stage: Stage) -> tuple[str, int]:
    return stage.get(f"{KEY}.sample.sampler"), stage.get(f"{KEY}.sample.steps")


@group.command("embedded", "render the embedded HOI4D tree (videos, masks, hand poses, splits)", Arg("--hand-model"), Arg("--out"))
def embedded(stage: Stage, args: Namespace) -> dict:
    from handflow.hand.model import create
    from handflow.papers.affordance.generator import EmbeddedHOI4DConfig, HOI4DGenerator

    cfg = stage.section(EmbeddedHOI4DConfig, f"{KEY}.embedded", seed=stage.seed)
    return HOI4DGenerator(create(args.hand_model, "right"), cfg, backend=stage.get("global.render_backend")).write(Path(args.out))


@group.command(
    "pairs",
    "HO3Pairs of a split: crops, inpainted object images, keep-masks, hand boxes",
    Arg("--root"),
    SPLIT,
    Arg("--out"),
    run="affordance_pairs_{split}",
)
def pairs(stage: Stage, args: Namespace) -> dict:
    from handflow.papers.affordance.pairs import InpaintConfig, build_pairs

    root = _root(stage, args.root)
    csv = root / stage.get(f"{KEY}.data.{args.split}_csv")
    cfg = stage.section(InpaintConfig, f"{KEY}.pairs.inpaint")
    return build_pairs(root, csv, Path(args.out), stage.get(f"{KEY}.pairs.size"), cfg, stage.seed, stage.provenance)


@group.command(
    "train",
    "train one network of variants.MODELS: LayoutNet (two), ContentNet (two; content.trainings times each, into a folder "
    "of s<k>.pt), the upsampler, the hand-pose network",
    Arg("--model", choices=list(MODELS)),
    *paths("data", "checkpoints", "out"),
    Arg("--curve", required=False, help="the loss curve (not for a ContentNet: its folder holds one per training)"),
    Arg("--hand-model", required=False),
    run="affordance_train_{model}",
    device=True,
)
def train(stage: Stage, args: Namespace) -> dict:
    from handflow.papers.affordance.train import trainer_for
    from handflow.training import fit, fit_seeds

    model, data = MODELS[args.model], Path(args.data)
    hand_model = Path(args.hand_model) if args.hand_model else None
    if model.family == "content":  # training 0 keeps the seed a single training always had
        trainings = stage.get(f"{KEY}.content.trainings")
        seeds = [stage.seed, *(stage.seed * 1000 + k for k in range(1, trainings))]
        make = lambda seed: trainer_for(model, data, stage, seed, hand_model)  # noqa: E731
        return fit_seeds(make, seeds, Path(args.checkpoints), Path(args.out), stage.on_log, stage.compute)
    if not args.curve:
        raise InputError("--curve", None, f"the {args.model} training writes its loss curve there")
    trainer = trainer_for(model, data, stage, stage.seed, hand_model)
    metrics = fit(trainer, Path(args.checkpoints), Path(args.out), Path(args.curve), stage.on_log, stage.compute)
    stage.log_artifact(args.curve)
    return metrics


@group.command(
    "sample",
    "sample a variant (a sampled row) n_seeds times on the held-out object images",
    Arg("--row", choices=list(VARIANTS)),
    *paths("test", "train", "out"),
    Arg("--content", help="the variant's ContentNet trainings (a folder of s<k>.pt): draw k uses training k mod their count"),
    Arg("--layout", required=False, help="the variant's LayoutNet, when it has one"),
    run="affordance_sample_{row}",
    device=True,
)
def sample(stage: Stage, args: Namespace) -> dict:
    from handflow.checkpoints import seed_model_files
    from handflow.papers.affordance.evaluate import sample_variant
    from handflow.papers.affordance.sample import SampleConfig

    v = VARIANTS[args.row]
    models: dict[str, Path | list[Path]] = {v.content: seed_model_files(args.content)}
    if v.layout in MODELS:
        if not args.layout:
            raise InputError("--layout", None, f"the {args.row} row samples its layouts from {v.layout}")
        models[v.layout] = Path(args.layout)
    cfg = stage.section(SampleConfig, f"{KEY}.sample")
    return sample_variant(
        args.row, Path(args.test), models, Path(args.train), cfg, stage.seed, Path(args.out), stage.provenance, stage.compute
    )


@group.command(
    "evaluate",
    "one row judged by networks no one here trained: FID/KID, hand presence, contact; and 3D hand contact, per seed",
    Arg("--row", choices=list(ROWS)),
    *paths("test", "handpose", "hand-model", "out"),
    Arg("--samples", nargs="*", required=False, default=[]),
    run="affordance_evaluate_{row}",
    device=True,
)
def evaluate(stage: Stage, args: Namespace) -> dict:
    from handflow.papers.affordance.evaluate import EvaluateConfig, Judges, evaluate_row

    if args.row in VARIANTS and len(args.samples) != 1:
        raise InputError("--samples", None, f"the {args.row} row needs exactly one samples file")
    samples = Path(args.samples[0]) if args.row in VARIANTS else None
    cfg, size = stage.section(EvaluateConfig, f"{KEY}.evaluate"), stage.get(f"{KEY}.content.network.image_size")
    judges = Judges.from_packages(stage.device)
    result = evaluate_row(args.row, Path(args.test), size, samples, cfg, stage.seed, Path(args.handpose), Path(args.hand_model), judges)
    stage.write_result(args.out, result)
    keys = result["per_seed"][0]
    return {k: sum(s[k] for s in result["per_seed"]) / len(result["per_seed"]) for k in keys}


@group.command(
    "edit",
    "the editing demos: layout interpolation GIF and keypoint (hijack) guidance",
    *paths("test", "layout", "content", "upsampler", "gif", "hijack"),
    run="affordance_edit",
)
def edit(stage: Stage, args: Namespace) -> dict:
    from handflow.checkpoints import seed_model_files
    from handflow.papers.affordance.edit import hijack_figure, interpolation_gif

    (sampler, steps) = _sampling(stage)
    frames, points = stage.get(f"{KEY}.edit.frames"), stage.get(f"{KEY}.edit.hijack_points")
    models = (Path(args.layout), seed_model_files(args.content)[0], Path(args.upsampler))  # ContentNet's first training
    interpolation_gif(Path(args.gif), Path(args.test), *models, frames, sampler, steps, stage.seed)
    gap = hijack_figure(Path(args.hijack), Path(args.test), *models, points, sampler, steps, stage.seed)
    for p in (args.gif, args.hijack):
        stage.log_artifact(p)
    return {"hijack_max_xy_gap": gap}


@group.command(
    "infer",
    "the seed's inference.py: layouts and HOI images for every image of a folder (or a pairs file)",
    *paths("images", "layout", "content", "upsampler", "out"),
    run="affordance_infer",
)
def infer(stage: Stage, args: Namespace) -> dict:
    from handflow.checkpoints import seed_model_files
    from handflow.papers.affordance.infer import infer as run_inference

    (sampler, steps) = _sampling(stage)
    test_num, limit = stage.get(f"{KEY}.inference.test_num"), stage.get(f"{KEY}.inference.limit")
    models = (Path(args.layout), seed_model_files(args.content)[0], Path(args.upsampler))  # ContentNet's first training
    return run_inference(Path(args.images), Path(args.out), *models, test_num, limit, sampler, steps, stage.seed)


@group.command(
    "report",
    "metrics JSON, table and figure",
    Arg("--evals", nargs="+"),
    Arg("--samples", nargs="+"),
    *paths("test", "upsampler", "handpose", "hand-model", "json", "table", "html", "figure"),
    run="affordance_report",
)
def report(stage: Stage, args: Namespace) -> dict:
    from handflow.papers.affordance.report import EVALUATION, write_report
    from handflow.papers.affordance.sample import SampleConfig
    from handflow.storage.json_files import gather

    evals = gather(args.evals, "row", list(ROWS), EVALUATION)
    samples = {Path(p).stem.removeprefix("samples_"): Path(p) for p in args.samples}
    inputs = [Path(p) for p in (args.test, args.upsampler, args.handpose, args.hand_model)]
    outputs = [Path(p) for p in (args.json, args.table, args.html, args.figure)]
    sampling, reach = stage.section(SampleConfig, f"{KEY}.sample"), stage.get(f"{KEY}.evaluate.fingertip_reach")
    table = write_report(evals, samples, *inputs, sampling, reach, stage.provenance, *outputs)
    for p in outputs:
        stage.log_artifact(p)
    return table.flat_metrics()
