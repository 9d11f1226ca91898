"""The stage frame: what every `python -m handflow <group> <stage>` command shares, written once.

A group (a paper, or a shared family such as the hand model) owns its commands in its
own `commands.py`, registered on a `CommandGroup`:

    group = CommandGroup("digit", "DIGIT stages", PROVENANCE)  # what its results record

    @group.command("evaluate", "metrics of a trained model", Arg("--row", choices=...), *paths("model", "out"),
                   run="digit_evaluate_{row}")
    def evaluate(stage: Stage, args: Namespace) -> dict[str, float]:
        ...  # only its own work; returns its metrics

The frame around each handler loads and validates params, fixes torch's thread count,
opens the MLflow run named after the Snakemake job (`run`; none for stages that only write
files; `handflow.tracking` says when it reaches the store) with the group's provenance as
tags (`handflow.provenance`: the same fields its results files record), logs the handler's
metrics and the params it read, and writes one JSON line of metrics to the log. Errors become one line in `handflow.cli`.

Every params read goes through `stage.get` / `stage.section`, which records the key. With
`HANDFLOW_PARAMS_READ=<file>` set, the frame appends the keys a command read (with its
`--log`, which names the Snakemake job) to that file: a test checks them against what
each rule declares with `par(...)`, since a key read but not declared would let a changed
value go unnoticed by both drivers.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from handflow.config import S
from handflow.errors import InputError
from handflow.params import Params, load_params
from handflow.provenance import GLOBAL, Provenance
from handflow.storage.json_files import write_json

if TYPE_CHECKING:
    from handflow.compute import Compute

log = logging.getLogger("handflow")
Handler = Callable[["Stage", argparse.Namespace], dict[str, float] | None]


@dataclass(frozen=True)
class Arg:
    """One argparse argument: `Arg("--split", choices=SPLITS)`; required unless said otherwise."""

    flag: str
    kwargs: dict[str, Any]

    def __init__(self, flag: str, **kwargs: Any) -> None:
        object.__setattr__(self, "flag", flag)
        object.__setattr__(self, "kwargs", {"required": True, **kwargs})


def paths(*names: str) -> list[Arg]:
    """Required path arguments `--<name>` (inputs and outputs the rule passes)."""
    return [Arg(f"--{n}") for n in names]


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    handler: Handler
    args: tuple[Arg, ...]
    run: str | None  # MLflow run name, formatted with the arguments (the Snakemake job's name)
    torch_threads: bool
    device: bool  # runs on `global.device`: checked before anything else, so a params mistake is reported first
    provenance: Provenance  # its group's


@dataclass
class Stage:
    """What a handler gets: the project's params (reads recorded), its MLflow run, provenance and device."""

    root: Path
    params: Params
    recorded: Provenance = GLOBAL  # what its results record: its group's (handflow.provenance)
    run: Any = None  # handflow.tracking.StageRun while a tracked run is open
    artifacts: list[Path] = field(default_factory=list)

    def get(self, key: str) -> Any:
        return self.params.get(key)

    def section(self, cls: type[S], key: str, **extra: Any) -> S:
        """A typed config section (a `handflow.config.Section`) from the params at `key`."""
        return cls.from_params(self.params, key, **extra)

    def source_of(self, key: str) -> Path:
        """The params file that sets `key` (for an error line naming it)."""
        return self.params.source_of(key)

    @property
    def seed(self) -> int:
        return self.get("global.seed")

    @property
    def provenance(self) -> dict[str, str]:
        """What every results file of the group records (data source, scale, seed, ...; the rule declares the keys)."""
        return self.recorded.of(self.get)

    def write_result(self, path: Path | str, result: dict[str, Any]) -> None:
        """A results file: the provenance, then `result`, as JSON (no NaN: a value that does not exist is null), written whole."""
        write_json(path, {**self.provenance, **result})

    @functools.cached_property
    def device(self):
        """The torch device params ask for; cuda without a GPU is an error, not a CPU run."""
        import torch

        name = self.get("global.device")
        if name == "cuda" and not torch.cuda.is_available():
            raise InputError(
                self.params.source_of("global.device"), "device", "cuda, but torch sees no GPU here (torch.cuda.is_available() is False)"
            )
        return torch.device(name)

    @functools.cached_property
    def compute(self) -> Compute:
        """`device`, `global.precision` and `global.compile`: what training and sampling run on (handflow.compute)."""
        from handflow.compute import Compute

        compute = Compute(self.device, self.get("global.precision"), self.get("global.compile"))
        log.info("forward passes on %s", compute.describe())
        return compute

    def path(self, value: str | None) -> Path | None:
        """A path given in params, relative to the project root."""
        return self.root / value if value else None

    def expect_path(self, given: str, expected: str, key: str) -> None:
        """A path the command was given that params decide (e.g. the raw dataset tree of `global.data_source`).

        dvc.yaml freezes such paths when it is generated; if params changed since, the stage
        would read one tree while its provenance names another, so it stops instead.
        """
        if Path(given).resolve() != (self.root / expected).resolve():
            raise InputError(
                self.params.source_of(key),
                key.partition(".")[2],
                f"{self.get(key)!r} reads {expected}, but this command was "
                f"given {given}: regenerate dvc.yaml (python -m handflow pipeline dvc-yaml)",
            )

    def on_log(self, step: int, loss: float) -> None:
        """A training loop's running loss, into the MLflow run and, as it goes, the stage's log (under Snakemake the run
        is logged to MLflow when the Snakemake run ends: `handflow.tracking`)."""
        log.info("step %d: loss %.6g", step, loss)
        if self.run is not None:
            self.run.log_metrics({"loss": loss}, step)

    def log_artifact(self, path: Path | str) -> None:
        self.artifacts.append(Path(path))


