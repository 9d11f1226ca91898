"""Does DIGIT learn within a time budget? Test MPJPE against training time, for a scale's network.

Trains DIGIT (seg) and its ablation (noseg) on the processed demo split (run `make demo`
or `snakemake digit` first), each for a fixed budget of training seconds (evaluation time
excluded), evaluating the test split every `--eval-every` seconds; prints one JSON line
per evaluation. The mean-pose baseline of the same split is in results/digit_metrics.json.
Run several side by side, each pinned to two cores, to compare settings at a 2-core cost:

    taskset -c 0,1 python benchmarks/digit_learning.py --scale cpu --model seg --seed 0 \
        --budget 430 --eval-every 107 [--set '{"model": {"input_size": 96}}'] [--device cuda]

The pipeline's own `digit_train` trains by steps, with checkpoints; this script exists to
find a step count and size worth setting, which the pipeline cannot do without rerunning.
"""

from __future__ import annotations

import argparse
import json
import time

import torch
from bench_gpu import REPO, scale_params

from handflow.papers.digit.dataset import SplitStores
from handflow.papers.digit.evaluate import evaluate
from handflow.papers.digit.networks import DigitConfig
from handflow.papers.digit.train import DigitTrainer, TrainConfig
from handflow.papers.digit.variants import SEGMENTATION

STORES = REPO / "data" / "processed" / "digit"


def stores(split: str) -> SplitStores:
    s = STORES
    return SplitStores(s / f"annotations_{split}.h5", s / f"images_{split}.lmdb", s / f"segm_{split}.lmdb", s / f"segm_{split}_meta.json")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", default="cpu")
    ap.add_argument("--model", choices=list(SEGMENTATION), default="seg")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--budget", type=float, default=430.0, help="training seconds")
    ap.add_argument("--eval-every", type=float, default=107.0)
    ap.add_argument("--set", default="{}", help='JSON overrides of digit.model / digit.train, e.g. {"model": {"width": 8}}')
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    params, _ = scale_params(args.scale)
    over = json.loads(args.set)
    net = DigitConfig.from_dict({**params.get("digit.model"), **over.get("model", {}), "use_segmentation": SEGMENTATION[args.model]})
    train = TrainConfig.from_dict({**params.get("digit.train"), "lr_decay_step": 10**9, **over.get("train", {})})
    device = torch.device(args.device)
    torch.manual_seed(args.seed)
    trainer = DigitTrainer(args.model, stores("train"), net, train, args.seed)
    state = trainer.build(device)
    test = stores("test").samples(None, net.input_size)
    spent, step, mark, losses = 0.0, 0, args.eval_every, []
    while spent < args.budget:
        t = time.perf_counter()
        state.model.train()
        loss = trainer.loss(state)
        state.optimizer.zero_grad()
        loss.backward()
        state.optimizer.step()
        state.lr_schedule.step()
        losses.append(float(loss.detach()))
        spent += time.perf_counter() - t
        step += 1
        if spent >= mark or spent >= args.budget:
            mark += args.eval_every
            state.model.eval().cpu()  # evaluate() feeds CPU tensors
            result = evaluate(state.model, test, STORES / "annotations_test.h5", n_boot=2)
            state.model.to(device)
            metrics = {k: round(v["mean"], 2) for k, v in result["metrics"].items() if v["mean"] is not None}
            recent = losses[-20:]
            line = {"model": args.model, "seed": args.seed, "set": over, "step": step, "train_s": round(spent)}
            line["loss"] = round(sum(recent) / len(recent), 3)
            print(json.dumps({**line, **metrics}), flush=True)


if __name__ == "__main__":
    main()
