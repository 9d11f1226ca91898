"""Generative and contact metrics against independent computations on known inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from handflow.metrics.contact import PenetrationError, intersection, pair_contact
from handflow.metrics.generative import diversity, frechet_distance, kernel_distance, polynomial_mmd2, precision_recall


def test_fid_of_identical_sets_is_zero():
    x = np.random.default_rng(0).normal(size=(200, 8))
    assert abs(frechet_distance(x, x)) < 1e-6


def test_fid_matches_the_closed_form_between_gaussians():
    """Samples whitened to have exactly the target mean and covariance, so the estimate equals the formula."""
    rng = np.random.default_rng(1)

    def exact(n, mean, cov):
        z = rng.normal(size=(n, len(mean)))
        z -= z.mean(0)
        z = z @ np.linalg.inv(np.linalg.cholesky(np.cov(z, rowvar=False))).T  # sample covariance exactly I
        return z @ np.linalg.cholesky(cov).T + mean

    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, -1.0, 0.5])
    a = rng.normal(size=(3, 3))
    cov1, cov2 = np.diag([1.0, 2.0, 0.5]), a @ a.T + np.eye(3)
    # closed form via the symmetric form Tr((S1^1/2 S2 S1^1/2)^1/2), computed by eigendecomposition
    w, v = np.linalg.eigh(cov1)
    s1h = v @ np.diag(np.sqrt(w)) @ v.T
    w2 = np.linalg.eigvalsh(s1h @ cov2 @ s1h)
    expected = ((mu1 - mu2) ** 2).sum() + np.trace(cov1) + np.trace(cov2) - 2 * np.sqrt(w2).sum()
    assert frechet_distance(exact(500, mu1, cov1), exact(700, mu2, cov2)) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("n_a,n_b,dim", [(12, 15, 40), (300, 250, 20)])  # fewer samples than dimensions, and more
def test_fid_equals_scipys_matrix_square_root(n_a, n_b, dim):
    """The trace of (S_a S_b)^1/2 by nuclear norm (N <= D) or by the symmetric eigenproblem (N > D) is scipy's sqrtm's."""
    from scipy import linalg

    rng = np.random.default_rng(7)
    a, b = rng.normal(size=(n_a, dim)) ** 2, rng.normal(0.3, 1.2, size=(n_b, dim)) ** 2  # skewed, like pooled features
    s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    trace = np.trace(np.real(linalg.sqrtm(s_a @ s_b)))
    expected = ((a.mean(0) - b.mean(0)) ** 2).sum() + np.trace(s_a) + np.trace(s_b) - 2 * trace
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-6)


def test_polynomial_mmd_matches_a_direct_double_sum():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(7, 4)), rng.normal(1.0, 1.0, size=(9, 4))
    k = lambda x, y: (x @ y / 4 + 1.0) ** 3  # noqa: E731
    xx = sum(k(a[i], a[j]) for i in range(7) for j in range(7) if i != j) / (7 * 6)
    yy = sum(k(b[i], b[j]) for i in range(9) for j in range(9) if i != j) / (9 * 8)
    xy = sum(k(a[i], b[j]) for i in range(7) for j in range(9)) / (7 * 9)
    assert polynomial_mmd2(a, b, 3) == pytest.approx(xx + yy - 2 * xy, rel=1e-10)


def test_kid_is_unbiased_for_one_distribution_and_positive_for_two():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(2000, 6)), rng.normal(size=(2000, 6))
    mean, std = kernel_distance(a, b, n_subsets=100, subset_size=200, degree=3, rng=rng)
    assert abs(mean) < 3 * std / np.sqrt(100) + 1e-3  # centred on zero: no small-sample bias
    shifted, _ = kernel_distance(a, b + 0.5, n_subsets=20, subset_size=200, degree=3, rng=rng)
    assert shifted > 10 * max(abs(mean), std / 10)


def test_precision_and_recall_on_constructed_manifolds():
    rng = np.random.default_rng(4)
    real = rng.uniform(0, 1, size=(300, 2))
    assert precision_recall(real, real.copy(), k=5) == (1.0, 1.0)
    far = real + 100.0
    assert precision_recall(real, far, k=5) == (0.0, 0.0)
    half = np.vstack([real[:150], far[:150]])
    assert precision_recall(real, half, k=5)[0] == pytest.approx(0.5)  # half the fake set lies on the real manifold
    left = real[real[:, 0] < 0.5]  # fake covers only the left half of the real square
    precision, recall = precision_recall(real, left, k=5)
    assert precision == 1.0
    assert 0.45 < recall < 0.65


def test_diversity_is_the_mean_pair_distance():
    pts = np.array([[0.0, 0.0], [3.0, 4.0]])
    rng = np.random.default_rng(0)
    # pairs are (i, j) with replacement: distance 0 or 5; the expected mean over many pairs is 2.5
    assert diversity(pts, 20000, rng) == pytest.approx(2.5, abs=0.1)


def _cube(size: float, offset: float):
    v = np.array([[x, y, z] for x in (0, 1) for y in (0, 1) for z in (0, 1)], float) * size + offset
    f = np.array(
        [[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1], [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]]
    )
    return v, f


def test_penetration_volume_of_overlapping_cubes():
    va, fa = _cube(0.02, 0.0)
    vb, fb = _cube(0.02, 0.01)  # overlap: a 1 cm cube
    contact = pair_contact(va, fa, vb, fb)
    assert contact.volume_cm3 == pytest.approx(1.0, rel=1e-9)
    assert contact.depth_cm == pytest.approx(np.sqrt(3) * 1.0, rel=1e-6)  # the corner at (1,1,1) cm, its nearest vertex (2,2,2) cm
    apart = pair_contact(va, fa, *_cube(0.02, 0.05))
    assert (apart.volume_cm3, apart.depth_cm) == (0.0, 0.0) and apart.min_distance_mm == pytest.approx(np.sqrt(3) * 30)


def test_a_broken_mesh_raises_instead_of_counting_as_no_penetration(hands):
    model = hands["right"]
    with torch.no_grad():
        verts = model.seal(
            model(
                torch.zeros(1, 3, dtype=torch.float64), torch.zeros(1, 45, dtype=torch.float64), torch.zeros(1, 10, dtype=torch.float64)
            ).vertices
        )[0].numpy()
    faces = model.sealed_faces.numpy()
    assert intersection(verts, faces, verts + 0.01, faces).volume() > 0
    with pytest.raises(PenetrationError, match="not a closed manifold"):
        pair_contact(verts, faces[:-5], verts + 0.01, faces)
    with pytest.raises(PenetrationError, match="non-finite"):
        pair_contact(np.full_like(verts, np.nan), faces, verts, faces)
