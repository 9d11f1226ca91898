"""Each paper's evaluation on empty and one-sample input: a ComputationError naming what is too small, never a number.

Every paper the CLI discovers (`handflow.cli.command_modules`) must have its case in
DEGENERATE: a new paper fails `test_every_paper_has_its_degenerate_case` until it adds one.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from handflow.cli import SHARED_GROUPS, command_modules
from handflow.errors import ComputationError
from handflow.metrics.contact import PairContact


def _ihg_config():
    from handflow.papers.interhandgen.evaluate import EvaluateConfig

    return EvaluateConfig(
        kid_subsets=10,
        kid_subset_size=1000,
        kid_degree=1,
        diversity_pairs=20,
        pr_k=3,
        pr_samples=1000,
        contact_mm=5.0,
        seed=0,
        judge_samples=2,
    )


def _interhandgen(n: int, fixtures: pytest.FixtureRequest) -> None:
    from handflow.papers.interhandgen.evaluate import set_metrics

    cfg = _ihg_config()
    rng = np.random.default_rng(0)
    with pytest.raises(ComputationError, match=r"KID: set 'b' has \d samples, needs at least 2"):
        set_metrics(rng.normal(size=(20, 8)), rng.normal(size=(n, 8)), [PairContact(0.0, 0.0, 1.0)] * n, cfg, rng)


def _digit(n: int, fixtures: pytest.FixtureRequest) -> None:
    from handflow.papers.digit.evaluate import _summary

    with pytest.raises(ComputationError, match=rf"DIGIT evaluation: {n} test image"):
        _summary(lambda idx: {"mpjpe_all": 1.0}, n, 10)


def _affordance(n: int, fixtures: pytest.FixtureRequest) -> None:
    import torch

    from handflow.papers.affordance.evaluate import EvaluateConfig, Judges, _metrics

    rng = np.random.default_rng(0)
    judges = Judges(hands=lambda images: [[] for _ in images], features=lambda images: rng.normal(size=(len(images), 8)))
    cfg = EvaluateConfig(kid_subsets=10, reference="same_objects", contact_mm=20.0, fingertip_reach=0.04)
    with pytest.raises(ComputationError, match=rf"has {n} samples, needs at least 2"):
        _metrics(judges, torch.zeros(n, 3, 16, 16), np.zeros((n, 16, 16), bool), rng.normal(size=(20, 8)), cfg, rng)


def _s2h(n: int, fixtures: pytest.FixtureRequest) -> None:
    """No test window at all (every clip shorter than the window): no S value, not a mean of nothing."""
    from handflow.papers.s2h.dataset import MixHand
    from handflow.papers.s2h.evaluate import evaluate_method

    data = MixHand.load(fixtures.getfixturevalue("s2h_mixhand"))
    with pytest.raises(ComputationError, match=r"S2H evaluation: no 100000-frame"):
        evaluate_method("copy_bs", None, data, 100_000, 1)


def _dhpc(n: int, fixtures: pytest.FixtureRequest) -> None:
    from handflow.papers.dhpc.evaluate import image_metrics, mpjpe, pck

    rng = np.random.default_rng(0)
    ref = rng.normal(size=(20, 8))
    with pytest.raises(ComputationError, match=rf"has {n} samples, needs at least 2"):
        image_metrics(rng.normal(size=(n, 8)), ref, rng.normal(size=(n, 8)), ref, rng)
    if n == 0:
        with pytest.raises(ComputationError, match="PCK"):
            pck(np.zeros((0, 14, 2)), np.zeros((0, 14, 3)))
        with pytest.raises(ComputationError, match="MPJPE"):
            mpjpe(np.zeros((0, 14, 3)), np.zeros((0, 14, 3)))


DEGENERATE: dict[str, Callable[[int, pytest.FixtureRequest], None]] = {
    "interhandgen": _interhandgen,
    "digit": _digit,
    "affordance": _affordance,
    "s2h": _s2h,
    "dhpc": _dhpc,
}
PAPERS = sorted(set(command_modules()) - set(SHARED_GROUPS))


def test_every_paper_has_its_degenerate_case():
    assert sorted(DEGENERATE) == PAPERS, "a paper's evaluation on too little input must be tested here"


@pytest.mark.parametrize("n", [0, 1])
@pytest.mark.parametrize("paper", PAPERS)
def test_evaluations_refuse_fewer_than_two_samples(paper, n, request):
    DEGENERATE[paper](n, request)


def test_interhandgen_set_metrics_on_two_samples_are_numbers():
    from handflow.papers.interhandgen.evaluate import set_metrics

    cfg = _ihg_config()
    rng = np.random.default_rng(0)
    real, fake = rng.normal(size=(20, 8)), rng.normal(size=(2, 8))
    out = set_metrics(real, fake, [PairContact(0.0, 0.0, 1.0)] * 2, cfg, rng)
    assert all(np.isfinite(v) for v in out.values())
