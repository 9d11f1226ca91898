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
from scipy.spatial.distance import cdist

from handflow.errors import ComputationError


def check_sets(metric: str, min_size: int, **sets: np.ndarray) -> None:
    """Every set a finite (N, D) matrix with N >= min_size, all of one D; else one line naming the metric and the set."""
    dims = set()
    for name, x in sets.items():
        if not isinstance(x, np.ndarray) or x.ndim != 2:
            raise ComputationError(f"{metric}: set {name!r} is not an (N, D) feature matrix (shape {np.shape(x)})")
        if len(x) < min_size:
            raise ComputationError(f"{metric}: set {name!r} has {len(x)} samples, needs at least {min_size}")
        if not np.isfinite(x).all():
            raise ComputationError(f"{metric}: set {name!r} has {int((~np.isfinite(x)).any(1).sum())} samples with NaN or inf features")
        dims.add(x.shape[1])
    if len(dims) > 1 or 0 in dims:
        raise ComputationError(
            f"{metric}: feature dimensions differ or are zero ({', '.join(f'{k} {v.shape[1]}' for k, v in sets.items())})"
        )


def _finite(metric: str, value: float) -> float:
    if not np.isfinite(value):
        raise ComputationError(f"{metric}: the result is {value} (overflow or a degenerate set)")
    return float(value)


def _trace_sqrt_product(a: np.ndarray, b: np.ndarray, s_a: np.ndarray, s_b: np.ndarray) -> float:
    """Tr((S_a S_b)^1/2) of two sample covariances, exactly, without a D x D matrix square root.

    scipy's `sqrtm` (the seed's and pytorch-fid's way) takes a Schur decomposition of the D x D product: 1.6 s for
    ImageNet features (D = 1280) on one core, per call, and the evaluations make dozens of calls. Two identities give the
    same number: with centred data A (N_a x D) and B, S_a S_b = A^T (A B^T B) / ((N_a - 1)(N_b - 1)) has the non-zero
    eigenvalues of (A B^T)(A B^T)^T / (...), so the trace is the nuclear norm of A B^T (an N_a x N_b matrix) over
    sqrt((N_a - 1)(N_b - 1)); when the sets are larger than D, S_a S_b is similar to the symmetric S_a^1/2 S_b S_a^1/2
    and the trace is the sum of the square roots of its eigenvalues. Both are exact (the product's eigenvalues are
    real and non-negative: rounding below zero is clipped), and neither fails on a singular covariance, where `sqrtm`
    needed the seed's eps regularisation. tests/test_metrics.py checks both against scipy's sqrtm.
    """
    n_a, n_b = len(a), len(b)
    if min(n_a, n_b) <= a.shape[1]:
        cross = (a - a.mean(0)) @ (b - b.mean(0)).T
        return float(np.linalg.svd(cross, compute_uv=False).sum() / np.sqrt((n_a - 1) * (n_b - 1)))
    w, v = np.linalg.eigh(s_a)
    root_a = (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T
    return float(np.sqrt(np.clip(np.linalg.eigvalsh(root_a @ s_b @ root_a), 0.0, None)).sum())


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^1/2) of two (N, D) feature sets, N >= 2 (a covariance)."""
    check_sets("Frechet distance", 2, a=a, b=b)
    with np.errstate(all="ignore"):  # overflow shows as a non-finite covariance, refused below
        mu_a, mu_b = a.mean(0), b.mean(0)
        s_a, s_b = np.atleast_2d(np.cov(a, rowvar=False)), np.atleast_2d(np.cov(b, rowvar=False))
    if not (np.isfinite(s_a).all() and np.isfinite(s_b).all()):
        raise ComputationError("Frechet distance: the covariance overflows (features too large)")
    try:
        with np.errstate(all="ignore"):
            cross = _trace_sqrt_product(a, b, s_a, s_b)
    except np.linalg.LinAlgError as exc:
        raise ComputationError(f"Frechet distance: no decomposition of the covariance product ({exc})") from None
    return _finite("Frechet distance", ((mu_a - mu_b) ** 2).sum() + np.trace(s_a) + np.trace(s_b) - 2.0 * cross)


def _mmd2(a: np.ndarray, b: np.ndarray, degree: int) -> float:
    dim = a.shape[1]
    with np.errstate(all="ignore"):  # overflow gives inf/NaN, refused by the caller
        k_aa = (a @ a.T / dim + 1.0) ** degree
        k_bb = (b @ b.T / dim + 1.0) ** degree
        k_ab = (a @ b.T / dim + 1.0) ** degree
        m, n = len(a), len(b)
        return float((k_aa.sum() - np.trace(k_aa)) / (m * (m - 1)) + (k_bb.sum() - np.trace(k_bb)) / (n * (n - 1)) - 2.0 * k_ab.mean())


def polynomial_mmd2(a: np.ndarray, b: np.ndarray, degree: int = 3) -> float:
    """Unbiased MMD^2 with k(x, y) = (x.y / D + 1)^degree; N >= 2 per set (the unbiased estimate leaves the diagonal out)."""
    check_sets("MMD", 2, a=a, b=b)
    return _finite("MMD", _mmd2(a, b, degree))


def kernel_distance(
    a: np.ndarray, b: np.ndarray, n_subsets: int, subset_size: int, degree: int, rng: np.random.Generator
) -> tuple[float, float]:
    """KID: mean and std of the unbiased MMD^2 over `n_subsets` random subsets of min(subset_size, N_a, N_b) samples
    each, drawn without replacement from each set (the released evaluator's protocol: a smaller set caps the size)."""
    check_sets("KID", 2, a=a, b=b)
    if n_subsets < 1 or subset_size < 2:
        raise ComputationError(f"KID: {n_subsets} subsets of {subset_size} samples give no estimate (at least 1 of 2)")
    size = min(subset_size, len(a), len(b))
    values = [
        _mmd2(a[rng.choice(len(a), size, replace=False)], b[rng.choice(len(b), size, replace=False)], degree) for _ in range(n_subsets)
    ]
    return _finite("KID", np.mean(values)), _finite("KID", np.std(values))


def diversity(a: np.ndarray, n_pairs: int, rng: np.random.Generator) -> float:
    """Mean distance between the features of `n_pairs` random pairs of the set (N >= 2, n_pairs >= 1)."""
    check_sets("diversity", 2, a=a)
    if n_pairs < 1:
        raise ComputationError(f"diversity: {n_pairs} pairs give no estimate")
    i, j = rng.integers(0, len(a), n_pairs), rng.integers(0, len(a), n_pairs)
    with np.errstate(all="ignore"):
        return _finite("diversity", np.linalg.norm(a[i] - a[j], axis=1).mean())


def _radii(x: np.ndarray, k: int) -> np.ndarray:
    d = cdist(x, x)
    return np.partition(d, k, axis=1)[:, k]  # k-th neighbour, the point itself (distance 0) excluded


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = 5) -> tuple[float, float]:
    """Share of fake inside the real k-NN manifold, and of real inside the fake one (each set needs k + 1 samples)."""
    if k < 1:
        raise ComputationError(f"precision/recall: k = {k}, needs at least 1 neighbour")
    check_sets("precision/recall", k + 1, real=real, fake=fake)
    with np.errstate(all="ignore"):
        d = cdist(fake, real)
    if not np.isfinite(d).all():
        raise ComputationError("precision/recall: feature distances overflow (features too large)")
    precision = float((d <= _radii(real, k)[None, :]).any(axis=1).mean())
    recall = float((d.T <= _radii(fake, k)[None, :]).any(axis=1).mean())
    return precision, recall
