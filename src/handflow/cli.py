"""`python -m handflow <group> <stage> ...`: the commands the pipeline's rules call.

This root knows no command. Each group owns its commands in its own `commands.py`
(a `handflow.stage.CommandGroup` named `group`): the shared families below, and every
paper package under `handflow.papers` that has one, found at run time. So adding or
editing one paper's commands changes no file that another paper's stages depend on.
Only the group asked for is imported.

Every command reads its settings from params/ (validated), takes its input and output
paths as arguments (so the Snakemake rule and the DVC stage stay one line), writes its
outputs atomically and logs to `--log`. Bad input ends in one line on stderr naming the
file and field, and exit status 2; a computation that cannot give a valid result, 1.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys
from pathlib import Path

from handflow.errors import ComputationError, InputError

log = logging.getLogger("handflow")

SHARED_GROUPS = {
    "hand": "handflow.hand.commands",
    "data": "handflow.datasets.interhand.commands",
    "pipeline": "handflow.pipeline.commands",
}


def command_modules() -> dict[str, str]:
    """Group name -> module holding its `group`: the shared families, then each paper with a `commands` module."""
    import handflow.papers

    found = dict(SHARED_GROUPS)
    for info in pkgutil.iter_modules(handflow.papers.__path__):
        if info.ispkg and (Path(handflow.papers.__path__[0]) / info.name / "commands.py").is_file():
            found[info.name] = f"handflow.papers.{info.name}.commands"
    return found


def _setup_logging(path: str | None) -> None:
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(path, mode="w"))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s", handlers=handlers, force=True)


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser; with `argv`, only the group it names is imported (all of them for help or a typo)."""
    parser = argparse.ArgumentParser(prog="python -m handflow", description=__doc__.splitlines()[0])
    parser.add_argument("--project", default=".", help="project root holding params/ and workflow/ (default: .)")
    groups = parser.add_subparsers(dest="group", required=True)
    modules = command_modules()
    first = argparse.ArgumentParser(add_help=False)
    first.add_argument("--project")
    first.add_argument("group", nargs="?")
    wanted = first.parse_known_args(argv)[0].group if argv is not None else None
    for name, module in modules.items():
        if wanted in modules and name != wanted:
            groups.add_parser(name)  # listed, not imported
            continue
        importlib.import_module(module).group.register_subcommand(groups)
    return parser


def main(argv: list[str] | None = None) -> int:
    from handflow.stage import run_command

    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv).parse_args(argv)
    _setup_logging(getattr(args, "log", None))
    try:
        run_command(args)
    except InputError as exc:
        log.debug("input error", exc_info=True)
        print(f"handflow: error: {exc}", file=sys.stderr)
        return 2
    except ComputationError as exc:
        log.debug("computation error", exc_info=True)
        print(f"handflow: error: {exc}", file=sys.stderr)
        return 1
    return 0
