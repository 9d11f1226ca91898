"""Distances between sets of features: Fréchet distance, kernel inception distance, diversity, precision and recall.

Formulas as the seed evaluates them (reference section 3), with the randomness
seeded. KID is the unbiased MMD^2 with the polynomial kernel (x.y / d + 1)^degree
averaged over random subsets; precision and recall are the k-NN manifold
estimates of Kynkäänniemi et al. (2019). torchmetrics and clean-fid implement the
same for image features, but only through their Inception pipelines; on
arbitrary feature matrices the formulas are a dozen lines of numpy/scipy.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg
from scipy.spatial.distance import cdist


def frechet_distance(a: np.ndarray, b: np.ndarray, eps: float = 1e-6) -> float:
    """||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^1/2) of two (N, D) feature sets."""
    mu_a, mu_b = a.mean(0), b.mean(0)
    s_a, s_b = np.atleast_2d(np.cov(a, rowvar=False)), np.atleast_2d(np.cov(b, rowvar=False))
    covmean = linalg.sqrtm(s_a @ s_b)
    if not np.isfinite(covmean).all():  # singular product: regularise, as the seed (and pytorch-fid) do
        offset = np.eye(len(s_a)) * eps
        covmean = linalg.sqrtm((s_a + offset) @ (s_b + offset))
    covmean = np.real(covmean)
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(s_a) + np.trace(s_b) - 2.0 * np.trace(covmean))


def polynomial_mmd2(a: np.ndarray, b: np.ndarray, degree: int = 3) -> float:
    """Unbiased MMD^2 with k(x, y) = (x.y / D + 1)^degree."""
    dim = a.shape[1]
    k_aa = (a @ a.T / dim + 1.0) ** degree
    k_bb = (b @ b.T / dim + 1.0) ** degree
    k_ab = (a @ b.T / dim + 1.0) ** degree
    m, n = len(a), len(b)
    return float((k_aa.sum() - np.trace(k_aa)) / (m * (m - 1)) + (k_bb.sum() - np.trace(k_bb)) / (n * (n - 1)) - 2.0 * k_ab.mean())


def kernel_distance(
    a: np.ndarray, b: np.ndarray, n_subsets: int, subset_size: int, degree: int, rng: np.random.Generator
) -> tuple[float, float]:
    """KID: mean and std of the unbiased MMD^2 over random subsets (drawn with replacement when a set is smaller)."""
    size = min(subset_size, len(a), len(b))
    values = [
        polynomial_mmd2(a[rng.choice(len(a), size, replace=size > len(a))], b[rng.choice(len(b), size, replace=size > len(b))], degree)
        for _ in range(n_subsets)
    ]
    return float(np.mean(values)), float(np.std(values))


def diversity(a: np.ndarray, n_pairs: int, rng: np.random.Generator) -> float:
    """Mean distance between the features of random pairs of the set."""
    i, j = rng.integers(0, len(a), n_pairs), rng.integers(0, len(a), n_pairs)
    return float(np.linalg.norm(a[i] - a[j], axis=1).mean())


def _radii(x: np.ndarray, k: int) -> np.ndarray:
    d = cdist(x, x)
    return np.partition(d, k, axis=1)[:, k]  # k-th neighbour, the point itself (distance 0) excluded


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = 5) -> tuple[float, float]:
    """Share of fake inside the real k-NN manifold, and of real inside the fake one."""
    d = cdist(fake, real)
    precision = float((d <= _radii(real, k)[None, :]).any(axis=1).mean())
    recall = float((d.T <= _radii(fake, k)[None, :]).any(axis=1).mean())
    return precision, recall
