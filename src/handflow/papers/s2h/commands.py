"""`python -m handflow s2h ...`: Semantics2Hands' stages, from characters and InterHand2.6M fits to the table."""

from __future__ import annotations

from argparse import Namespace
from pathlib import Path

from handflow.errors import InputError
from handflow.papers.s2h.variants import BASELINES, FIGURE_MODEL, MODELS, PROVENANCE, ROWS
from handflow.stage import Arg, CommandGroup, Stage, paths

group = CommandGroup("s2h", "Semantics2Hands stages", PROVENANCE)
KEY = "s2h"


@group.command(
    "tree",
    "the MixHand tree: Mixamo characters (anny's, or the user's BVH) and MANO subjects with their BVH motions",
    *paths("hand-model", "interhand-train", "interhand-val", "interhand-test", "out"),
    Arg("--characters-dir", required=False, default=None),
    run="s2h_tree",
)
def tree(stage: Stage, args: Namespace) -> dict:
    from handflow.papers.s2h.characters import CharacterSpec
    from handflow.papers.s2h.dataset import MotionConfig, build_tree
    from handflow.papers.s2h.user_characters import find_characters

    source = stage.source_of(f"{KEY}.characters")
    specs = tuple(CharacterSpec.from_dict(c, source, f"characters[{i}]") for i, c in enumerate(stage.get(f"{KEY}.characters")))
    user = None
    characters_dir, splits = stage.get(f"{KEY}.characters_dir"), stage.get(f"{KEY}.character_splits")
    if characters_dir or args.characters_dir:
        stage.expect_path(args.characters_dir or "", characters_dir or "", f"{KEY}.characters_dir")
        user = find_characters(Path(args.characters_dir), splits, str(stage.source_of(f"{KEY}.character_splits")))
    interhand = {s: Path(getattr(args, f"interhand_{s}")) for s in ("train", "val", "test")}
    motions = stage.section(MotionConfig, f"{KEY}.motions")
    return build_tree(Path(args.out), specs, motions, Path(args.hand_model), interhand, stage.seed, user)


@group.command(
    "pack",
    "every BVH of the tree read back into bs-rotations per motion (HDF5)",
    *paths("tree", "hand-model", "out"),
    run="s2h_pack",
)
def pack(stage: Stage, args: Namespace) -> dict:
    from handflow.papers.s2h.dataset import pack as pack_tree

    return pack_tree(Path(args.tree), Path(args.out), Path(args.hand_model))


@group.command(
    "train",
    "train ASRN or DM, once per training seed (the table's ± is over these)",
    Arg("--model", choices=list(MODELS)),
    *paths("data", "checkpoints", "out"),
    run="s2h_train_{model}",
    device=True,
)
def train(stage: Stage, args: Namespace) -> dict:
    """`out` is a folder of `s<k>.pt` and `s<k>_loss.tsv`: the number of seeds is a param, the DAG's shape is not."""
    from handflow.papers.s2h.networks import DecoderConfig
    from handflow.papers.s2h.train import RetargetTrainer, TrainConfig
    from handflow.training import fit_seeds

    network, cfg = stage.section(DecoderConfig, f"{KEY}.network"), stage.section(TrainConfig, f"{KEY}.train")
    seeds = [stage.seed * 1000 + k for k in range(stage.get(f"{KEY}.n_seeds"))]
    metrics = fit_seeds(
        lambda seed: RetargetTrainer(args.model, Path(args.data), network, cfg, seed),
        seeds,
        Path(args.checkpoints),
        Path(args.out),
        stage.on_log,
        stage.compute,
    )
    for k in range(len(seeds)):
        stage.log_artifact(Path(args.out) / f"s{k}_loss.tsv")
    return metrics


@group.command(
    "evaluate",
    "S_finger / S_palm across domains and intra-domain MSE of one row (every training seed)",
    Arg("--row", choices=list(ROWS)),
    Arg("--data"),
    Arg("--models", required=False, default=None),
    Arg("--out"),
    run="s2h_evaluate_{row}",
    device=True,
)
def evaluate(stage: Stage, args: Namespace) -> dict:
    from handflow.checkpoints import seed_model_files
    from handflow.papers.s2h.dataset import MixHand
    from handflow.papers.s2h.evaluate import evaluate_method
    from handflow.papers.s2h.networks import load_network

    if args.row in MODELS and not args.models:
        raise InputError("--models", None, f"the {args.row} row needs its trained models")
    data = MixHand.load(Path(args.data))
    window, stride = stage.get(f"{KEY}.train.window"), stage.get(f"{KEY}.train.stride")
    if args.row in BASELINES:
        per_seed = [evaluate_method(args.row, None, data, window, stride, stage.device)]
    else:
        loaded = [load_network(p, args.row) for p in seed_model_files(args.models)]
        # which checkpoint each training kept (validation-selected; absent in a model file made before selection)
        kept = [float(ckpt.get("selected", {}).get("step", ckpt.get("steps", 0))) for _, ckpt in loaded]
        per_seed = [evaluate_method(args.row, net, data, window, stride, stage.device) for net, _ in loaded]
        per_seed = [s | {"kept_step": k} for s, k in zip(per_seed, kept, strict=True)]
    stage.write_result(args.out, {"row": args.row, "per_seed": per_seed})
    return {k: sum(s[k] for s in per_seed) / len(per_seed) for k in per_seed[0]}


