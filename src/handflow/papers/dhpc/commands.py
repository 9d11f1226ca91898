"""`python -m handflow dhpc ...`: Diffusion-HPC's stages, from rendered bodies to the table.

Every stage that poses bodies builds the run's body model once (`body.load_body` on params
`dhpc.body_model`: anny, or the user's SMPL file) and passes it down; its rule declares the key.
"""

from __future__ import annotations

from argparse import Namespace
from pathlib import Path

from handflow.errors import InputError
from handflow.papers.dhpc.variants import FINETUNES, MODELS, POSE_ROWS, PROVENANCE
from handflow.stage import Arg, CommandGroup, Stage, paths

group = CommandGroup("dhpc", "Diffusion-HPC stages", PROVENANCE)
KEY = "dhpc"
REAL = Arg("--real", required=False, default=None, help="the user's real frames (dhpc_real's file); default: the real-style renders")


def _body(stage: Stage):
    from handflow.papers.dhpc.body import load_body

    return load_body(stage.path(stage.get(f"{KEY}.body_model")))


def _nets(stage: Stage, **files: str) -> dict:
    """The networks of the given model files; t2i and depth as generators: the user's Stable Diffusion pipeline where
    params `dhpc.stable_diffusion` name one (the model file is then unused), else the embedded network."""
    from handflow.papers.dhpc.generators import PipelineConfig, load_generator
    from handflow.papers.dhpc.networks import load_network

    nets = {}
    for kind, path in files.items():
        if kind in ("t2i", "depth"):
            sd = stage.section(PipelineConfig, f"{KEY}.stable_diffusion")
            size = stage.get(f"{KEY}.data.image_size")
            nets[kind] = load_generator(kind, Path(path), sd, stage.root, size, stage.compute)
        else:
            nets[kind] = load_network(Path(path), kind)[0].to(stage.device)
    return nets


@group.command(
    "data",
    "rendered people: web-style training images with captions, a real-style few-shot domain, a pose set",
    *paths("out"),
    run="dhpc_data",
)
def data(stage: Stage, args: Namespace) -> dict:
    from handflow.papers.dhpc.dataset import DataConfig, build

    cfg = stage.section(DataConfig, f"{KEY}.data")
    return build(Path(args.out), cfg, stage.seed, stage.get("global.render_backend"), _body(stage), stage.provenance)


@group.command(
    "train",
    "train one network of the pipeline (variants.MODELS)",
    Arg("--model", choices=list(MODELS)),
    *paths("renders", "checkpoints", "out"),
    run="dhpc_train_{model}",
    device=True,
)
def train(stage: Stage, args: Namespace) -> dict:
    from handflow.papers.dhpc.train import trainer_for
    from handflow.training import fit

    model = MODELS[args.model]
    trainer = trainer_for(model, Path(args.renders), stage, stage.seed, _body(stage) if model.poses_bodies else None)
    out = Path(args.out)
    curve = out.with_name(f"{out.stem}_loss.tsv")
    metrics = fit(trainer, Path(args.checkpoints), out, curve, stage.on_log, stage.compute)
    stage.log_artifact(curve)
    return metrics


@group.command(
    "sample",
    "text-to-image samples: n_seeds draws of the evaluation prompts",
    *paths("t2i", "out"),
    run="dhpc_sample",
    device=True,
)
def sample(stage: Stage, args: Namespace) -> dict:
    from handflow.papers.dhpc.generate import sample_set
    from handflow.papers.dhpc.generators import SampleConfig
    from handflow.papers.dhpc.poses import ACTIONS

    net = _nets(stage, t2i=args.t2i)["t2i"]
    cfg = stage.section(SampleConfig, f"{KEY}.sample")
    n, n_seeds = stage.get(f"{KEY}.prompts.n"), stage.get(f"{KEY}.n_seeds")
    actions = stage.get(f"{KEY}.prompts.actions") or list(ACTIONS)
    for i, a in enumerate(actions):
        if a not in ACTIONS:
            raise InputError(stage.source_of(f"{KEY}.prompts.actions"), f"prompts.actions[{i}]", f"{a!r}: one of {list(ACTIONS)}")
    source = str(stage.source_of(f"{KEY}.prompts"))
    return sample_set(net, actions, n, n_seeds, cfg, stage.seed, source, Path(args.out), stage.provenance)


@group.command(
    "correct",
    "the seed's pose correction of every text-to-image sample",
    *paths("samples", "mask", "hmr", "prior", "depth", "out"),
    run="dhpc_correct",
    device=True,
)
def correct(stage: Stage, args: Namespace) -> dict:
    from handflow.papers.dhpc.generate import CorrectConfig, correct_set
    from handflow.papers.dhpc.generators import SampleConfig

    body = _body(stage)
    nets = _nets(stage, mask=args.mask, hmr=args.hmr, prior=args.prior, depth=args.depth)
    cfg, sampling = stage.section(CorrectConfig, f"{KEY}.correct"), stage.section(SampleConfig, f"{KEY}.sample")
    backend = stage.get("global.render_backend")
    return correct_set(Path(args.samples), nets, cfg, sampling, stage.seed, backend, body, Path(args.out), stage.provenance)


