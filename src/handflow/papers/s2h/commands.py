"""`python -m handflow s2h ...`: Semantics2Hands' stages, from characters and InterHand2.6M fits to the table."""

from __future__ import annotations

import json
from argparse import Namespace
from pathlib import Path

from handflow.errors import InputError
from handflow.papers.s2h.variants import BASELINES, MODELS, ROWS
from handflow.stage import Arg, CommandGroup, Stage, paths

group = CommandGroup("s2h", "Semantics2Hands stages")
KEY = "s2h"


@group.command("tree", "the MixHand tree: anny Mixamo characters and MANO subjects with their BVH motions",
               *paths("hand-model", "interhand-train", "interhand-val", "interhand-test", "out"), run="s2h_tree")  # fmt: skip
def tree(stage: Stage, args: Namespace) -> dict:
    from handflow.papers.s2h.characters import CharacterSpec
    from handflow.papers.s2h.dataset import MotionConfig, build_tree

    specs = tuple(CharacterSpec.from_dict(c, stage.params.source_of(f"{KEY}.characters"), f"characters[{i}]")
                  for i, c in enumerate(stage.get(f"{KEY}.characters")))  # fmt: skip
    interhand = {s: Path(getattr(args, f"interhand_{s}")) for s in ("train", "val", "test")}
    return build_tree(Path(args.out), specs, stage.section(MotionConfig, f"{KEY}.motions"), Path(args.hand_model), interhand, stage.seed)


@group.command("pack", "every BVH of the tree read back into bs-rotations per motion (HDF5)", *paths("tree", "hand-model", "out"),
               run="s2h_pack")  # fmt: skip
def pack(stage: Stage, args: Namespace) -> dict:
    from handflow.papers.s2h.dataset import pack as pack_tree

    return pack_tree(Path(args.tree), Path(args.out), Path(args.hand_model))


@group.command("train", "train ASRN or DM, once per training seed (the table's ± is over these)", Arg("--model", choices=list(MODELS)),
               *paths("data", "checkpoints", "out"), run="s2h_train_{model}", device=True)  # fmt: skip
def train(stage: Stage, args: Namespace) -> dict:
    """`out` is a folder of `s<k>.pt` and `s<k>_loss.tsv`: the number of seeds is a param, the DAG's shape is not."""
    from handflow.papers.s2h.networks import DecoderConfig
    from handflow.papers.s2h.train import RetargetTrainer, TrainConfig
    from handflow.storage.atomic import atomic_path
    from handflow.training import fit

    network, cfg = stage.section(DecoderConfig, f"{KEY}.network"), stage.section(TrainConfig, f"{KEY}.train")
    metrics = {}
    with atomic_path(Path(args.out), is_dir=True) as out:
        for k in range(stage.get(f"{KEY}.n_seeds")):
            trainer = RetargetTrainer(args.model, Path(args.data), network, cfg, stage.seed * 1000 + k)
            run = fit(trainer, Path(args.checkpoints) / f"s{k}", out / f"s{k}.pt", out / f"s{k}_loss.tsv", stage.on_log, stage.device)
            metrics |= {f"s{k}.{key}": value for key, value in run.items()}
    for k in range(stage.get(f"{KEY}.n_seeds")):
        stage.log_artifact(Path(args.out) / f"s{k}_loss.tsv")
    return metrics


def _model_files(folder: str) -> list[Path]:
    files = sorted(Path(folder).glob("s*.pt"), key=lambda p: int(p.stem[1:]))
    if not files:
        raise InputError(folder, None, "no trained model (s<k>.pt) in this folder")
    return files


@group.command("evaluate", "S_finger / S_palm across domains and intra-domain MSE of one row (every training seed)",
               Arg("--row", choices=list(ROWS)), Arg("--data"), Arg("--models", required=False, default=None), Arg("--out"),
               run="s2h_evaluate_{row}")  # fmt: skip
def evaluate(stage: Stage, args: Namespace) -> dict:
    from handflow.papers.s2h.dataset import MixHand
    from handflow.papers.s2h.evaluate import evaluate_method
    from handflow.papers.s2h.train import load_retarget_net
    from handflow.storage.atomic import atomic_write_text

    if args.row in MODELS and not args.models:
        raise InputError("--models", None, f"the {args.row} row needs its trained models")
    data = MixHand.load(Path(args.data))
    window, stride = stage.get(f"{KEY}.train.window"), stage.get(f"{KEY}.train.stride")
    if args.row in BASELINES:
        per_seed = [evaluate_method(args.row, None, data, window, stride)]
    else:
        per_seed = [evaluate_method(args.row, load_retarget_net(p), data, window, stride) for p in _model_files(args.models)]
    result = {"row": args.row, "per_seed": per_seed}
    atomic_write_text(args.out, json.dumps({**stage.provenance, **result}, indent=2, allow_nan=False))
    return {k: sum(s[k] for s in per_seed) / len(per_seed) for k in per_seed[0]}


@group.command("figure", "source and retargeted hands side by side over a few frames (GIF of the skinned meshes)",
               *paths("data", "tree", "hand-model", "models", "out"), run="s2h_figure")  # fmt: skip
def figure(stage: Stage, args: Namespace) -> dict:
    from handflow.papers.s2h.report import write_gif

    frames = write_gif(Path(args.out), Path(args.data), Path(args.tree), Path(args.hand_model), _model_files(args.models)[0],
                       stage.get(f"{KEY}.figure.frames"), stage.get(f"{KEY}.train.window"), stage.get("global.render_backend"))  # fmt: skip
    stage.log_artifact(args.out)
    return {"frames": float(frames)}


@group.command("report", "metrics JSON and table", Arg("--evals", nargs="+"), *paths("data", "json", "table", "html"),
               run="s2h_report")  # fmt: skip
def report(stage: Stage, args: Namespace) -> dict:
    from handflow.papers.s2h.report import build_table
    from handflow.storage.json_files import gather

    evals = gather(args.evals, "row", list(ROWS))
    table = build_table(evals, stage.provenance, Path(args.data), stage.get(f"{KEY}.n_seeds"))
    data = table.write(Path(args.json), Path(args.table), Path(args.html))
    for p in (args.json, args.table, args.html):
        stage.log_artifact(p)
    return {f"{row}.{m}": v["mean"] for row, r in data["rows"].items() for m, v in r["metrics"].items() if v is not None}
