"""Stage 5: metrics of a sample set against the test split, per repeat, then mean and std.

FHID and KHID are the Fréchet and kernel distances of our feature network's
features (see features.py; not comparable with the paper's absolute values),
diversity the mean feature distance of random pairs, precision and recall the
k-NN manifold estimates, and the contact measures come from the closed meshes
(metrics.contact). The ground-truth row compares the training split with the test
split: the floor each metric can reach with this data and feature network.

Plausibility read by a network that never saw our data (`judge_pairs`): the first
`judge_samples` pairs of each repeat are rendered in skin from the canonical front view
and MediaPipe Hands (`handflow.judges.hands`) looks for them: the share in which it finds
both hands, and how far its landmarks fall from the pair's own projected joints (each hand
it finds matched to the nearer of the two). The ground-truth row's training pairs, judged
the same way, are the calibration.
"""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from handflow.compute import CPU, Compute
from handflow.config import Section
from handflow.hand.joints import IH26M_TO_OPENPOSE
from handflow.judges.hands import HandLandmarker
from handflow.metrics.contact import PairContact, PenetrationError, pair_contact
from handflow.metrics.generative import diversity, frechet_distance, kernel_distance, precision_recall
from handflow.papers.interhandgen.dataset import read_pairs
from handflow.papers.interhandgen.diffusion import Guidance
from handflow.papers.interhandgen.features import FeatureExtractor, decode_pairs
from handflow.papers.interhandgen.render import SKIN_ALBEDO, render_pair
from handflow.papers.interhandgen.representation import TwoHandDecoder
from handflow.papers.interhandgen.sample import SampleConfig, decoder_on, draw, make_sampler, read_samples
from handflow.papers.interhandgen.variants import VARIANTS


@dataclass(frozen=True)
class EvaluateConfig(Section):
    """params `interhandgen.evaluate`."""

    kid_subsets: int
    kid_subset_size: int  # capped at the set sizes
    kid_degree: int  # the released evaluator's KHID: 1 (linear kernel, gamma 1/dim, coef0 1); KID's usual cubic is its own column
    diversity_pairs: int
    pr_k: int
    pr_samples: int  # capped at the set sizes
    contact_mm: float  # proximity: the two meshes come this close without intersecting
    seed: int
    judge_samples: int  # pairs per repeat rendered for the hand judge


@dataclass(frozen=True)
class SweepConfig(Section):
    """params `interhandgen.sweep`: penetration against the APG weight."""

    multipliers: tuple[float, ...]
    n_samples: int


METRICS = (
    "fhid",
    "khid",
    "kid_cubic",
    "diversity",
    "precision",
    "recall",
    "penetration_volume_cm3",
    "penetration_depth_cm",
    "proximity_ratio",
    "both_hands_found",
    "landmark_error_px",
)
JUDGE_SIDE = 256  # the judge's renders, pixels


def judge_pairs(judge: HandLandmarker, decoder: TwoHandDecoder, verts: np.ndarray, joints: np.ndarray) -> dict[str, float]:
    """The hand judge on skin renders of (N, V, 3) pairs (see the module docstring); the error is NaN when it finds no hand."""
    found_both, errors = [], []
    for v, j in zip(verts, joints, strict=True):
        view = render_pair(decoder, v, 0.0, JUDGE_SIDE, j, SKIN_ALBEDO)
        truth = [view.joints[IH26M_TO_OPENPOSE], view.joints[21 + IH26M_TO_OPENPOSE]]  # right, left; MediaPipe's order
        hands = judge(view.image[None])[0][:2]
        found_both.append(len(hands) == 2)
        if hands:  # each hand found matched to a hand of the pair, the assignment of least total error
            per_order = [
                [float(np.linalg.norm(h.landmarks - truth[k], axis=1).mean()) for h, k in zip(hands, order, strict=False)]
                for order in itertools.permutations((0, 1))
            ]
            errors += min(per_order, key=sum)
    return {"both_hands_found": float(np.mean(found_both)), "landmark_error_px": float(np.mean(errors)) if errors else float("nan")}


def contacts(decoder: TwoHandDecoder, verts: np.ndarray, label: str) -> list[PairContact]:
    """Contact measures of each pair of (N, V, 3) two-hand vertices, wrist-sealed; a failure names the sample."""
    sealed = decoder.sealed(torch.as_tensor(verts, dtype=torch.float64)).numpy()
    n_left = decoder.left.n_vertices + 1
    faces_left, faces_right = decoder.left.sealed_faces.numpy(), decoder.right.sealed_faces.numpy()
    out = []
    for i, v in enumerate(sealed):
        try:
            out.append(pair_contact(v[:n_left], faces_left, v[n_left:], faces_right))
        except PenetrationError as exc:
            raise PenetrationError(f"{label} sample {i}: {exc}") from None
    return out


