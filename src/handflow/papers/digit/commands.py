"""`python -m handflow digit ...`: DIGIT's stages, from the InterHand2.6M tree to the table."""

from __future__ import annotations

from argparse import Namespace
from pathlib import Path

from handflow.datasets.interhand.source import checked_root
from handflow.papers.digit.variants import FIGURE_MODEL, MODELS, OFF_THE_SHELF, PROVENANCE, REFERENCE, SEGMENTATION, SPLITS, VARIANTS
from handflow.stage import Arg, CommandGroup, Stage, paths

group = CommandGroup("digit", "DIGIT stages", PROVENANCE)
SPLIT = Arg("--split", choices=SPLITS)
STORES = paths("annotations", "images", "masks", "masks-meta")
KEY = "digit"


def _stores(args: Namespace):
    from handflow.papers.digit.dataset import SplitStores

    return SplitStores(Path(args.annotations), Path(args.images), Path(args.masks), Path(args.masks_meta))


@group.command(
    "pack-images",
    "a split's images into LMDB (original bytes, verified)",
    Arg("--root"),
    SPLIT,
    Arg("--out"),
    run="digit_pack_images_{split}",
    torch_threads=False,
)
def pack_images(stage: Stage, args: Namespace) -> dict:
    from handflow.papers.digit.images import pack_split_images

    stats = pack_split_images(checked_root(stage, args.root), args.split, Path(args.out), stage.get(f"{KEY}.images.batch_mb"))
    return {"images": float(stats.count), "megabytes": stats.bytes / 1e6, "resumed": float(stats.resumed)}


@group.command(
    "annotations",
    "per-image crop box, joints, validity, hand type, root depth, camera into HDF5",
    Arg("--root"),
    SPLIT,
    Arg("--out"),
    run="digit_annotations_{split}",
    torch_threads=False,
)
def annotations(stage: Stage, args: Namespace) -> dict:
    from handflow.papers.digit.annotations import write_annotations

    return write_annotations(checked_root(stage, args.root), args.split, Path(args.out), stage.provenance)


@group.command(
    "segmentation",
    "33-class part masks from the MANO fits into LMDB, with fit flags",
    Arg("--root"),
    SPLIT,
    Arg("--hand-model"),
    *paths("out", "meta"),
    run="digit_segmentation_{split}",
)
def segmentation(stage: Stage, args: Namespace) -> dict:
    import json

    from handflow.hand.model import create_pair
    from handflow.papers.digit.segmentation import SegmentationConfig, render_split

    cfg = stage.section(SegmentationConfig, f"{KEY}.segmentation")
    stats = render_split(
        checked_root(stage, args.root),
        args.split,
        create_pair(args.hand_model),
        Path(args.out),
        Path(args.meta),
        cfg.scale,
        cfg.max_fit_error_mm,
        stage.get("global.render_backend"),
        stage.get(f"{KEY}.images.batch_mb"),
    )
    meta = json.loads(Path(args.meta).read_text())["images"]
    return {"masks": float(stats.count), "segm_valid": float(sum(m["segm_valid"] for m in meta.values())), "resumed": float(stats.resumed)}


@group.command(
    "train",
    "train DIGIT (seg) or the no-segmentation ablation (noseg)",
    Arg("--model", choices=MODELS),
    *STORES,
    *paths("checkpoints", "out", "curve"),
    run="digit_train_{model}",
    device=True,
)
def train(stage: Stage, args: Namespace) -> dict:
    from handflow.papers.digit.networks import DigitConfig
    from handflow.papers.digit.train import DigitTrainer, TrainConfig
    from handflow.training import fit

    network = stage.section(DigitConfig, f"{KEY}.model", use_segmentation=SEGMENTATION[args.model])
    pretrained = stage.path(stage.get(f"{KEY}.pretrained_backbone"))
    cfg = stage.section(TrainConfig, f"{KEY}.train")
    threads = stage.get(f"{KEY}.loader_threads")
    trainer = DigitTrainer(args.model, _stores(args), network, cfg, stage.seed, pretrained, loader_threads=threads)
    metrics = fit(trainer, Path(args.checkpoints), Path(args.out), Path(args.curve), stage.on_log, stage.compute)
    stage.log_artifact(args.curve)
    return metrics


@group.command(
    "evaluate",
    "metrics of a trained model (a row of the table) on a split",
    Arg("--row", choices=list(VARIANTS)),
    *STORES,
    Arg("--model"),
    Arg("--out"),
    run="digit_evaluate_{row}",
    device=True,
)
def evaluate(stage: Stage, args: Namespace) -> dict:
    from handflow.papers.digit.evaluate import evaluate
    from handflow.papers.digit.networks import load_network

    stores = _stores(args)
    model = load_network(Path(args.model), VARIANTS[args.row].model)[0].to(stage.device)
    result = evaluate(model, stores.samples(None, model.cfg.input_size), stores.annotations)
    stage.write_result(args.out, {"row": args.row, **result})
    return {k: v["mean"] for k, v in result["metrics"].items() if v["mean"] is not None}


@group.command(
    "mean-pose",
    "the trivial baseline: the training set's mean pose at each test image's true wrists",
    *paths("train-annotations", "annotations", "out"),
    run="digit_mean_pose",
    torch_threads=False,
)
def mean_pose(stage: Stage, args: Namespace) -> dict:
    from handflow.papers.digit.evaluate import evaluate_mean_pose

    result = evaluate_mean_pose(Path(args.train_annotations), Path(args.annotations))
    stage.write_result(args.out, {"row": REFERENCE, **result})
    return {k: v["mean"] for k, v in result["metrics"].items() if v["mean"] is not None}


@group.command(
    "evaluate-landmarker",
    "the off-the-shelf row: MediaPipe Hands on the test crops (2D joint error, hands found, handedness)",
    *STORES,
    Arg("--out"),
    run="digit_evaluate_landmarker",
)
def evaluate_landmarker(stage: Stage, args: Namespace) -> dict:
    from handflow.judges.hands import HandLandmarker
    from handflow.papers.digit.evaluate import evaluate_landmarker as run

    judge = HandLandmarker.from_package()
    result = run(judge, _stores(args))
    stage.write_result(args.out, {"row": OFF_THE_SHELF, **result})
    return {k: v["mean"] for k, v in result["metrics"].items() if v["mean"] is not None}


@group.command(
    "report",
    "metrics JSON, table and figure",
    Arg("--evals", nargs="+"),
    *STORES,
    Arg("--model"),
    *paths("json", "table", "html", "figure"),
    run="digit_report",
)
def report(stage: Stage, args: Namespace) -> dict:
    from handflow.papers.digit.networks import load_network
    from handflow.papers.digit.report import EVALUATION, write_report
    from handflow.storage.json_files import gather

    evals = gather(args.evals, "row", [REFERENCE, OFF_THE_SHELF, *VARIANTS], EVALUATION)
    outputs = [Path(p) for p in (args.json, args.table, args.html, args.figure)]
    model = load_network(Path(args.model), FIGURE_MODEL)[0]
    table = write_report(evals, stage.provenance, model, _stores(args).samples(None, model.cfg.input_size), *outputs)
    for path in outputs:
        stage.log_artifact(path)
    return table.flat_metrics()
