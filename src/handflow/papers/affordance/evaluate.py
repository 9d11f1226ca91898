"""Sampling the table's variants and scoring every row with judges no one here trained (`judging`): hands, contact, FID.

The held-out pairs are split in two by video (alternating within each category; by frame
when a category has a single video): synthesis runs on the object images of the first
half. FID and KID compare every row's images with a reference set of real HOI crops chosen
by `evaluate.reference`: `same_objects` (the default, the seed's `corrsp_hoi_only`) the real
crops of the very pairs whose object images were the inputs, so the ground-truth row is the
reference itself and has no FID/KID of its own; `other_half` the real crops of the second
half (other videos of the same held-out instances), so the ground-truth row is a floor that
is not zero by construction. KID takes subsets of min(N, 1000) images as clean-fid: below
1000 images every subset is the whole set and KID has no subset spread, so its ± (like
FID's) is over sampling seeds only. Each generated variant is sampled `n_seeds` times; a row's value is the mean
over seeds with its standard error (sampling noise only: one trained model per network).

Hand presence and contact recall are MediaPipe Hands' reading (`judging`: a fingertip on
the object's visible pixels), FID and KID are on EfficientNet-Lite0's ImageNet features;
every image is judged at the network's size (the reference rows' real crops and object
images resized to it). Where the pairs carry the object's depth (embedded data), every
image the judge finds a hand in is also lifted to 3D by our hand-pose network and scored
against it (`hand_contact`, our check, not the seed's): penetration depth and the share in
3D contact; the ground-truth row adds the same numbers for the true hands.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from handflow.compute import CPU, Compute
from handflow.config import Section
from handflow.diffusion import resize_images, to_tensor, to_uint8
from handflow.errors import InputError
from handflow.judges.features import ImageFeatures
from handflow.judges.hands import HandLandmarker
from handflow.metrics.generative import frechet_distance, kernel_distance
from handflow.papers.affordance.hand_contact import hand_contact_metrics, place_hand
from handflow.papers.affordance.judging import read_hands
from handflow.papers.affordance.networks import load_network
from handflow.papers.affordance.pair_data import PairSet, read_pairs_file
from handflow.papers.affordance.sample import SampleConfig, keep_masks, sample_content, sample_layouts
from handflow.papers.affordance.samples_file import read_samples, write_samples
from handflow.papers.affordance.variants import VARIANTS


def halves(vids: list[str], categories: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the synthesis inputs and of the reference set (see the module docstring)."""
    a, b = [], []
    for c in np.unique(categories):
        idx = np.flatnonzero(categories == c)
        videos = list(dict.fromkeys(vids[i] for i in idx))
        if len(videos) >= 2:
            for i in idx:
                (a if videos.index(vids[i]) % 2 == 0 else b).append(i)
        else:
            a += list(idx[0::2])
            b += list(idx[1::2])
    return np.array(sorted(a)), np.array(sorted(b))


def test_pairs(path: Path, size: int) -> tuple[PairSet, np.ndarray, np.ndarray]:
    data = PairSet.load(path, size)
    a, b = halves(data.vid, data.category.numpy())
    if len(a) < 2 or len(b) < 2:
        raise InputError(path, None, f"{len(a)} synthesis inputs and {len(b)} reference images; at least 2 of each needed")
    return data, a, b


def reference_indices(a: np.ndarray, b: np.ndarray, protocol: str) -> np.ndarray:
    """The held-out pairs whose real crops FID/KID compare with (module docstring): the inputs' own, or the other half."""
    if protocol not in REFERENCE_SETS:
        raise ValueError(f"evaluate.reference {protocol!r}: one of {REFERENCE_SETS}")  # params are schema-checked
    return a if protocol == "same_objects" else b


def mean_layout(train_pairs: Path, size: int) -> torch.Tensor:
    """The trivial layout: the training layouts' mean, its direction renormalised."""
    lay = PairSet.load(train_pairs, size).layout[0].mean(0)
    lay[3:5] = lay[3:5] / lay[3:5].norm().clamp_min(1e-6)
    return lay


REFERENCE_SETS = ("same_objects", "other_half")