def set_metrics(
    real_feat: np.ndarray, fake_feat: np.ndarray, fake_contacts: list[PairContact], e: EvaluateConfig, rng: np.random.Generator
) -> dict[str, float]:
    khid, _ = kernel_distance(real_feat, fake_feat, e.kid_subsets, e.kid_subset_size, e.kid_degree, rng)
    kid_cubic, _ = kernel_distance(real_feat, fake_feat, e.kid_subsets, e.kid_subset_size, 3, rng)
    n_pr = min(e.pr_samples, len(real_feat), len(fake_feat))
    k = min(e.pr_k, n_pr - 1)
    precision, recall = precision_recall(
        real_feat[rng.choice(len(real_feat), n_pr, replace=False)], fake_feat[rng.choice(len(fake_feat), n_pr, replace=False)], k
    )
    vol = np.array([c.volume_cm3 for c in fake_contacts])
    # in contact and not interpenetrating: a model that pushes its hands into each other does not score here
    proximity = np.array([c.min_distance_mm < e.contact_mm for c in fake_contacts]) & (vol == 0)
    return {
        "fhid": frechet_distance(real_feat, fake_feat),
        "khid": khid,
        "kid_cubic": kid_cubic,
        "diversity": diversity(fake_feat, e.diversity_pairs, rng),
        "precision": precision,
        "recall": recall,
        "penetration_volume_cm3": float(vol.mean()),
        "penetration_depth_cm": float(np.mean([c.depth_cm for c in fake_contacts])),
        "proximity_ratio": float(proximity.mean()),
    }


def _summary(per_repeat: list[dict[str, float]]) -> dict[str, dict]:
    """Mean, std and the values over repeats; a repeat with no value (the judge found no hand) is null, never NaN."""
    out = {}
    for m in METRICS:
        values = [r[m] for r in per_repeat]
        ok = [v for v in values if np.isfinite(v)]
        out[m] = {
            "mean": float(np.mean(ok)) if ok else None,
            "std": float(np.std(ok)) if ok else None,
            "values": [v if np.isfinite(v) else None for v in values],
        }
    return out


def evaluate_samples(
    samples: Path, test_pairs: Path, features: Path, decoder: TwoHandDecoder, e: EvaluateConfig, judge: HandLandmarker
) -> dict:
    extractor = FeatureExtractor(features)
    verts, repeat, params = read_samples(samples, decoder.left.n_vertices + decoder.right.n_vertices)
    real = extractor(decode_pairs(decoder, read_pairs(test_pairs))[0])
    per_repeat = []
    for r in np.unique(repeat):
        rng = np.random.default_rng([e.seed, int(r)])
        fake = verts[repeat == r]
        values = set_metrics(real, extractor(fake), contacts(decoder, fake, f"{samples} repeat {r}"), e, rng)
        judged_verts, judged_joints = decode_pairs(decoder, params[repeat == r][: e.judge_samples])
        per_repeat.append(values | judge_pairs(judge, decoder, judged_verts, judged_joints))
    return {
        "n_samples": int((repeat == repeat[0]).sum()),
        "n_repeats": len(per_repeat),
        "n_test": len(real),
        "judges": {"hands": judge.provenance()},
        "metrics": _summary(per_repeat),
    }


def evaluate_ground_truth(
    train_pairs: Path,
    test_pairs: Path,
    features: Path,
    decoder: TwoHandDecoder,
    e: EvaluateConfig,
    n_samples: int,
    n_repeats: int,
    judge: HandLandmarker,
) -> dict:
    """The floor (and the hand judge's calibration): training pairs (a fresh random subset of `n_samples` per repeat)."""
    extractor = FeatureExtractor(features)
    real = extractor(decode_pairs(decoder, read_pairs(test_pairs))[0])
    train_verts, train_joints = decode_pairs(decoder, read_pairs(train_pairs))
    train_feat = extractor(train_verts)
    # subsets of n_samples like the sampled rows; with replacement when the split has no more pairs than that,
    # so the repeats differ and the row has a spread (without replacement they would all be the whole split)
    n, replace = min(n_samples, len(train_verts)), n_samples >= len(train_verts)
    per_repeat = []
    for r in range(n_repeats):
        rng = np.random.default_rng([e.seed, r])
        pick = np.sort(rng.choice(len(train_verts), n, replace=replace))
        values = set_metrics(real, train_feat[pick], contacts(decoder, train_verts[pick], f"{train_pairs}"), e, rng)
        judged = pick[: e.judge_samples]
        per_repeat.append(values | judge_pairs(judge, decoder, train_verts[judged], train_joints[judged]))
    return {
        "n_samples": n,
        "n_repeats": len(per_repeat),
        "n_test": len(real),
        "judges": {"hands": judge.provenance()},
        "metrics": _summary(per_repeat),
    }


def apg_sweep(
    model_path: Path,
    decoder: TwoHandDecoder,
    sample: SampleConfig,
    sweep: SweepConfig,
    sampling_steps: int,
    seed: int,
    compute: Compute = CPU,
) -> dict:
    """Penetration against the APG weight (a multiplier of every APG step); the same noise for every weight. Sampled on
    `compute`, the penetration volumes measured on the CPU."""
    rows = []
    full, on_device = VARIANTS["full"], decoder_on(decoder, compute)
    for mult in sweep.multipliers:
        apg = dataclasses.replace(sample.apg, multiplier=mult) if mult > 0 else None
        sampler = make_sampler(full, model_path, on_device, sampling_steps, Guidance(sample.cfg_weight, apg), compute)
        verts, _ = decode_pairs(on_device, draw(sampler, sweep.n_samples, sample.batch_size, seed))
        found = contacts(decoder, verts, f"sweep weight {mult}")
        vol = np.array([c.volume_cm3 for c in found])
        rows.append(
            {
                "apg_weight": mult,
                "penetration_volume_cm3": float(vol.mean()),
                "penetration_volume_cm3_std": float(vol.std()),
                "penetration_depth_cm": float(np.mean([c.depth_cm for c in found])),
                "penetrating_share": float((vol > 0).mean()),
            }
        )
    return {"n_samples": sweep.n_samples, "cfg_weight": sample.cfg_weight, "apg": sample.apg.to_dict(), "rows": rows}
