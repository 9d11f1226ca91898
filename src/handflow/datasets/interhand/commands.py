"""`python -m handflow data ...`: InterHand2.6M, generated or real, to the HDF5 files the papers read."""

from __future__ import annotations

from argparse import Namespace
from pathlib import Path

from handflow.datasets.interhand.source import checked_root
from handflow.stage import Arg, CommandGroup, Stage, paths

group = CommandGroup("data", "dataset stages")
SPLITS = ("train", "val", "test")
SPLIT = Arg("--split", choices=SPLITS)
HAND_MODEL = Arg("--hand-model", help="prepared hand model folder")


@group.command("embedded", "generate the embedded InterHand2.6M tree", HAND_MODEL, Arg("--out"))
def embedded(stage: Stage, args: Namespace) -> dict:
    from handflow.datasets.interhand.generator import EmbeddedConfig, Generator
    from handflow.hand.model import create_pair

    cfg = stage.section(EmbeddedConfig, "data.embedded", seed=stage.seed)
    return Generator(create_pair(args.hand_model), cfg, backend=stage.get("global.render_backend")).write(Path(args.out))


@group.command(
    "preprocess",
    "one split to HDF5 of two-hand MANO parameters and joints",
    Arg("--root"),
    SPLIT,
    HAND_MODEL,
    Arg("--out"),
    run="preprocess_interhand_{split}",
)
def preprocess(stage: Stage, args: Namespace) -> dict:
    import torch

    from handflow.datasets.interhand.preprocess import preprocess_split
    from handflow.hand.model import create_pair

    hands = create_pair(args.hand_model, dtype=torch.float64)
    return preprocess_split(
        checked_root(stage, args.root), args.split, hands, Path(args.out), stage.get("data.preprocess.batch_size"), stage.provenance
    )


@group.command("download", "fetch and verify InterHand2.6M archives listed in params/data.yaml", Arg("--out"), torch_threads=False)
def download(stage: Stage, args: Namespace) -> None:
    from handflow.datasets.interhand.download import download_all

    download_all(stage.get("data.download"), Path(args.out))


@group.command(
    "report", "data summary JSON and sample figure", Arg("--root"), Arg("--h5", nargs="+"), *paths("json", "figure"), torch_threads=False
)
def report(stage: Stage, args: Namespace) -> None:
    from handflow.datasets.interhand.report import write_report

    write_report(checked_root(stage, args.root), [Path(h) for h in args.h5], Path(args.json), Path(args.figure), stage.provenance)
