"""Fréchet distance: scipy's D x D `sqrtm` (the seeds' and pytorch-fid's way) against `metrics.generative`'s exact trace.

Both on the same feature sets, side by side in one process: the ratio is the figure to read. The sets are squared
normals (skewed and non-negative, like pooled CNN features) at EfficientNet-Lite0's 1280 dimensions, at the sizes the
pipeline meets: a smoke-scale evaluation (tens of images, fewer than D) and a paper-scale one (thousands, more than D).

    .venv/bin/python benchmarks/bench_frechet.py --repeats 3
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy import linalg

from handflow.metrics.generative import frechet_distance


def sqrtm_frechet(a: np.ndarray, b: np.ndarray) -> float:
    """The seeds' formula: scipy's sqrtm of the covariance product, the eps fallback, the imaginary part dropped."""
    s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = linalg.sqrtm(s_a @ s_b)
    if not np.isfinite(covmean).all():
        offset = np.eye(len(s_a)) * 1e-6
        covmean = linalg.sqrtm((s_a + offset) @ (s_b + offset))
    diff = a.mean(0) - b.mean(0)
    return float(diff @ diff + np.trace(s_a) + np.trace(s_b) - 2.0 * np.trace(np.real(covmean)))


def best_of(fn, repeats: int) -> tuple[float, float]:
    times, value = [], 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return min(times), value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dim", type=int, default=1280)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print("| N_a, N_b | sqrtm (s) | ours (s) | ratio | relative difference |")
    print("|---|---|---|---|---|")
    for n_a, n_b in ((32, 40), (300, 250), (3000, 2500)):
        a = rng.normal(size=(n_a, args.dim)) ** 2
        b = rng.normal(0.2, 1.1, size=(n_b, args.dim)) ** 2
        t_ref, ref = best_of(lambda a=a, b=b: sqrtm_frechet(a, b), args.repeats)
        t_ours, ours = best_of(lambda a=a, b=b: frechet_distance(a, b), args.repeats)
        print(f"| {n_a}, {n_b} | {t_ref:.3f} | {t_ours:.3f} | {t_ref / t_ours:.1f}x | {abs(ours - ref) / abs(ref):.1e} |")


if __name__ == "__main__":
    main()
