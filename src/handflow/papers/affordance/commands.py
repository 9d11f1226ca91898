"""`python -m handflow affordance ...`: Affordance Diffusion's stages, from the HOI4D tree to the table."""

from __future__ import annotations

import json
from argparse import Namespace
from pathlib import Path

from handflow.errors import InputError
from handflow.papers.affordance.variants import (
    CONTENT_MODELS,
    LAYOUT_MODELS,
    MODELS,
    PROVENANCE_KEYS,
    REFERENCES,
    ROWS,
    SOURCE_KEYS,
    SPLITS,
    VARIANTS,
    source_root,
)
from handflow.stage import Arg, CommandGroup, Stage, paths

group = CommandGroup("affordance", "Affordance Diffusion stages")
KEY = "affordance"
SPLIT = Arg("--split", choices=SPLITS)


def provenance(stage: Stage) -> dict[str, str]:
    """Source of the HOI4D tree, scale, seed, hand model: what every results file of this paper records."""
    return {key.rpartition(".")[2] if key != PROVENANCE_KEYS[0] else "data_source": str(stage.get(key)) for key in PROVENANCE_KEYS}


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


@group.command("pairs", "HO3Pairs of a split: crops, inpainted object images, keep-masks, hand boxes", Arg("--root"), SPLIT,
               Arg("--out"), run="affordance_pairs_{split}")  # fmt: skip
def pairs(stage: Stage, args: Namespace) -> dict:
    from handflow.papers.affordance.pairs import InpaintConfig, build_pairs

    root = _root(stage, args.root)
    csv = root / stage.get(f"{KEY}.data.{args.split}_csv")
    cfg = stage.section(InpaintConfig, f"{KEY}.pairs.inpaint")
    return build_pairs(root, csv, Path(args.out), stage.get(f"{KEY}.pairs.size"), cfg, stage.seed, provenance(stage))


@group.command("frames", "every embedded frame's crop with its contact state (the contact classifier's data)", Arg("--root"), SPLIT,
               Arg("--out"), torch_threads=False)  # fmt: skip
def frames(stage: Stage, args: Namespace) -> dict:
    from handflow.papers.affordance.pairs import build_frames

    root = Path(args.root)
    return build_frames(root, root / "Sets" / f"{args.split}_frames.csv", Path(args.out), stage.get(f"{KEY}.pairs.size"), provenance(stage))


@group.command("train", "train one network: LayoutNet (two), ContentNet (two), the upsampler, the evaluator",
               Arg("--model", choices=MODELS), *paths("data", "checkpoints", "out", "curve"), Arg("--hand-model", required=False),
               run="affordance_train_{model}",
               device=True)  # fmt: skip