@group.command(
    "figure",
    "source and retargeted hands side by side over a few frames (GIF of the skinned meshes)",
    *paths("data", "tree", "hand-model", "models", "out"),
    run="s2h_figure",
)
def figure(stage: Stage, args: Namespace) -> dict:
    from handflow.checkpoints import seed_model_files
    from handflow.papers.s2h.report import write_gif

    model = seed_model_files(args.models)[0]
    frames = write_gif(
        Path(args.out),
        Path(args.data),
        Path(args.tree),
        Path(args.hand_model),
        model,
        FIGURE_MODEL,
        stage.get(f"{KEY}.figure.frames"),
        stage.get(f"{KEY}.train.window"),
        stage.get("global.render_backend"),
    )
    stage.log_artifact(args.out)
    return {"frames": float(frames)}


@group.command(
    "retarget",
    "one hand motion (a MANO run or a Mixamo clip, BVH) onto one Mixamo character's BVH with a trained ASRN or DM",
    Arg("--model", help="a model file, or a trained network's folder of seeds (the first is used)"),
    Arg("--kind", choices=list(MODELS), default="asrn", required=False),
    Arg("--source", required=False, default=None, help="the motion's BVH (default: the tree's first MANO test run)"),
    Arg("--target", required=False, default=None, help="the character's BVH (default: the tree's test character's first clip)"),
    Arg("--tree", required=False, default=None, help="a MixHand tree, for the defaults"),
    Arg("--out", help="the retargeted BVH"),
    Arg("--betas", required=False, default=None, help="a MANO source's betas (.npy; default: <run>.npy beside it)"),
    Arg("--hand-model", required=False, default=None, help="the prepared hand model folder (a MANO source)"),
    Arg("--source-mesh", required=False, default=None, help="a Mixamo source's mesh file (default: <Char>_mesh_data.npz beside it)"),
    Arg("--target-mesh", required=False, default=None, help="the target's mesh file (default: <Char>_mesh_data.npz beside it)"),
    Arg("--gif", required=False, default=None, help="also write the source and retargeted hands side by side (GIF)"),
    Arg("--gif-frames", type=int, default=24, required=False, help="frames in the GIF, spread over the clip"),
    run="s2h_retarget",
)
def retarget(stage: Stage, args: Namespace) -> dict:
    """CPU only: one clip through a small network, seconds; a GPU job would spend longer starting."""
    from handflow.checkpoints import seed_model_files
    from handflow.papers.s2h.retarget_bvh import beside, read_betas, retarget_file, tree_defaults
    from handflow.papers.s2h.user_characters import MESH_SUFFIX

    if args.gif_frames < 2:
        raise InputError("--gif-frames", None, f"{args.gif_frames}: at least 2")
    if not (args.source and args.target) and not args.tree:
        raise InputError("--tree", None, "needed for the default --source or --target")
    source, target, betas = (Path(args.source), Path(args.target), None) if args.source and args.target else tree_defaults(Path(args.tree))
    if args.source or args.target:  # what was given replaces the tree's pick (a given source brings its own betas)
        source, target = Path(args.source or source), Path(args.target or target)
        betas = None if args.source else betas
    beside_run = beside(source, f"{source.stem}.npy")  # the tree writes a MANO run's per-frame betas beside it
    if args.betas:
        betas = read_betas(Path(args.betas))
    elif betas is None and beside_run is not None:
        betas = read_betas(beside_run)
    mesh_of = lambda p: beside(p, f"{p.parent.name}{MESH_SUFFIX}")  # noqa: E731 - a character's folder holds its mesh
    opt = lambda v: Path(v) if v else None  # noqa: E731
    return retarget_file(
        seed_model_files(args.model)[0],
        args.kind,
        source,
        target,
        Path(args.out),
        betas,
        opt(args.hand_model),
        opt(args.source_mesh) or mesh_of(source),
        opt(args.target_mesh) or mesh_of(target),
        opt(args.gif),
        args.gif_frames,
    )


@group.command("report", "metrics JSON and table", Arg("--evals", nargs="+"), *paths("data", "json", "table", "html"), run="s2h_report")
def report(stage: Stage, args: Namespace) -> dict:
    from handflow.papers.s2h.report import EVALUATION, build_table
    from handflow.storage.json_files import gather

    evals = gather(args.evals, "row", list(ROWS), EVALUATION)
    table = build_table(evals, stage.provenance, Path(args.data), stage.get(f"{KEY}.n_seeds"))
    table.write(Path(args.json), Path(args.table), Path(args.html))
    for p in (args.json, args.table, args.html):
        stage.log_artifact(p)
    return table.flat_metrics()