@dataclass(frozen=True)
class EvaluateConfig(Section):
    """params `affordance.evaluate`."""

    kid_subsets: int
    reference: str  # same_objects (the seed's) | other_half: FID/KID's real crops (module docstring)
    contact_mm: float  # 3D contact: a joint this near the object's surface
    fingertip_reach: float  # 2D contact: a fingertip within this fraction of the image side of the object's pixels


def sample_variant(
    row: str,
    test: Path,
    models: dict[str, Path | list[Path]],
    train_pairs: Path,
    cfg: SampleConfig,
    seed: int,
    out: Path,
    provenance: dict,
    compute: Compute = CPU,
) -> dict[str, float]:
    """`cfg.n_seeds` samples of the variant (a sampled row) for every synthesis input, to HDF5 (images uint8, layouts);
    `models`: the model files of `variants.MODELS` by name (those the variant uses). The networks' passes run on
    `compute` (its device, in its autocast); noise comes from CPU generators, so a seed draws the same on any device."""
    v = VARIANTS[row]
    n_seeds, sampler, steps, batch = cfg.n_seeds, cfg.sampler, cfg.steps, cfg.batch_size
    files = models[v.content] if isinstance(models[v.content], list) else [models[v.content]]
    contents = [load_network(f, v.content) for f in files]  # draw s uses training s mod len: the ± is over trainings
    sizes = {c["config"]["image_size"] for _, c in contents}
    if len(sizes) != 1:
        raise InputError(files[0], "config.image_size", f"the ContentNet trainings work at different sizes {sorted(sizes)}")
    size = sizes.pop()
    for net, _ in contents:
        compute.prepare(net)
    data, a, _ = test_pairs(test, size)
    layout_net = compute.prepare(load_network(models[v.layout], v.layout)[0]) if v.layout in ("layout", "layout_nomask") else None
    fixed = mean_layout(train_pairs, size) if v.layout == "mean" else None
    images, layouts = [], []
    for s in range(n_seeds):
        g = torch.Generator().manual_seed(seed * 1000 + s)
        img_s, lay_s = [], []
        for start in range(0, len(a), batch):
            obj = data.obj[a[start : start + batch]]
            if layout_net is not None:
                with compute.autocast():
                    lay = sample_layouts(layout_net, obj, sampler, steps, g).float()
            elif fixed is not None:
                lay = fixed[None].repeat(len(obj), 1)
            else:
                lay = None
            content = contents[s % len(contents)][0]
            with compute.autocast():
                drawn = sample_content(content, obj, keep_masks(lay, len(obj), size), sampler, steps, g)
            img_s.append(to_uint8(drawn.float()))
            lay_s.append(lay.cpu().numpy() if lay is not None else np.full((len(obj), 5), np.nan, np.float32))
        images.append(np.concatenate(img_s))
        layouts.append(np.concatenate(lay_s))
    attrs = {"row": row, "sampler": sampler, "steps": steps, "provenance": json.dumps(provenance), "content_trainings": len(contents)}
    write_samples(out, np.stack(images), np.stack(layouts), a, attrs)
    return {"images": float(len(a) * n_seeds), "content_trainings": float(len(contents))}


@dataclass
class Judges:
    """The judges of every row (`handflow.judges`), and what a results file records of them."""

    hands: HandLandmarker
    features: ImageFeatures

    @staticmethod
    def from_packages(device: torch.device | None = None) -> Judges:
        """MediaPipe runs on the CPU (its CPU graph); the feature network on `device`."""
        return Judges(HandLandmarker.from_package(), ImageFeatures.from_package(device))

    def provenance(self) -> dict[str, dict[str, str]]:
        return {"hands": self.hands.provenance(), "features": self.features.provenance()}


def _metrics(
    judges: Judges, images: torch.Tensor, obj_mask: np.ndarray, reference: np.ndarray, cfg: EvaluateConfig, rng: np.random.Generator
) -> tuple[dict, np.ndarray]:
    """One set of images' judged values (and which images have a hand), against the reference set's features."""
    pixels = to_uint8(images)
    hands = read_hands(judges.hands, pixels, obj_mask, cfg.fingertip_reach)
    feats = judges.features(pixels)
    kid = kernel_distance(feats, reference, cfg.kid_subsets, 1000, 3, rng)[0]  # cubic kernel, as clean-fid's KID
    values = {
        "fid": frechet_distance(feats, reference),
        "kid": kid,
        "hand_present": float(hands.present.mean()),
        "contact_recall": float(hands.contact.mean()),
        "n_images": float(len(pixels)),
    }
    return values, hands.present