def train(stage: Stage, args: Namespace) -> dict:
    import h5py

    from handflow.papers.affordance import networks as nets
    from handflow.papers.affordance import train as tr
    from handflow.training import fit

    data, m = Path(args.data), args.model
    if m in LAYOUT_MODELS:
        network = stage.section(nets.LayoutNetConfig, f"{KEY}.layout.network")
        if network.image_size != stage.get(f"{KEY}.content.network.image_size"):
            raise InputError(stage.params.source_of(f"{KEY}.layout"), "layout.network.image_size", "must equal content.network.image_size")
        trainer = tr.LayoutTrainer(data, network, stage.section(tr.TrainConfig, f"{KEY}.layout.train"), LAYOUT_MODELS[m], stage.seed)
    elif m in CONTENT_MODELS:
        vae = stage.get(f"{KEY}.content.vae")
        latent = {}
        if vae:  # the LDM variant: the network's input and output sizes come from the user's autoencoder
            codec = nets.LatentCodec(Path(vae))
            latent = {"latent_channels": codec.channels, "latent_factor": codec.factor}
        network = stage.section(nets.ContentNetConfig, f"{KEY}.content.network", **latent)
        trainer = tr.ContentTrainer(data, network, stage.section(tr.TrainConfig, f"{KEY}.content.train"), CONTENT_MODELS[m], stage.seed,
                                    Path(vae) if vae else None)  # fmt: skip
    elif m == "upsampler":
        network = stage.section(nets.UpsamplerConfig, f"{KEY}.upsampler.network")
        small = stage.get(f"{KEY}.content.network.image_size")
        trainer = tr.UpsamplerTrainer(data, network, small, stage.section(tr.TrainConfig, f"{KEY}.upsampler.train"), stage.seed)
    elif m == "handpose":
        from handflow.papers.affordance.handpose import HandPoseConfig, HandPoseTrainer

        if not args.hand_model:
            raise InputError("--hand-model", None, "the hand-pose network needs the prepared hand model folder")
        network = stage.section(HandPoseConfig, f"{KEY}.handpose.network")
        trainer = HandPoseTrainer(data, Path(args.hand_model), network, stage.section(tr.TrainConfig, f"{KEY}.handpose.train"), stage.seed)
    else:
        with h5py.File(data, "r") as h5:
            n_categories = len(json.loads(h5.attrs["categories"]))
        network = stage.section(nets.EvaluatorConfig, f"{KEY}.evaluator.network", n_categories=n_categories)
        trainer = tr.EvaluatorTrainer(data, network, stage.section(tr.TrainConfig, f"{KEY}.evaluator.train"), stage.seed)
    metrics = fit(trainer, Path(args.checkpoints), Path(args.out), Path(args.curve), stage.on_log, stage.device)
    stage.log_artifact(args.curve)
    return metrics


@group.command("sample", "sample a variant n_seeds times on the held-out object images", Arg("--variant", choices=list(VARIANTS)),
               *paths("test", "train", "layout", "layout-nomask", "content", "content-nolayout", "out"),
               run="affordance_sample_{variant}", device=True)  # fmt: skip
def sample(stage: Stage, args: Namespace) -> dict:
    from handflow.papers.affordance.evaluate import sample_variant

    s = stage.get(f"{KEY}.sample")
    models = {"layout": Path(args.layout), "layout_nomask": Path(args.layout_nomask), "content": Path(args.content),
              "content_nolayout": Path(args.content_nolayout)}  # fmt: skip
    return sample_variant(args.variant, Path(args.test), models, Path(args.train), s["n_seeds"], s["sampler"], s["steps"],
                          s["batch_size"], stage.seed, Path(args.out), provenance(stage), stage.device)  # fmt: skip


@group.command("evaluate", "FID, KID, contact recall and 3D hand contact of one row, per seed", Arg("--row", choices=list(ROWS)),
               *paths("test", "evaluator", "handpose", "hand-model", "out"), Arg("--samples", nargs="*", required=False, default=[]),
               run="affordance_evaluate_{row}")  # fmt: skip
def evaluate(stage: Stage, args: Namespace) -> dict:
    from handflow.papers.affordance.evaluate import evaluate_row
    from handflow.storage.atomic import atomic_write_text

    if args.row in VARIANTS and len(args.samples) != 1:
        raise InputError("--samples", None, f"the {args.row} row needs exactly one samples file")
    samples = Path(args.samples[0]) if args.row in VARIANTS else None
    e = stage.get(f"{KEY}.evaluate")
    result = evaluate_row(args.row, Path(args.test), Path(args.evaluator), samples, e["kid_subsets"], stage.seed, Path(args.handpose),
                          Path(args.hand_model), e["contact_mm"])  # fmt: skip
    atomic_write_text(args.out, json.dumps({**provenance(stage), **result}, indent=2, allow_nan=False))
    keys = result["per_seed"][0]
    return {k: sum(s[k] for s in result["per_seed"]) / len(result["per_seed"]) for k in keys}


@group.command("edit", "the editing demos: layout interpolation GIF and keypoint (hijack) guidance",
               *paths("test", "layout", "content", "upsampler", "gif", "hijack"), run="affordance_edit")  # fmt: skip
