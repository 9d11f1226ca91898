"""DIGIT training samples per second from the LMDBs (decode, crop, augmentation, targets), in-process and with 2 workers.

    python benchmarks/bench_digit_loader.py [--stores data/processed/digit] [--n 480]

Needs the DIGIT data stages (`make demo`).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from handflow.papers.digit.dataset import Augment, DigitSamples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", type=Path, default=Path("data/processed/digit"))
    parser.add_argument("--n", type=int, default=480)
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
    print(json.dumps({"samples": args.n, "in_process_per_s": round(in_process, 1), "two_workers_per_s": round(workers, 1)}, indent=2))


if __name__ == "__main__":
    main()
