"""Semantics2Hands: FK + ASM throughput (frames/s), vectorised over frames against a per-frame loop, side by side.

    python benchmarks/s2h_asm.py --frames 2000

The per-frame loop is the seed's structure (its armature code poses and measures one frame
at a time); both run the same functions in the same process on the same random motion of
an anny character, and their outputs are checked equal before the ratio is printed. One
JSON line.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from scipy.spatial.transform import Rotation

from handflow.papers.s2h.asm import asm
from handflow.papers.s2h.characters import CharacterSpec, build_character
from handflow.papers.s2h.hand import forward_kinematics


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    c = build_character(CharacterSpec("Bench", "train", {}, {}, 5.0, 2.0))
    rot = Rotation.from_rotvec(np.random.default_rng(0).normal(0, 0.4, (args.frames * 21, 3))).as_matrix()
    rot = rot.reshape(args.frames, 21, 3, 3)

    def vectorised():
        return asm(*forward_kinematics(c.offsets, rot), c.axes)

    def per_frame():
        parts = [asm(*forward_kinematics(c.offsets, rot[f : f + 1]), c.axes) for f in range(args.frames)]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    timings = {}
    for name, fn in (("vectorised", vectorised), ("per_frame", per_frame)):
        best = float("inf")
        for _ in range(args.repeats):
            start = time.perf_counter()
            out = fn()
            best = min(best, time.perf_counter() - start)
        timings[name] = (best, out)
    a, b = timings["vectorised"][1], timings["per_frame"][1]
    assert np.allclose(a[0], b[0]) and np.allclose(a[1], b[1])
    fps = {k: args.frames / v[0] for k, v in timings.items()}
    print(
        json.dumps(
            {
                "frames": args.frames,
                "vectorised_fps": round(fps["vectorised"], 1),
                "per_frame_fps": round(fps["per_frame"], 1),
                "speedup": round(fps["vectorised"] / fps["per_frame"], 1),
            }
        )
    )


if __name__ == "__main__":
    main()
