"""`python -m handflow dhpc ...`: Diffusion-HPC's stages, from rendered bodies to the table."""

from __future__ import annotations

import json
from argparse import Namespace
from pathlib import Path

import numpy as np

from handflow.errors import InputError
from handflow.papers.dhpc.variants import FINETUNES, MODELS, POSE_ROWS
from handflow.stage import Arg, CommandGroup, Stage, paths

group = CommandGroup("dhpc", "Diffusion-HPC stages")
KEY = "dhpc"


def provenance(stage: Stage) -> dict[str, str]:
    """What every dhpc results file records: the data is always rendered here, of anny or the user's SMPL model."""
    smpl = stage.get(f"{KEY}.body_model")
    return {"data_source": "embedded (rendered bodies)", "scale": str(stage.get("global.scale")), "seed": str(stage.seed),
            "body_model": f"smpl ({Path(smpl).name})" if smpl else "anny"}  # fmt: skip


def select_body(stage: Stage) -> None:
    """Every stage that poses bodies poses the one params name (`dhpc.body_model`: null for anny, or an SMPL file)."""
    from handflow.papers.dhpc.body import use_smpl

    use_smpl(stage.path(stage.get(f"{KEY}.body_model")))


@group.command("data", "rendered people: web-style training images with captions, a real-style few-shot domain, a pose set",
               *paths("out"), run="dhpc_data")  # fmt: skip
def data(stage: Stage, args: Namespace) -> dict:
    from handflow.papers.dhpc.dataset import DataConfig, build

    select_body(stage)
    return build(Path(args.out), stage.section(DataConfig, f"{KEY}.data"), stage.seed, stage.get("global.render_backend"),
                 provenance(stage))  # fmt: skip


@group.command("train", "train one network of the pipeline", Arg("--model", choices=list(MODELS)), *paths("renders", "checkpoints", "out"),
               run="dhpc_train_{model}", device=True)  # fmt: skip
def train(stage: Stage, args: Namespace) -> dict:
    from handflow.papers.dhpc import train as t
    from handflow.papers.dhpc.networks import ConvConfig, PriorConfig, TextToImageConfig
    from handflow.training import fit

    renders, m = Path(args.renders), args.model
    section = f"{KEY}.{m}"
    cfg = stage.section(t.TrainConfig, f"{section}.train")
    if m in ("t2i", "depth"):
        network = stage.section(TextToImageConfig, f"{KEY}.t2i.network", depth_channel=m == "depth")
        trainer = t.DiffusionTrainer(renders, network, cfg, stage.get(f"{KEY}.t2i.p_uncond"), stage.seed)
    elif m == "hmr":
        select_body(stage)
        trainer = t.HMRTrainer(renders, stage.section(ConvConfig, f"{section}.network"), cfg, stage.section(t.HMRLoss, f"{section}.loss"),
                               stage.seed)  # fmt: skip
    elif m == "mask":
        trainer = t.MaskTrainer(renders, stage.section(ConvConfig, f"{section}.network"), cfg, stage.get(f"{section}.p_empty"), stage.seed)
    elif m == "features":
        trainer = t.FeatureTrainer(renders, stage.section(ConvConfig, f"{section}.network"), cfg, stage.seed)
    else:
        prior = stage.section(PriorConfig, f"{section}.network")
        trainer = t.PriorTrainer(renders, prior, cfg, stage.get(f"{section}.kl_weight"), stage.seed)
    out = Path(args.out)
    curve = out.with_name(f"{out.stem}_loss.tsv")
    metrics = fit(trainer, Path(args.checkpoints), out, curve, stage.on_log, stage.device)
    stage.log_artifact(curve)
    return metrics


def _nets(stage: Stage, **files: str) -> dict:
    from handflow.papers.dhpc.train import load_network

    return {kind: load_network(Path(path), kind)[0].to(stage.device) for kind, path in files.items()}


def _prompts(stage: Stage, n: int, rng: np.random.Generator) -> list[str]:
    from handflow.papers.dhpc.poses import ACTIONS, caption

    actions = stage.get(f"{KEY}.prompts.actions") or list(ACTIONS)
    for i, a in enumerate(actions):
        if a not in ACTIONS:
            raise InputError(stage.params.source_of(f"{KEY}.prompts.actions"), f"prompts.actions[{i}]", f"{a!r}: one of {list(ACTIONS)}")
    return [caption(actions[rng.integers(len(actions))], rng) for _ in range(n)]


@group.command("sample", "text-to-image samples: n_seeds draws of the evaluation prompts", *paths("t2i", "out"), run="dhpc_sample",
               device=True)  # fmt: skip
