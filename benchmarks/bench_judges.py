"""The judges' CPU throughput on the project's own renders: images/s of each, and batched features against one at a time.

    python benchmarks/bench_judges.py --images 64 --threads 2

Images: the affordance HOI crops of a small embedded HOI4D tree built here (64 px, each with a rendered hand), the
size the demo's ContentNet samples at. MediaPipe runs one image at a time by design (its graph takes one frame), so its
figure is per image after the upscale to 256 px; EfficientNet-Lite0 runs batched (64 images) against the same images
one at a time, side by side in this process. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from handflow.hand.model import create
from handflow.hand.prepare import prepare
from handflow.judges.features import ImageFeatures
from handflow.judges.hands import HandLandmarker
from handflow.judges.people import PersonLandmarker
from handflow.papers.affordance.generator import EmbeddedHOI4DConfig, HOI4DGenerator, SplitSize
from handflow.papers.affordance.pair_data import read_pairs_file
from handflow.papers.affordance.pairs import InpaintConfig, build_pairs


def crops(n: int, folder: Path) -> np.ndarray:
    prepare("open", None, folder / "hand")
    cfg = EmbeddedHOI4DConfig(("mug", "knife", "bottle"), {"train": SplitSize(1, 1), "test": SplitSize(1, max(1, n // 12))}, 12, 128, 96, 0)
    HOI4DGenerator(create(folder / "hand", "right"), cfg, backend="numpy").write(folder / "HOI4D")
    build_pairs(folder / "HOI4D", folder / "HOI4D/Sets/test.csv", folder / "pairs.h5", 64, InpaintConfig(None, 5, 7, 0.05), 0, {})
    hoi = read_pairs_file(folder / "pairs.h5")["hoi"]
    return np.resize(hoi, (n, *hoi.shape[1:]))


def per_second(fn, images: np.ndarray) -> float:
    fn(images[:2])  # warm-up
    start = time.perf_counter()
    fn(images)
    return len(images) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        images = crops(args.images, Path(tmp))
    hands, people, features = HandLandmarker.from_package(), PersonLandmarker.from_package(), ImageFeatures.from_package()
    found = sum(bool(h) for h in hands(images))
    batched = per_second(features, images)
    single = per_second(lambda x: [features(x[i : i + 1]) for i in range(len(x))], images)
    print(
        json.dumps(
            {
                "images": len(images),
                "image_side": int(images.shape[1]),
                "threads": args.threads,
                "hands_images_per_s": per_second(hands, images),
                "hands_found": found,
                "person_images_per_s": per_second(people, images),
                "features_batched_images_per_s": batched,
                "features_single_images_per_s": single,
                "features_batched_speedup": batched / single,
            }
        )
    )


if __name__ == "__main__":
    main()