@group.command(
    "generate",
    "the seed's api.py: text-to-image samples of one prompt and their pose corrections, with bodies and scores, into a folder",
    Arg("--prompt"),
    Arg("--n", type=int, default=4, required=False),
    Arg("--save-mesh", action="store_true", required=False, help="also write each corrected sample's body as an OBJ mesh"),
    *(Arg(f"--{m}", default=f"models/dhpc/{m}.pt", required=False) for m in ("t2i", "mask", "hmr", "prior", "depth")),
    Arg("--out"),
    run="dhpc_generate",
    device=True,
)
def generate(stage: Stage, args: Namespace) -> dict:
    from handflow.papers.dhpc.generate import CorrectConfig
    from handflow.papers.dhpc.generate import generate as run_generate
    from handflow.papers.dhpc.generators import SampleConfig

    if args.n < 1:
        raise InputError("--n", None, f"{args.n}: at least one image")
    body = _body(stage)
    nets = _nets(stage, **{m: getattr(args, m) for m in ("t2i", "mask", "hmr", "prior", "depth")})
    cfg, sampling = stage.section(CorrectConfig, f"{KEY}.correct"), stage.section(SampleConfig, f"{KEY}.sample")
    backend = stage.get("global.render_backend")
    out = Path(args.out)
    return run_generate(args.prompt, args.n, nets, sampling, cfg, stage.seed, backend, body, out, args.save_mesh, stage.provenance)


@group.command(
    "real",
    "the user's real few-shot and test frames from COCO keypoints files (dhpc.real), in the renders' split format",
    Arg("--out"),
    run="dhpc_real",
)
def real(stage: Stage, args: Namespace) -> dict:
    from handflow.papers.dhpc.coco import RealConfig, build_real

    cfg = stage.section(RealConfig, f"{KEY}.real")
    size = stage.get(f"{KEY}.data.image_size")
    return build_real(cfg, stage.root, size, stage.seed, Path(args.out), stage.provenance)


@group.command(
    "synthesize",
    "the seed's training set: k pose-augmented regenerations of every few-shot real frame",
    *paths("renders", "mask", "hmr", "prior", "depth", "out"),
    REAL,
    run="dhpc_synthesize",
    device=True,
)
def synthesize(stage: Stage, args: Namespace) -> dict:
    import torch

    from handflow.papers.dhpc.dataset import read_split
    from handflow.papers.dhpc.synthetic import SyntheticConfig, synthesize_set

    body = _body(stage)
    guides = read_split(Path(args.real or args.renders), "real_train")
    nets = _nets(stage, mask=args.mask, hmr=args.hmr, prior=args.prior, depth=args.depth)
    cfg = stage.section(SyntheticConfig, f"{KEY}.synthetic")
    g = torch.Generator().manual_seed(stage.seed)
    return synthesize_set(guides, nets, cfg, g, stage.get("global.render_backend"), body, Path(args.out), stage.provenance)


@group.command(
    "posegen",
    "the paper's pose-conditioned generation: depth of real frames' bodies, with the real frame and text, either, n_seeds draws",
    *paths("renders", "hmr", "depth", "out"),
    REAL,
    run="dhpc_posegen",
    device=True,
)
def posegen(stage: Stage, args: Namespace) -> dict:
    from handflow.papers.dhpc.generators import SampleConfig
    from handflow.papers.dhpc.posegen import PosegenConfig, generate_posegen

    body = _body(stage)
    nets = _nets(stage, hmr=args.hmr, depth=args.depth)
    cfg, sampling = stage.section(PosegenConfig, f"{KEY}.posegen"), stage.section(SampleConfig, f"{KEY}.sample")
    n_seeds, backend = stage.get(f"{KEY}.n_seeds"), stage.get("global.render_backend")
    real = Path(args.real or args.renders)
    return generate_posegen(real, nets, cfg, sampling, n_seeds, stage.seed, backend, body, Path(args.out), stage.provenance)


@group.command(
    "finetune",
    "fine-tune the regressor on few-shot real (+ synthetic) frames, once per seed",
    Arg("--mode", choices=list(FINETUNES)),
    Arg("--renders"),
    Arg("--hmr"),
    Arg("--synthetic", required=False, default=None),
    *paths("checkpoints", "out"),
    REAL,
    run="dhpc_finetune_{mode}",
    device=True,
)
def finetune(stage: Stage, args: Namespace) -> dict:
    from handflow.papers.dhpc.networks import ConvConfig
    from handflow.papers.dhpc.train import HMRLoss, HMRTrainer
    from handflow.training import TrainSection, fit_seeds

    if args.mode == "real_synth" and not args.synthetic:
        raise InputError("--synthetic", None, "real_synth fine-tuning needs the synthetic set")
    body = _body(stage)
    cfg = stage.section(TrainSection, f"{KEY}.finetune.train")
    network, weights = stage.section(ConvConfig, f"{KEY}.hmr.network"), stage.section(HMRLoss, f"{KEY}.hmr.loss")
    synthetic = Path(args.synthetic) if args.mode == "real_synth" else None
    seeds = [stage.seed * 1000 + k for k in range(stage.get(f"{KEY}.n_seeds"))]
    real = Path(args.real or args.renders)  # the few-shot frames: the user's (dhpc.real) or the real-style renders
    return fit_seeds(
        lambda seed: HMRTrainer(real, network, cfg, weights, seed, body, Path(args.hmr), "real_train", synthetic),
        seeds,
        Path(args.checkpoints),
        Path(args.out),
        stage.on_log,
        stage.compute,
    )


