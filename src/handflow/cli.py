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

from handflow.errors import ComputationError, InputError

log = logging.getLogger("handflow")


def _setup_logging(path: str | None) -> None:
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(path, mode="w"))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s", handlers=handlers, force=True)


def _params(args: argparse.Namespace):
    """The validated params; also fixes torch's thread count from them (floating-point sums depend on it)."""
    import torch

    from handflow.params import load_params

    p = load_params(args.project)
    torch.set_num_threads(p.get("global.threads"))
    return p


def _device(p):
    from handflow.training import torch_device

    return torch_device(p.get("global.device"), p.files["global"])


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
    with tracked_run(f"preprocess_interhand_{args.split}", Path(args.project), run_params, prov) as run:
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


# ---- InterHandGen -------------------------------------------------------------------------------------------------
def _ihg(args: argparse.Namespace):
    """(params, InterHandGen params, provenance) of the project."""
    p = _params(args)
    return p, p.values["interhandgen"], _provenance(p)


def _decoder(hand_model: str):
    from handflow.hand.model import create_pair
    from handflow.papers.interhandgen.representation import TwoHandDecoder

    return TwoHandDecoder(create_pair(hand_model))


def cmd_ihg_dataset(args: argparse.Namespace) -> None:
    from handflow.hand.model import create_pair
    from handflow.papers.interhandgen.dataset import build_pairs, training_statistics, write_pairs
    from handflow.storage.atomic import atomic_path
    from handflow.tracking import tracked_run

    _, ip, prov = _ihg(args)
    hands = create_pair(args.hand_model, dtype=_f64())
    counts = {}
    with tracked_run("interhandgen_dataset", Path(args.project), ip["dataset"], prov) as run:
        for split, src, dst in (("train", args.train, args.out_train), ("test", args.test, args.out_test)):
            data = build_pairs(Path(src), hands)
            if len(data["pairs"]) < 2:
                raise InputError(src, "hand_type", f"{len(data['pairs'])} interacting frames with both MANO fits; at least 2 are needed")
            write_pairs(Path(dst), data, {**prov, "split": split})
            counts[f"{split}_pairs"] = len(data["pairs"])
            if split == "train":
                stats = training_statistics(data["pairs"], data["pairs_swapped"] if ip["dataset"]["swap_augmentation"] else None)
                with atomic_path(args.out_stats) as tmp:
                    stats.save(tmp)
        run.log_metrics(counts)
    log.info("interacting pairs: %s", json.dumps(counts))


def cmd_ihg_train(args: argparse.Namespace) -> None:
    from handflow.papers.interhandgen.train import train_denoiser
    from handflow.tracking import tracked_run

    p, ip, prov = _ihg(args)
    device = _device(p)
    sections = {f"{k}.{kk}": v for k in ("model", "diffusion", "train") for kk, v in ip[k].items()}
    run_params = {"kind": args.kind, "device": device, **sections}
    with tracked_run(f"interhandgen_train_{args.kind}", Path(args.project), run_params, prov) as run:
        metrics = train_denoiser(
            args.kind,
            Path(args.pairs),
            Path(args.stats),
            ip,
            p.get("global.seed"),
            Path(args.checkpoints),
            Path(args.out),
            Path(args.curve),
            on_log=lambda step, loss: run.log_metrics({"loss": loss}, step),
            device=device,
        )
        run.log_metrics(metrics)
        run.log_artifact(args.curve)
    log.info("%s: %s", args.out, json.dumps(metrics))


def cmd_ihg_features(args: argparse.Namespace) -> None:
    from handflow.papers.interhandgen.features import train_feature_net
    from handflow.tracking import tracked_run

    p, ip, prov = _ihg(args)
    with tracked_run("interhandgen_features", Path(args.project), ip["features"], prov) as run:
        metrics = train_feature_net(
            Path(args.train),
            Path(args.test),
            _decoder(args.hand_model),
            ip,
            p.get("global.seed"),
            Path(args.checkpoints),
            Path(args.out),
            Path(args.report),
            prov,
            on_log=lambda step, loss: run.log_metrics({"loss": loss}, step),
        )
        run.log_metrics(metrics)
    log.info("%s: %s", args.out, json.dumps(metrics))


