"""DIGIT training samples per second from the LMDBs (decode, crop, augmentation, targets): in-process, 2 workers, the trainer's threads.

    python benchmarks/bench_digit_loader.py [--stores data/processed/digit] [--n 480] [--threads 2]

The last is what `digit_train` uses (`digit.loader_threads`, `handflow.papers.digit.loader`): batches of 16
at the training's sizes with the next batch decoded ahead, against the same batches decoded in the loop (0 threads).

Needs the DIGIT data stages (`make demo`).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from handflow.papers.digit.dataset import Augment, DigitSamples
from handflow.papers.digit.loader import BatchLoader


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", type=Path, default=Path("data/processed/digit"))
    parser.add_argument("--n", type=int, default=480)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    d = args.stores
    data = DigitSamples(d / "annotations_train.h5", d / "images_train.lmdb", d / "segm_train.lmdb", d / "segm_train_meta.json", Augment())
    start = time.perf_counter()
    for i in range(args.n):
        data[i % len(data)]
    in_process = args.n / (time.perf_counter() - start)
    loader = torch.utils.data.DataLoader(data, batch_size=16, shuffle=True, num_workers=2, generator=torch.Generator().manual_seed(0))
    start, seen = time.perf_counter(), 0
    while seen < args.n:
        for batch in loader:
            seen += len(batch["image"])
            if seen >= args.n:
                break
    workers = seen / (time.perf_counter() - start)
    per_s = {}
    for threads in (0, args.threads):
        steps = args.n // 16
        batches = BatchLoader(data, 16, steps, threads, torch.device("cpu"))
        generator = torch.Generator().manual_seed(0)
        start = time.perf_counter()
        for step in range(steps):
            batches.batch_at(step, generator)
        per_s[threads] = steps * 16 / (time.perf_counter() - start)
    print(
        json.dumps(
            {
                "samples": args.n,
                "in_process_per_s": round(in_process, 1),
                "two_workers_per_s": round(workers, 1),
                "batch_loader_in_loop_per_s": round(per_s[0], 1),
                f"batch_loader_{args.threads}_threads_per_s": round(per_s[args.threads], 1),
                "threads_ratio": round(per_s[args.threads] / per_s[0], 2),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