@group.command(
    "evaluate-images",
    "every image row judged by networks no one here trained: FID/KID, H-FID/H-KID, person found, pose agreement",
    *paths("renders", "text-only", "corrected", "out"),
    run="dhpc_evaluate_images",
)
def evaluate_images(stage: Stage, args: Namespace) -> dict:
    from handflow.papers.dhpc.judging import Judges
    from handflow.papers.dhpc.scoring import score_image_rows

    generated = {"text_only": Path(args.text_only), "corrected": Path(args.corrected)}
    judges = Judges.from_packages(stage.device)
    result = score_image_rows(Path(args.renders), generated, judges, stage.get(f"{KEY}.n_seeds"), stage.seed)
    stage.write_result(args.out, result)
    return {f"{row}.{k}": v for row, r in result["rows"].items() for k, v in r["mean"].items()}


@group.command(
    "evaluate-posegen",
    "the pose-conditioned rows against held-out real frames: FID/KID, H-FID/H-KID, person found, pose agreement",
    *paths("renders", "posegen", "out"),
    REAL,
    run="dhpc_evaluate_posegen",
)
def evaluate_posegen(stage: Stage, args: Namespace) -> dict:
    from handflow.papers.dhpc.judging import Judges
    from handflow.papers.dhpc.scoring import score_posegen_rows

    judges = Judges.from_packages(stage.device)
    real = Path(args.real or args.renders)
    result = score_posegen_rows(real, Path(args.posegen), judges, stage.get(f"{KEY}.n_seeds"), stage.seed)
    stage.write_result(args.out, {"posegen": result})
    return {f"{row}.{k}": v for row, r in result["rows"].items() for k, v in r["mean"].items()}


@group.command(
    "evaluate-pose",
    "PCK@0.1, MPJPE and PA-MPJPE of one regressor row on the real-style test frames",
    Arg("--row", choices=list(POSE_ROWS)),
    Arg("--renders"),
    Arg("--models", required=False, default=None),
    Arg("--out"),
    REAL,
    run="dhpc_evaluate_pose_{row}",
)
def evaluate_pose(stage: Stage, args: Namespace) -> dict:
    from handflow.checkpoints import seed_model_files
    from handflow.papers.dhpc.scoring import score_pose_row

    files = []
    if args.row != "mean_pose":
        if not args.models:
            raise InputError("--models", None, f"the {args.row} row needs its regressor")
        files = seed_model_files(args.models)
    per_seed = score_pose_row(args.row, Path(args.renders), files, _body(stage), Path(args.real) if args.real else None)
    frames = "the real-style renders"
    if args.real:
        from handflow.storage.hdf5_files import attribute, open_hdf5

        with open_hdf5(args.real) as f:
            frames = f"the user's real frames (COCO keypoints, {attribute(f.get('real_test', f), args.real, 'source', args.real)})"
    stage.write_result(args.out, {"row": args.row, "per_seed": per_seed, "frames": frames})
    return {k: sum(s[k] for s in per_seed) / len(per_seed) for k in per_seed[0]}


@group.command(
    "figure",
    "text-to-image samples, the depth of their regressed bodies, the corrections; synthetic training frames",
    *paths("text-only", "corrected", "synthetic", "out"),
    run="dhpc_figure",
)
def figure(stage: Stage, args: Namespace) -> dict:
    from handflow.papers.dhpc.report import write_figure

    n = write_figure(Path(args.out), Path(args.text_only), Path(args.corrected), Path(args.synthetic), stage.get(f"{KEY}.figure.columns"))
    stage.log_artifact(args.out)
    return {"columns": float(n)}


@group.command(
    "report", "metrics JSON and table", Arg("--evals", nargs="+"), *paths("corrected", "json", "table", "html"), run="dhpc_report"
)
def report(stage: Stage, args: Namespace) -> dict:
    from handflow.papers.dhpc.report import build_table, read_evaluations

    images, poses, posegen = read_evaluations([Path(p) for p in args.evals])
    table = build_table(images, poses, posegen, Path(args.corrected), stage.provenance, stage.get(f"{KEY}.n_seeds"))
    table.write(Path(args.json), Path(args.table), Path(args.html))
    for p in (args.json, args.table, args.html):
        stage.log_artifact(p)
    return table.flat_metrics()