class CommandGroup:
    """The commands of one group (`python -m handflow <group> ...`), registered by decorator."""

    def __init__(self, name: str, help: str, provenance: Provenance = GLOBAL) -> None:
        self.name, self.help, self.provenance = name, help, provenance
        self.commands: dict[str, Command] = {}

    def command(
        self, name: str, help: str, *args: Arg | list[Arg], run: str | None = None, torch_threads: bool = True, device: bool = False
    ) -> Callable[[Handler], Handler]:
        flat = tuple(a for item in args for a in (item if isinstance(item, list) else [item]))

        def register(handler: Handler) -> Handler:
            self.commands[name] = Command(name, help, handler, flat, run, torch_threads, device, self.provenance)
            return handler

        return register

    def register_subcommand(self, subparsers: argparse._SubParsersAction) -> None:
        stages = subparsers.add_parser(self.name, help=self.help).add_subparsers(dest="stage", required=True)
        for cmd in self.commands.values():
            sub = stages.add_parser(cmd.name, help=cmd.help)
            for arg in cmd.args:
                sub.add_argument(arg.flag, **arg.kwargs)
            sub.add_argument("--log", help="log file (also printed to stderr)")
            sub.set_defaults(command=cmd)


def _run_params(stage: Stage, args: argparse.Namespace, template: str) -> dict[str, Any]:
    """What a run logs as params: the job's wildcards (the template's fields) and every params value read."""
    wildcards = {k: v for k, v in vars(args).items() if "{" + k + "}" in template}
    return {**wildcards, **{key: stage.params.peek(key) for key in sorted(stage.params.reads)}}


def _record_reads(stage: Stage, args: argparse.Namespace) -> None:
    target = os.environ.get("HANDFLOW_PARAMS_READ")
    if target:
        line = json.dumps({"command": f"{args.group} {args.stage}", "log": args.log, "keys": sorted(stage.params.reads)})
        with open(target, "a") as f:  # one short line per process: appends do not interleave
            f.write(line + "\n")


@contextmanager
def _tracked(stage: Stage, args: argparse.Namespace, template: str | None) -> Iterator[None]:
    if template is None:
        yield
        return
    from handflow.tracking import tracked_run

    tags = stage.recorded.of(stage.params.peek)
    with tracked_run(template.format(**vars(args)), stage.root, tags) as run:
        stage.run = run
        try:
            yield
        finally:
            run.log_params(_run_params(stage, args, template))


def run_command(args: argparse.Namespace) -> None:
    """The frame around one handler (see the module docstring)."""
    cmd: Command = args.command
    root = Path(args.project)
    stage = Stage(root, load_params(root), cmd.provenance)
    try:
        if cmd.torch_threads:
            import torch

            torch.set_num_threads(stage.get("global.threads"))  # floating-point sums depend on it
        if cmd.device:
            log.info("%s %s runs on %s", args.group, args.stage, stage.device)
        with _tracked(stage, args, cmd.run):
            metrics = cmd.handler(stage, args) or {}
            if stage.run is not None:
                stage.run.log_metrics({k: v for k, v in metrics.items() if isinstance(v, int | float)})
                for path in stage.artifacts:
                    stage.run.log_artifact(path)
        log.info("%s %s: %s", args.group, args.stage, json.dumps(metrics, default=str))
        if "global.device" not in stage.params.reads and stage.params.peek("global.device") != "cpu":
            log.info("%s %s ran on the CPU: it has no device path (global.device is for the stages that have one)", args.group, args.stage)
    finally:
        _record_reads(stage, args)
