"""`python -m handflow hand ...`: the prepared hand model every paper reads."""

from __future__ import annotations

from argparse import Namespace
from pathlib import Path

from handflow.stage import Arg, CommandGroup, Stage

group = CommandGroup("hand", "hand model stages")


@group.command("prepare", "prepared model folder from the open model or MANO", Arg("--out"), torch_threads=False)
def prepare(stage: Stage, args: Namespace) -> dict:
    from handflow.hand.prepare import prepare

    return prepare(stage.get("global.hand_model"), stage.get("global.hand_model_dir"), Path(args.out))


@group.command(
    "build-open",
    "re-derive the shipped open model (needs the derive extra)",
    Arg("--out"),
    Arg("--seed", type=int, default=0, required=False),
    torch_threads=False,
)
def build_open(stage: Stage, args: Namespace) -> None:
    from handflow.hand.prepare import build_open_assets

    build_open_assets(Path(args.out), seed=args.seed)