def cmd_ihg_sample(args: argparse.Namespace) -> None:
    from handflow.papers.interhandgen.sample import sample_variant
    from handflow.tracking import tracked_run

    p, ip, prov = _ihg(args)
    run_params = {"variant": args.variant, **{f"sample.{k}": v for k, v in ip["sample"].items()}}
    with tracked_run(f"interhandgen_sample_{args.variant}", Path(args.project), run_params, prov) as run:
        metrics = sample_variant(args.variant, Path(args.model), _decoder(args.hand_model), ip, p.get("global.seed"), Path(args.out), prov)
        run.log_metrics(metrics)
    log.info("%s: %s", args.out, json.dumps(metrics))


def cmd_ihg_evaluate(args: argparse.Namespace) -> None:
    from handflow.papers.interhandgen.evaluate import evaluate_ground_truth, evaluate_samples
    from handflow.storage.atomic import atomic_write_text
    from handflow.tracking import tracked_run

    _, ip, prov = _ihg(args)
    decoder = _decoder(args.hand_model)
    with tracked_run(f"interhandgen_evaluate_{args.variant}", Path(args.project), {"variant": args.variant, **ip["evaluate"]}, prov) as run:
        if args.variant == "gt":
            result = evaluate_ground_truth(Path(args.train), Path(args.test), Path(args.features), decoder, ip)
        else:
            result = evaluate_samples(Path(args.samples), Path(args.test), Path(args.features), decoder, ip)
        run.log_metrics({m: v["mean"] for m, v in result["metrics"].items()})
    atomic_write_text(args.out, json.dumps({"variant": args.variant, **prov, **result}, indent=2))
    log.info("%s: %s", args.out, json.dumps({m: round(v["mean"], 4) for m, v in result["metrics"].items()}))


def cmd_ihg_sweep(args: argparse.Namespace) -> None:
    from handflow.papers.interhandgen.evaluate import apg_sweep
    from handflow.storage.atomic import atomic_write_text
    from handflow.tracking import tracked_run

    p, ip, prov = _ihg(args)
    with tracked_run("interhandgen_sweep", Path(args.project), ip["sweep"], prov) as run:
        result = apg_sweep(Path(args.model), _decoder(args.hand_model), ip, p.get("global.seed"))
        for row in result["rows"]:
            run.log_metrics({"penetration_volume_cm3": row["penetration_volume_cm3"]}, step=round(100 * row["apg_weight"]))
    atomic_write_text(args.out, json.dumps({**prov, **result}, indent=2))


def cmd_ihg_report(args: argparse.Namespace) -> None:
    from handflow.papers.interhandgen.report import ROWS, write_report
    from handflow.tracking import tracked_run

    _, _, prov = _ihg(args)
    evals = _evaluations(args.evals, ROWS)
    with tracked_run("interhandgen_report", Path(args.project), {"evals": " ".join(args.evals)}, prov) as run:
        inputs = (evals, _read_json(args.features), _read_json(args.sweep), Path(args.samples), _decoder(args.hand_model), prov)
        outputs = (Path(args.json), Path(args.table), Path(args.fig_samples), Path(args.fig_sweep))
        metrics = write_report(*inputs, *outputs)
        run.log_metrics({f"{row}.{m}": v["mean"] for row, r in metrics["rows"].items() for m, v in r["metrics"].items()})
        for path in outputs:
            run.log_artifact(path)


def _evaluations(paths: list[str], rows) -> dict[str, dict]:
    """Evaluation JSONs by their `variant`; every row of the table must have one."""
    evals = {}
    for path in paths:
        data = _read_json(path)
        evals[data.get("variant")] = data
    missing = sorted(set(rows) - set(evals))
    if missing:
        raise InputError(paths[0], "variant", f"no evaluation of {', '.join(missing)} among the inputs")
    return evals


def _read_json(path: str) -> dict:
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise InputError(path, None, "file not found") from None
    except json.JSONDecodeError as exc:
        raise InputError(path, f"line {exc.lineno}", f"invalid JSON: {exc.msg}") from None


# ---- DIGIT --------------------------------------------------------------------------------------------------------
def cmd_digit_pack_images(args: argparse.Namespace) -> None:
    from handflow.papers.digit.images import pack_split_images
    from handflow.tracking import tracked_run

    p = _params(args)
    with tracked_run(
        f"digit_pack_images_{args.split}", Path(args.project), {"split": args.split, **p.get("digit.images")}, _provenance(p)
    ) as run:
        stats = pack_split_images(Path(args.root), args.split, Path(args.out), p.get("digit.images.batch_mb"))
        run.log_metrics({"images": stats.count, "megabytes": stats.bytes / 1e6, "resumed": stats.resumed})
    log.info("%s: %d images, %.1f MB (%d resumed)", args.out, stats.count, stats.bytes / 1e6, stats.resumed)