def edit(stage: Stage, args: Namespace) -> dict:
    from handflow.papers.affordance.edit import hijack_figure, interpolation_gif

    e, (sampler, steps) = stage.get(f"{KEY}.edit"), _sampling(stage)
    models = (Path(args.layout), Path(args.content), Path(args.upsampler))
    interpolation_gif(Path(args.gif), Path(args.test), *models, e["frames"], sampler, steps, stage.seed)
    gap = hijack_figure(Path(args.hijack), Path(args.test), *models, e["hijack_points"], sampler, steps, stage.seed)
    for p in (args.gif, args.hijack):
        stage.log_artifact(p)
    return {"hijack_max_xy_gap": gap}


@group.command("infer", "the seed's inference.py: layouts and HOI images for every image of a folder (or a pairs file)",
               *paths("images", "layout", "content", "upsampler", "out"), run="affordance_infer")  # fmt: skip
def infer(stage: Stage, args: Namespace) -> dict:
    from handflow.papers.affordance.infer import infer as run_inference

    i, (sampler, steps) = stage.get(f"{KEY}.inference"), _sampling(stage)
    return run_inference(Path(args.images), Path(args.out), Path(args.layout), Path(args.content), Path(args.upsampler), i["test_num"],
                         i["limit"], sampler, steps, stage.seed)  # fmt: skip


@group.command("report", "metrics JSON, table and figure", Arg("--evals", nargs="+"), Arg("--samples", nargs="+"),
               *paths("test", "evaluator", "frames", "upsampler", "handpose", "hand-model", "json", "table", "html", "figure"),
               run="affordance_report")  # fmt: skip
def report(stage: Stage, args: Namespace) -> dict:
    from handflow.papers.affordance.evaluate import evaluator_checks
    from handflow.papers.affordance.report import build_table, pairs_notes, write_figure
    from handflow.papers.affordance.train import load_network
    from handflow.storage.json_files import gather

    evals = gather(args.evals, "row", list(ROWS))
    samples = {Path(p).stem.removeprefix("samples_"): Path(p) for p in args.samples}
    evaluator, ckpt = load_network(Path(args.evaluator), "evaluator")
    checks = evaluator_checks(evaluator, Path(args.frames), ckpt["config"]["image_size"])
    extra, notes = pairs_notes(Path(args.test))
    from handflow.papers.affordance.handpose import held_out_accuracy

    net, hp_ckpt = load_network(Path(args.handpose), "handpose")
    hand_pose = held_out_accuracy(net, hp_ckpt, Path(args.test), Path(args.hand_model))
    notes.append(
        f"Hand-pose network (FrankMocap's role; joints, not a MANO fit) on held-out real crops: wrist-relative MPJPE "
        f"{hand_pose['mpjpe_mm']:.1f} mm vs {hand_pose['mean_pose_mpjpe_mm']:.1f} mm for the training mean pose; 2D joints "
        f"{hand_pose['kps_error_pct']:.1f} % of the crop vs {hand_pose['mean_kps_error_pct']:.1f} %. The figure overlays its "
        "joints on the synthesised hands."
    )
    notes.append(
        f"Evaluator (contact state and category, trained on the embedded training frames) on held-out frames: contact-state "
        f"accuracy {checks['contact_accuracy']:.3f} vs {checks['contact_majority_baseline']:.3f} for the majority class; "
        f"category accuracy {checks['category_accuracy']:.3f}."
    )
    s = stage.get(f"{KEY}.sample")
    extra = {**extra, "evaluator": checks, "sampler": s["sampler"], "sampling_steps": s["steps"], "n_seeds": s["n_seeds"],
             "references": REFERENCES, "hand_pose": hand_pose}  # fmt: skip
    table = build_table(evals, provenance(stage), extra, notes)
    data = table.write(Path(args.json), Path(args.table), Path(args.html))
    write_figure(Path(args.figure), Path(args.test), samples, Path(args.upsampler), net)
    for p in (args.json, args.table, args.html, args.figure):
        stage.log_artifact(p)
    return {f"{row}.{m}": v["mean"] for row, r in data["rows"].items() for m, v in r["metrics"].items() if v is not None}
