"""Each paper's evaluation on empty and one-sample input: a ComputationError naming what is too small, never a number."""

from __future__ import annotations

import numpy as np
import pytest

from handflow.errors import ComputationError
from handflow.metrics.contact import PairContact
from handflow.papers.interhandgen.evaluate import EvaluateConfig, set_metrics

CFG = EvaluateConfig(
    kid_subsets=10, kid_subset_size=1000, kid_degree=1, diversity_pairs=20, pr_k=3, pr_samples=1000, contact_mm=5.0, seed=0
)


@pytest.mark.parametrize("n_fake", [0, 1])
def test_interhandgen_set_metrics_refuse_fewer_than_two_samples(n_fake):
    rng = np.random.default_rng(0)
    real, fake = rng.normal(size=(20, 8)), rng.normal(size=(n_fake, 8))
    with pytest.raises(ComputationError, match=r"KID: set 'b' has \d samples, needs at least 2"):
        set_metrics(real, fake, [PairContact(0.0, 0.0, 1.0)] * n_fake, CFG, rng)


def test_interhandgen_set_metrics_on_two_samples_are_numbers():
    rng = np.random.default_rng(0)
    real, fake = rng.normal(size=(20, 8)), rng.normal(size=(2, 8))
    out = set_metrics(real, fake, [PairContact(0.0, 0.0, 1.0)] * 2, CFG, rng)
    assert all(np.isfinite(v) for v in out.values())


@pytest.mark.parametrize("n", [0, 1])
def test_digit_summaries_refuse_fewer_than_two_images(n):
    from handflow.papers.digit.evaluate import _summary

    with pytest.raises(ComputationError, match=rf"DIGIT evaluation: {n} test image"):
        _summary(lambda idx: {"mpjpe_all": 1.0}, n, 10)