def cmd_digit_annotations(args: argparse.Namespace) -> None:
    from handflow.papers.digit.annotations import write_annotations
    from handflow.tracking import tracked_run

    p = _params(args)
    with tracked_run(f"digit_annotations_{args.split}", Path(args.project), {"split": args.split}, _provenance(p)) as run:
        counts = write_annotations(Path(args.root), args.split, Path(args.out), _provenance(p))
        run.log_metrics(counts)
    log.info("%s: %s", args.out, json.dumps(counts))


def cmd_digit_segmentation(args: argparse.Namespace) -> None:
    from handflow.hand.model import create_pair
    from handflow.papers.digit.segmentation import render_split
    from handflow.tracking import tracked_run

    p = _params(args)
    s = p.get("digit.segmentation")
    with tracked_run(f"digit_segmentation_{args.split}", Path(args.project), {"split": args.split, **s}, _provenance(p)) as run:
        stats = render_split(Path(args.root), args.split, create_pair(args.hand_model), Path(args.out), Path(args.meta), s["scale"],
                             s["max_fit_error_mm"], p.get("global.render_backend"), p.get("digit.images.batch_mb"))  # fmt: skip
        meta = json.loads(Path(args.meta).read_text())["images"]
        run.log_metrics({"masks": stats.count, "segm_valid": sum(m["segm_valid"] for m in meta.values())})
    log.info("%s: %d masks (%d resumed)", args.out, stats.count, stats.resumed)


def _digit_stores(args: argparse.Namespace):
    from handflow.papers.digit.train import SplitStores

    return SplitStores(Path(args.annotations), Path(args.images), Path(args.masks), Path(args.masks_meta))


def cmd_digit_train(args: argparse.Namespace) -> None:
    from handflow.papers.digit.train import train_digit
    from handflow.tracking import tracked_run

    p = _params(args)
    m, t = p.get("digit.model"), p.get("digit.train")
    pretrained = p.get("digit.pretrained_backbone")
    run_params = {"variant": args.variant, "pretrained_backbone": pretrained, "device": p.get("global.device"), **m, **t}
    with tracked_run(f"digit_train_{args.variant}", Path(args.project), run_params, _provenance(p)) as run:
        outputs = (Path(args.checkpoints), Path(args.out), Path(args.curve))
        metrics = train_digit(_digit_stores(args), m, t, args.variant == "seg", p.get("global.seed"), *outputs,
                              pretrained=Path(args.project) / pretrained if pretrained else None, device=_device(p),
                              on_log=lambda step, loss: run.log_metrics({"loss": loss}, step))  # fmt: skip
        run.log_metrics(metrics)
    log.info("%s: %s", args.out, json.dumps(metrics))


def cmd_digit_evaluate(args: argparse.Namespace) -> None:
    from handflow.papers.digit.dataset import DigitSamples
    from handflow.papers.digit.evaluate import evaluate
    from handflow.papers.digit.train import load_digit
    from handflow.storage.atomic import atomic_write_text
    from handflow.tracking import tracked_run

    p = _params(args)
    prov = _provenance(p)
    s = _digit_stores(args)
    with tracked_run(f"digit_evaluate_{args.variant}", Path(args.project), {"variant": args.variant}, prov) as run:
        data = DigitSamples(s.annotations, s.images, s.masks, s.masks_meta, augment=None)
        scores = evaluate(load_digit(Path(args.model)), data, s.annotations)
        run.log_metrics(scores)
    atomic_write_text(args.out, json.dumps({"variant": args.variant, **prov, **scores}, indent=2))
    log.info("%s: %s", args.out, json.dumps(scores))


