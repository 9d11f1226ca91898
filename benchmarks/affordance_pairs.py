"""HO3Pair construction throughput: pairs/s of `build_pairs` (each video decoded once) against the same stage decoding
the video again for every row (the seed's structure reads frames decoded to disk per row; decoding per row is the
in-memory equivalent), side by side in one process on the same split.

    python benchmarks/affordance_pairs.py --root data/raw/embedded/HOI4D --split test

Prints one JSON line: pairs, seconds and pairs/s of each, and the ratio.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from unittest import mock

from handflow.papers.affordance import pairs
from handflow.papers.affordance.pairs import FrameSource, InpaintConfig, build_pairs


class _PerRowSource(FrameSource):
    """Forgets the decoded video after every frame: each row decodes its video from the start."""

    def frame(self, vid, index):
        self._vid = None
        return super().frame(vid, index)


def _timed(root: Path, csv: Path, size: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        stats = build_pairs(root, csv, Path(tmp) / "pairs.h5", size, InpaintConfig(None, 5, 7, 0.05), 0, {})
        return stats["pairs"], time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", type=Path, default=Path("data/raw/embedded/HOI4D"))
    parser.add_argument("--split", default="test")
    parser.add_argument("--size", type=int, default=128)
    args = parser.parse_args()
    csv = args.root / "Sets" / f"{args.split}.csv"
    n, cached = _timed(args.root, csv, args.size)
    with mock.patch.object(pairs, "FrameSource", _PerRowSource):
        _, per_row = _timed(args.root, csv, args.size)
    print(
        json.dumps(
            {
                "pairs": n,
                "decode_once_s": cached,
                "decode_per_row_s": per_row,
                "decode_once_pairs_per_s": n / cached,
                "decode_per_row_pairs_per_s": n / per_row,
                "speedup": per_row / cached,
            }
        )
    )


if __name__ == "__main__":
    main()
