"""`python -m handflow <group> <stage> ...`: the commands the pipeline's rules call.

Each command reads its settings from params/ (validated), takes its input and
output paths as arguments (so the Snakemake rule and the DVC stage stay one
line), writes its outputs atomically, and logs to `--log`. Bad input ends in
one line on stderr naming the file and field, and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from handflow.errors import InputError

log = logging.getLogger("handflow")


def _setup_logging(path: str | None) -> None:
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(path, mode="w"))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s", handlers=handlers, force=True)


def _params(args: argparse.Namespace):
    from handflow.params import load_params

    return load_params(args.project)


def _provenance(p) -> dict[str, str]:
    g = p.values["global"]
    return {"data_source": g["data_source"], "scale": g["scale"], "hand_model": g["hand_model"], "seed": str(g["seed"])}


def cmd_hand_prepare(args: argparse.Namespace) -> None:
    from handflow.hand.prepare import prepare

    g = _params(args).values["global"]
    log.info("prepared hand model: %s", prepare(g["hand_model"], g["hand_model_dir"], Path(args.out)))


def cmd_hand_build_open(args: argparse.Namespace) -> None:
    from handflow.hand.prepare import build_open_assets

    build_open_assets(Path(args.out), seed=args.seed)


def cmd_data_embedded(args: argparse.Namespace) -> None:
    from handflow.datasets.interhand.generator import EmbeddedConfig, Generator
    from handflow.hand.model import create_pair

    p = _params(args)
    cfg = EmbeddedConfig.from_params(p.get("data.embedded"), seed=p.get("global.seed"))
    gen = Generator(create_pair(args.hand_model), cfg, backend=p.get("global.render_backend"))
    counts = gen.write(Path(args.out))
    log.info("embedded InterHand2.6M written to %s: %s", args.out, json.dumps(counts))


def cmd_data_preprocess(args: argparse.Namespace) -> None:
    from handflow.datasets.interhand.preprocess import preprocess_split
    from handflow.hand.model import create_pair
    from handflow.tracking import tracked_run

    p = _params(args)
    prov = _provenance(p)
    run_params = {"split": args.split, **p.subset("data.preprocess")}
    with tracked_run(f"preprocess_{args.split}", Path(args.project), run_params, prov) as run:
        metrics = preprocess_split(Path(args.root), args.split, create_pair(args.hand_model, dtype=_f64()), Path(args.out),
                                   p.get("data.preprocess.batch_size"), prov)  # fmt: skip
        run.log_metrics(metrics)
    log.info("%s: %s", args.out, json.dumps(metrics))


def _f64():
    import torch

    return torch.float64


def cmd_data_download(args: argparse.Namespace) -> None:
    from handflow.datasets.interhand.download import download_all

    p = _params(args)
    download_all(p.get("data.download"), Path(args.out))


def cmd_data_report(args: argparse.Namespace) -> None:
    from handflow.datasets.interhand.report import write_report

    p = _params(args)
    write_report(Path(args.root), [Path(h) for h in args.h5], Path(args.json), Path(args.figure), _provenance(p))


def cmd_pipeline_dvc_yaml(args: argparse.Namespace) -> None:
    from handflow.pipeline.dvcgen import check_or_write

    if not check_or_write(Path(args.project), check=args.check):
        raise SystemExit("dvc.yaml is stale: run `python -m handflow pipeline dvc-yaml` and commit it")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m handflow", description=__doc__.splitlines()[0])
    parser.add_argument("--project", default=".", help="project root holding params/ and workflow/ (default: .)")
    groups = parser.add_subparsers(dest="group", required=True)

    def add(group, name, func, help_text, *arguments):
        sub = group.add_parser(name, help=help_text)
        for flags, kwargs in arguments:
            sub.add_argument(*flags, **kwargs)
        sub.add_argument("--log", help="log file (also printed to stderr)")
        sub.set_defaults(func=func)

    out = (["--out"], {"required": True})
    hand_model = (["--hand-model"], {"required": True, "help": "prepared hand model folder"})
    hand = groups.add_parser("hand", help="hand model stages").add_subparsers(dest="stage", required=True)
    add(hand, "prepare", cmd_hand_prepare, "prepared model folder from the open model or MANO", out)
    add(hand, "build-open", cmd_hand_build_open, "re-derive the shipped open model (needs the derive extra)", out,
        (["--seed"], {"type": int, "default": 0}))  # fmt: skip
    data = groups.add_parser("data", help="dataset stages").add_subparsers(dest="stage", required=True)
    add(data, "embedded", cmd_data_embedded, "generate the embedded InterHand2.6M tree", hand_model, out)
    split = (["--split"], {"required": True, "choices": ["train", "val", "test"]})
    add(data, "preprocess", cmd_data_preprocess, "one split to HDF5 of two-hand MANO parameters and joints",
        (["--root"], {"required": True}), split, hand_model, out)  # fmt: skip
    add(data, "download", cmd_data_download, "fetch and verify InterHand2.6M archives listed in params/data.yaml", out)
    add(data, "report", cmd_data_report, "data summary JSON and sample figure",
        (["--root"], {"required": True}), (["--h5"], {"nargs": "+", "required": True}),
        (["--json"], {"required": True}), (["--figure"], {"required": True}))  # fmt: skip
    pipe = groups.add_parser("pipeline", help="pipeline tooling").add_subparsers(dest="stage", required=True)
    add(pipe, "dvc-yaml", cmd_pipeline_dvc_yaml, "generate dvc.yaml from the Snakemake DAG",
        (["--check"], {"action": "store_true", "help": "fail if dvc.yaml differs instead of writing it"}))  # fmt: skip
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _setup_logging(getattr(args, "log", None))
    try:
        args.func(args)
    except InputError as exc:
        log.debug("input error", exc_info=True)
        print(f"handflow: error: {exc}", file=sys.stderr)
        return 2
    return 0