def cmd_digit_report(args: argparse.Namespace) -> None:
    from handflow.papers.digit.dataset import DigitSamples
    from handflow.papers.digit.report import ROWS, write_report
    from handflow.papers.digit.train import load_digit
    from handflow.tracking import tracked_run

    p = _params(args)
    prov = _provenance(p)
    evals = _evaluations(args.evals, ROWS)
    s = _digit_stores(args)
    data = DigitSamples(s.annotations, s.images, s.masks, s.masks_meta, augment=None)
    with tracked_run("digit_report", Path(args.project), {"evals": " ".join(args.evals)}, prov) as run:
        outputs = (Path(args.json), Path(args.table), Path(args.figure))
        metrics = write_report(evals, prov, load_digit(Path(args.model)), data, *outputs)
        run.log_metrics({f"{row}.{m}": v for row, r in metrics["rows"].items() for m, v in r["metrics"].items() if v is not None})
        for path in outputs:
            run.log_artifact(path)


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
    ihg = groups.add_parser("interhandgen", help="InterHandGen stages").add_subparsers(dest="stage", required=True)
    req = lambda *names: [([f"--{n}"], {"required": True}) for n in names]  # noqa: E731
    add(
        ihg,
        "dataset",
        cmd_ihg_dataset,
        "interacting pairs in the seed's representation, normalisation statistics",
        hand_model,
        *req("train", "test", "out-train", "out-test", "out-stats"),
    )
    add(
        ihg,
        "train",
        cmd_ihg_train,
        "train the cascade denoiser or the joint baseline",
        (["--kind"], {"required": True, "choices": ["cascade", "joint"]}),
        *req("pairs", "stats", "checkpoints", "out", "curve"),
    )
    add(
        ihg,
        "features",
        cmd_ihg_features,
        "train the evaluation feature network",
        hand_model,
        *req("train", "test", "checkpoints", "out", "report"),
    )
    add(
        ihg,
        "sample",
        cmd_ihg_sample,
        "sample one variant",
        hand_model,
        (["--variant"], {"required": True, "choices": ["full", "no_cfg", "no_apg", "joint"]}),
        *req("model", "out"),
    )
    add(
        ihg,
        "evaluate",
        cmd_ihg_evaluate,
        "metrics of one variant (or gt) against the test split",
        hand_model,
        (["--variant"], {"required": True, "choices": ["gt", "full", "no_cfg", "no_apg", "joint"]}),
        (["--samples"], {}),
        *req("train", "test", "features", "out"),
    )
    add(ihg, "sweep", cmd_ihg_sweep, "penetration against the APG weight", hand_model, *req("model", "out"))
    add(
        ihg,
        "report",
        cmd_ihg_report,
        "metrics JSON, table and figures",
        hand_model,
        (["--evals"], {"nargs": "+", "required": True}),
        *req("features", "sweep", "samples", "json", "table", "fig-samples", "fig-sweep"),
    )
    digit = groups.add_parser("digit", help="DIGIT stages").add_subparsers(dest="stage", required=True)
    add(digit, "pack-images", cmd_digit_pack_images, "a split's images into LMDB (original bytes, verified)",
        (["--root"], {"required": True}), split, out)  # fmt: skip
    add(digit, "annotations", cmd_digit_annotations, "per-image crop box, joints, validity, hand type, root depth, camera into HDF5",
        (["--root"], {"required": True}), split, out)  # fmt: skip
    add(digit, "segmentation", cmd_digit_segmentation, "33-class part masks from the MANO fits into LMDB, with fit flags",
        (["--root"], {"required": True}), split, hand_model, out, (["--meta"], {"required": True}))  # fmt: skip
    stores = [([f"--{n}"], {"required": True}) for n in ("annotations", "images", "masks", "masks-meta")]
    variant = (["--variant"], {"required": True, "choices": ["seg", "noseg"]})
    add(digit, "train", cmd_digit_train, "train DIGIT (seg) or the no-segmentation ablation (noseg)", variant, *stores,
        (["--checkpoints"], {"required": True}), out, (["--curve"], {"required": True}))  # fmt: skip
    add(
        digit,
        "evaluate",
        cmd_digit_evaluate,
        "metrics of a trained model on a split",
        variant,
        *stores,
        (["--model"], {"required": True}),
        out,
    )
    add(digit, "report", cmd_digit_report, "metrics JSON, table and figure", (["--evals"], {"nargs": "+", "required": True}), *stores,
        (["--model"], {"required": True}), (["--json"], {"required": True}), (["--table"], {"required": True}),
        (["--figure"], {"required": True}))  # fmt: skip
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
    except ComputationError as exc:
        log.debug("computation error", exc_info=True)
        print(f"handflow: error: {exc}", file=sys.stderr)
        return 1
    return 0
