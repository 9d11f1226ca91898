"""Frames per second of each rasterizer backend at 256x256 on two posed, sealed hands.

All backends run side by side in one process on the same frames, so the ratio
between them is the figure to read; absolute numbers depend on the machine. A
frame is the raster alone (face id + depth) and, separately, the raster plus the
33-class part mask and shaded RGB that the generator and DIGIT's segmentation
stage need.

    python benchmarks/bench_rasterizer.py [--frames 200] [--size 256]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from handflow.hand.model import create_pair
from handflow.hand.prepare import prepare
from handflow.render.images import Lighting, part_labels, shade, two_hand_face_labels
from handflow.render.rasterize import gl_available, rasterize


def two_hand_frames(n: int, seed: int = 0) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """`n` camera-space vertex sets of two random-pose hands, shared faces and face part labels."""
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = Path(tmp) / "hand_model"
        prepare("open", None, model_dir)
        hands = create_pair(model_dir, dtype=torch.float64)
    rng = np.random.default_rng(seed)
    frames = []
    for _ in range(n):
        parts, faces, offset = [], [], 0
        for side, dx in (("right", -35.0), ("left", 35.0)):
            hand = hands[side]
            with torch.no_grad():
                out = hand(
                    torch.tensor([[np.pi / 2, 0.0, 0.0]], dtype=torch.float64),
                    torch.as_tensor(rng.normal(0, 0.25, (1, 45))),
                    torch.zeros(1, 10, dtype=torch.float64),
                )
                v = hand.seal(out.vertices)[0].numpy() * 1000.0
            parts.append(v - v.mean(0) + np.array([dx, rng.normal(0, 5), 400.0 + 0.5 * dx]))
            faces.append(hand.sealed_faces.numpy() + offset)
            offset += len(v)
        frames.append(np.vstack(parts))
    face_labels = two_hand_face_labels(hands["right"].sidecar.face_parts, hands["left"].sidecar.face_parts)
    return frames, np.vstack(faces), face_labels


def time_backend(backend: str, frames, faces, face_labels, size: int, full: bool) -> float:
    """Frames per second over `frames` (one warm-up frame first, not timed)."""
    focal = np.array([size * 1.2, size * 1.2])
    princpt = np.array([(size - 1) / 2, (size - 1) / 2])
    light = Lighting(np.array([[0.0, -0.5, -0.85]]) / np.linalg.norm([0.0, -0.5, -0.85]), np.ones((1, 3)), np.full(3, 0.25))
    albedo = np.full((len(frames[0]), 3), 0.6)

    def frame(v: np.ndarray) -> None:
        raster = rasterize(v, faces, focal, princpt, (size, size), backend=backend)
        if full:
            part_labels(raster, face_labels)
            shade(raster, v, faces, albedo, light, focal, princpt)

    frame(frames[0])
    start = time.perf_counter()
    for v in frames:
        frame(v)
    return len(frames) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--size", type=int, default=256)
    args = parser.parse_args()
    frames, faces, face_labels = two_hand_frames(args.frames)
    backends = ["numpy"] + (["gl"] if gl_available() else [])
    rows = {}
    for backend in backends:
        rows[backend] = {
            "raster_fps": round(time_backend(backend, frames, faces, face_labels, args.size, full=False), 1),
            "raster_labels_shading_fps": round(time_backend(backend, frames, faces, face_labels, args.size, full=True), 1),
        }
    if "gl" in rows:
        rows["gl_over_numpy_raster"] = round(rows["gl"]["raster_fps"] / rows["numpy"]["raster_fps"], 1)
    header = {"size": args.size, "frames": args.frames, "faces": len(faces), "torch_threads": torch.get_num_threads()}
    print(json.dumps({**header, **rows}, indent=2))


if __name__ == "__main__":
    main()