def sample(stage: Stage, args: Namespace) -> dict:
    import torch

    from handflow.papers.dhpc.generate import SampleConfig, sample_images
    from handflow.papers.dhpc.samples import to_uint8, write
    from handflow.papers.dhpc.text import tokenize

    net = _nets(stage, t2i=args.t2i)["t2i"]
    cfg = stage.section(SampleConfig, f"{KEY}.sample")
    n, n_seeds = stage.get(f"{KEY}.prompts.n"), stage.get(f"{KEY}.n_seeds")
    images, prompts, seeds = [], [], []
    for k in range(n_seeds):
        rng = np.random.default_rng([stage.seed, k])
        batch = _prompts(stage, n, rng)
        tokens = tokenize(batch, net.cfg.max_tokens, stage.params.source_of(f"{KEY}.prompts"))
        images.append(to_uint8(sample_images(net, tokens, cfg, torch.Generator().manual_seed(stage.seed * 1000 + k))))
        prompts += batch
        seeds += [k] * n
    write(Path(args.out), "samples", {"image": np.concatenate(images), "seed": np.array(seeds)}, prompts, {"provenance": provenance(stage)})
    return {"n_images": float(len(prompts))}


@group.command("correct", "the seed's pose correction of every text-to-image sample",
               *paths("samples", "mask", "hmr", "prior", "depth", "out"), run="dhpc_correct", device=True)  # fmt: skip
def correct(stage: Stage, args: Namespace) -> dict:
    import torch

    from handflow.papers.dhpc.generate import CorrectConfig, SampleConfig
    from handflow.papers.dhpc.generate import correct as run_correction
    from handflow.papers.dhpc.samples import read, to_uint8, write
    from handflow.papers.dhpc.text import tokenize
    from handflow.papers.dhpc.train import to_tensor

    select_body(stage)
    arrays, prompts, _ = read(Path(args.samples), "samples", ("seed",))
    nets = _nets(stage, mask=args.mask, hmr=args.hmr, prior=args.prior, depth=args.depth)
    tokens = tokenize(prompts, nets["depth"].cfg.max_tokens, f"{args.samples}:samples/caption")
    cfg = stage.section(CorrectConfig, f"{KEY}.correct")
    out = run_correction(to_tensor(arrays["image"]), tokens, nets, cfg, stage.section(SampleConfig, f"{KEY}.sample"),
                         torch.Generator().manual_seed(stage.seed), stage.get("global.render_backend"))  # fmt: skip
    arrays = {"image": to_uint8(out.images), "seed": arrays["seed"][out.kept], "source": out.kept, "depth": out.depth,
              "score": out.scores[out.kept].astype(np.float32)}  # fmt: skip
    attrs = {
        "provenance": provenance(stage),
        "no_person": out.no_person.tolist(),
        "filtered": out.filtered.tolist(),
        "scores": np.nan_to_num(out.scores, nan=-1.0).tolist(),
    }  # -1: no person (the seed's code)
    write(Path(args.out), "samples", arrays, [prompts[i] for i in out.kept], attrs)
    return {"n_kept": float(len(out.kept)), "n_no_person": float(len(out.no_person)), "n_filtered": float(len(out.filtered))}


@group.command("synthesize", "the seed's training set: k pose-augmented regenerations of every few-shot real frame",
               *paths("renders", "mask", "hmr", "prior", "depth", "out"), run="dhpc_synthesize", device=True)  # fmt: skip
def synthesize(stage: Stage, args: Namespace) -> dict:
    import torch

    from handflow.papers.dhpc.dataset import read_split
    from handflow.papers.dhpc.synthetic import SyntheticConfig, synthesize_set

    select_body(stage)
    guides = read_split(Path(args.renders), "real_train")
    nets = _nets(stage, mask=args.mask, hmr=args.hmr, prior=args.prior, depth=args.depth)
    return synthesize_set(guides, nets, stage.section(SyntheticConfig, f"{KEY}.synthetic"), torch.Generator().manual_seed(stage.seed),
                          stage.get("global.render_backend"), Path(args.out), provenance(stage))  # fmt: skip


@group.command("finetune", "fine-tune the regressor on few-shot real (+ synthetic) frames, once per seed",
               Arg("--mode", choices=list(FINETUNES)), Arg("--renders"), Arg("--hmr"), Arg("--synthetic", required=False, default=None),
               *paths("checkpoints", "out"), run="dhpc_finetune_{mode}", device=True)  # fmt: skip
