"""LMDB image packing: ours (original bytes) vs the seed's PNG re-encoding vs a raw sequential write.

All three write the same files side by side in one run, after one warm-up read so
every variant reads from the page cache; each ends with its data on disk (fsync or
LMDB's synchronous commit). Then read-and-decode throughput from our store.

    python benchmarks/bench_lmdb.py [--images data/raw/embedded/InterHand2.6M/images]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import cv2
import lmdb
import numpy as np

from handflow.storage.lmdb_store import PackedFiles, pack


def raw_write(items, out: Path) -> None:
    with open(out, "wb") as f:
        for _, path in items:
            f.write(path.read_bytes())
        f.flush()
        os.fsync(f.fileno())


def seed_style_pack(items, out: Path) -> None:
    """DIGIT's packer: decode, BGR->RGB, re-encode PNG, a commit every 5000 puts, ~4.9 MiB map per image."""
    env = lmdb.open(str(out), map_size=len(items) * 5_130_240, subdir=True)
    txn = env.begin(write=True)
    for idx, (key, path) in enumerate(items):
        img = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
        txn.put(key.encode(), cv2.imencode(".png", img)[1].tobytes())
        if idx % 5000 == 0:
            txn.commit()
            txn = env.begin(write=True)
    txn.commit()
    env.sync()
    env.close()


def size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*")) if path.is_dir() else path.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=Path, default=Path("data/raw/embedded/InterHand2.6M/images"))
    parser.add_argument("--workdir", type=Path, default=None, help="where to write (default: a temporary folder on the same disk as /tmp)")
    args = parser.parse_args()
    files = sorted(args.images.rglob("*.jpg"))
    items = [(str(p.relative_to(args.images)), p) for p in files]
    total = sum(p.stat().st_size for p in files)
    for _, p in items:  # warm the page cache for every variant alike
        p.read_bytes()
    work = Path(tempfile.mkdtemp(dir=args.workdir))
    rows = {}
    try:
        for name, fn, out in (
            ("raw_sequential_write", raw_write, work / "raw.bin"),
            ("ours", pack, work / "ours.lmdb"),
            ("seed_png_reencode", seed_style_pack, work / "seed.lmdb"),
        ):
            start = time.perf_counter()
            fn(items, out)
            seconds = time.perf_counter() - start
            rows[name] = {
                "seconds": round(seconds, 3),
                "input_MB_per_s": round(total / seconds / 1e6, 1),
                "output_MB": round(size(out) / 1e6, 1),
            }
        store = PackedFiles(work / "ours.lmdb")
        start = time.perf_counter()
        for key, _ in items:
            cv2.imdecode(np.frombuffer(store.get(key), np.uint8), cv2.IMREAD_COLOR)
        read_s = time.perf_counter() - start
    finally:
        shutil.rmtree(work)
    report = {
        "images": len(items),
        "input_MB": round(total / 1e6, 1),
        **rows,
        "ours_time_over_raw": round(rows["ours"]["seconds"] / rows["raw_sequential_write"]["seconds"], 2),
        "seed_time_over_ours": round(rows["seed_png_reencode"]["seconds"] / rows["ours"]["seconds"], 1),
        "read_decode_images_per_s": round(len(items) / read_s, 1),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