@dataclass(frozen=True)
class Hand3D:
    """What the 3D hand scores need: the hand-pose network and the synthesis inputs' object depth and crop cameras."""

    net: torch.nn.Module
    depth: np.ndarray  # (A, 2, S, S) mm
    camera: np.ndarray  # (A, 4) fx, fy, cx, cy in pixels of the pairs' side
    side: int
    contact_mm: float

    @torch.no_grad()
    def joints(self, images: torch.Tensor) -> np.ndarray:
        """(A, 21, 3) camera-frame joints (mm) of the hands in (A, 3, s, s) images in [-1, 1]."""
        size = self.net.cfg.image_size
        x = images if images.shape[-1] == size else torch.nn.functional.interpolate(images, (size, size), mode="area")
        kps, rel = self.net(x)
        return place_hand(((kps + 1) / 2 * self.side).double().numpy(), rel.double().numpy() * 100.0, self.camera)

    def score(self, images: torch.Tensor, with_hand: np.ndarray) -> dict[str, float]:
        if not with_hand.any():
            return {}
        joints = self.joints(images)
        return hand_contact_metrics(joints[with_hand], self.depth[with_hand], self.camera[with_hand], self.contact_mm)


def true_joints(raw: dict[str, np.ndarray], index: np.ndarray, model_dir: Path) -> np.ndarray:
    """(A, 21, 3) camera-frame joints (mm) of the pairs' own hands, posed from their pickles' parameters."""
    from handflow.hand.model import create

    hand = create(model_dir, "right")
    f = lambda a: torch.as_tensor(a[index], dtype=torch.float32)  # noqa: E731
    with torch.no_grad():
        out = hand(f(raw["pose"])[:, :3], f(raw["pose"])[:, 3:] - hand.layer.hand_mean, f(raw["beta"]), f(raw["trans"]))
    return out.joints_openpose().double().numpy() * 1000.0


def evaluate_row(
    row: str,
    test: Path,
    size: int,
    samples: Path | None,
    cfg: EvaluateConfig,
    seed: int,
    handpose_path: Path,
    model_dir: Path,
    judges: Judges,
) -> dict:
    """Per-seed judged values of one row (a variant's samples, or a reference row) at the network's `size`."""
    data, a, b = test_pairs(test, size)
    reference = judges.features(to_uint8(data.hoi[reference_indices(a, b, cfg.reference)]))
    rng = np.random.default_rng(seed)
    raw = read_pairs_file(test)
    index = data.kept[a]
    hand3d = None
    if "obj_depth" in raw:
        net = load_network(handpose_path, "handpose")[0]
        hand3d = Hand3D(net, raw["obj_depth"][index], raw["crop_camera"][index].astype(np.float64), raw["hoi"].shape[1], cfg.contact_mm)
    if samples is None:
        sets = [data.hoi[a] if row == "gt" else data.obj[a]]
    else:
        drawn, trainings = read_samples(samples)
        if not np.array_equal(drawn["inputs"], a):
            raise InputError(samples, "inputs", "made from other test pairs than these: resample")
        sets = [to_tensor(resize_images(img, size)) for img in drawn["images"]]
    per_seed = []
    for imgs in sets:
        values, with_hand = _metrics(judges, imgs, data.obj_mask[a], reference, cfg, rng)
        per_seed.append(values | (hand3d.score(imgs, with_hand) if hand3d else {}))
    n_reference = len(reference_indices(a, b, cfg.reference))
    out = {"row": row, "judges": judges.provenance(), "per_seed": per_seed, "n_inputs": len(a), "n_reference": n_reference}
    out["reference"] = cfg.reference
    if samples is not None:
        out["content_trainings"] = trainings
    if hand3d is not None and row == "gt":
        truth = true_joints(raw, index, model_dir)
        out["true_hands"] = hand_contact_metrics(truth, hand3d.depth, hand3d.camera, cfg.contact_mm)
    return out