def finetune(stage: Stage, args: Namespace) -> dict:
    from handflow.papers.dhpc.networks import ConvConfig
    from handflow.papers.dhpc.train import HMRLoss, HMRTrainer, TrainConfig
    from handflow.storage.atomic import atomic_path
    from handflow.training import fit

    if args.mode == "real_synth" and not args.synthetic:
        raise InputError("--synthetic", None, "real_synth fine-tuning needs the synthetic set")
    select_body(stage)
    cfg = stage.section(TrainConfig, f"{KEY}.finetune.train")
    network, weights = stage.section(ConvConfig, f"{KEY}.hmr.network"), stage.section(HMRLoss, f"{KEY}.hmr.loss")
    synthetic = Path(args.synthetic) if args.mode == "real_synth" else None
    metrics = {}
    with atomic_path(Path(args.out), is_dir=True) as out:
        for k in range(stage.get(f"{KEY}.n_seeds")):
            trainer = HMRTrainer(Path(args.renders), network, cfg, weights, stage.seed * 1000 + k, Path(args.hmr), "real_train", synthetic)
            run = fit(trainer, Path(args.checkpoints) / f"s{k}", out / f"s{k}.pt", out / f"s{k}_loss.tsv", stage.on_log, stage.device)
            metrics |= {f"s{k}.{key}": value for key, value in run.items()}
    return metrics


def _write_eval(stage: Stage, out: str, result: dict) -> None:
    from handflow.storage.atomic import atomic_write_text

    atomic_write_text(out, json.dumps({**provenance(stage), **result}, indent=2, allow_nan=False))


@group.command("evaluate-images", "FID/KID and H-FID/H-KID of every image row against held-out renders",
               *paths("renders", "text-only", "corrected", "features", "mask", "out"), run="dhpc_evaluate_images")  # fmt: skip
def evaluate_images(stage: Stage, args: Namespace) -> dict:
    from handflow.papers.dhpc.scoring import score_image_rows

    result = score_image_rows(Path(args.renders), {"text_only": Path(args.text_only), "corrected": Path(args.corrected)},
                              _nets(stage, features=args.features, mask=args.mask), stage.get(f"{KEY}.n_seeds"), stage.seed)  # fmt: skip
    _write_eval(stage, args.out, result)
    return {f"{row}.{k}": v for row, r in result["rows"].items() for k, v in r["mean"].items()}


@group.command("evaluate-pose", "PCK@0.1, MPJPE and PA-MPJPE of one regressor row on the real-style test frames",
               Arg("--row", choices=list(POSE_ROWS)), Arg("--renders"), Arg("--models", required=False, default=None), Arg("--out"),
               run="dhpc_evaluate_pose_{row}")  # fmt: skip
def evaluate_pose(stage: Stage, args: Namespace) -> dict:
    from handflow.papers.dhpc.scoring import score_pose_row

    files = []
    if args.row != "mean_pose":
        if not args.models:
            raise InputError("--models", None, f"the {args.row} row needs its regressor")
        models = Path(args.models)
        files = sorted(models.glob("s*.pt"), key=lambda p: int(p.stem[1:])) if models.is_dir() else [models]
        if not files:
            raise InputError(models, None, "no trained model (s<k>.pt) in this folder")
    select_body(stage)
    per_seed = score_pose_row(args.row, Path(args.renders), files)
    _write_eval(stage, args.out, {"row": args.row, "per_seed": per_seed})
    return {k: sum(s[k] for s in per_seed) / len(per_seed) for k in per_seed[0]}


@group.command("figure", "text-to-image samples, the depth of their regressed bodies, the corrections; synthetic training frames",
               *paths("text-only", "corrected", "synthetic", "out"), run="dhpc_figure")  # fmt: skip
def figure(stage: Stage, args: Namespace) -> dict:
    from handflow.papers.dhpc.report import write_figure

    n = write_figure(Path(args.out), Path(args.text_only), Path(args.corrected), Path(args.synthetic), stage.get(f"{KEY}.figure.columns"))
    stage.log_artifact(args.out)
    return {"columns": float(n)}


@group.command("report", "metrics JSON and table", Arg("--evals", nargs="+"), *paths("corrected", "json", "table", "html"),
               run="dhpc_report")  # fmt: skip
def report(stage: Stage, args: Namespace) -> dict:
    from handflow.papers.dhpc.report import build_table
    from handflow.storage.json_files import gather, read_json

    evals = [read_json(p) for p in args.evals]
    images = next((e for e in evals if "rows" in e), None)
    if images is None:
        raise InputError(args.evals[0], "rows", "no image evaluation among the inputs")
    poses = gather([p for p, e in zip(args.evals, evals, strict=True) if "row" in e], "row", list(POSE_ROWS))
    table = build_table(images, poses, Path(args.corrected), provenance(stage), stage.get(f"{KEY}.n_seeds"))
    data = table.write(Path(args.json), Path(args.table), Path(args.html))
    for p in (args.json, args.table, args.html):
        stage.log_artifact(p)
    return {f"{row}.{m}": v["mean"] for row, r in data["rows"].items() for m, v in r["metrics"].items() if v is not None}
