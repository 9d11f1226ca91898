"""Stage 1: interacting two-hand frames of the preprocessed InterHand2.6M in the seed's representation.

Selection as IntagHand's preprocessing (which the seed trains on): interacting
frames whose MANO fits exist for both hands. One row per capture time step (the
preprocessed HDF5 is already de-duplicated across cameras; IntagHand keeps one
row per camera image, which repeats each pose once per camera). The dark-image
filter needs the RGB images and is left out, as the seed's "skip image
preprocessing" path does.

Output per split: `pairs` (N, 2, 64) raw (unnormalised), `pairs_swapped` (the
mirrored scene, for augmentation), `capture`, `frame_idx`. The training split's
normalisation statistics are written beside it.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from handflow.datasets.interhand.preprocess import HAND_TYPE_CODES, read_preprocessed
from handflow.errors import InputError
from handflow.hand.model import HandModel
from handflow.papers.interhandgen.representation import DIM, MIDDLE_MCP, HandParams, Normalizer, canonical_pair, mirror_hand
from handflow.storage.atomic import atomic_path

SCHEMA_VERSION = 1


def _side(h5: h5py.File, side: str, rows: np.ndarray) -> HandParams:
    g = h5[side]
    return HandParams(
        pca=np.asarray(g["pca"][...], np.float64)[rows],
        shape=np.asarray(g["shape"][...], np.float64)[rows],
        rotmat=np.asarray(g["root_rotmat"][...], np.float64)[rows],
        mcp=np.asarray(g["joints"][...], np.float64)[rows, MIDDLE_MCP],
    )


def build_pairs(preprocessed: Path, hands: dict[str, HandModel]) -> dict[str, np.ndarray]:
    with read_preprocessed(preprocessed) as h5:
        # the seed's (IntagHand's) selection: interacting, with a valid hand type, and MANO fits for both hands
        interacting = (h5["hand_type"][...] == HAND_TYPE_CODES["interacting"]) & h5["hand_type_valid"][...]
        rows = np.flatnonzero(interacting & h5["right/valid"][...] & h5["left/valid"][...])
        left, right = _side(h5, "left", rows), _side(h5, "right", rows)
        capture, frame_idx = h5["capture"][...][rows], h5["frame_idx"][...][rows]
    pairs = canonical_pair(left, right)
    swapped = canonical_pair(mirror_hand(right, hands["right"], hands["left"]), mirror_hand(left, hands["left"], hands["right"]))
    return {"pairs": pairs, "pairs_swapped": swapped, "capture": capture, "frame_idx": frame_idx}


def write_pairs(out: Path, data: dict[str, np.ndarray], provenance: dict[str, str]) -> None:
    with atomic_path(out) as tmp, h5py.File(tmp, "w") as h5:
        h5.attrs.update(
            {
                **provenance,
                "schema_version": SCHEMA_VERSION,
                "layout": "[pose PCA 45 | shape 10 | rot6d 6 | trans 3]",
                "hands": "0 = anchor (left, canonical), 1 = add (right, relative)",
                "units": "metres",
            }
        )
        for key, value in data.items():
            h5[key] = value


def read_pairs(path: Path, key: str = "pairs") -> np.ndarray:
    """(N, 2, 64) raw pairs, checked."""
    try:
        with h5py.File(path, "r") as h5:
            if h5.attrs.get("schema_version") != SCHEMA_VERSION:
                raise InputError(path, "schema_version", f"{h5.attrs.get('schema_version')!r}, expected {SCHEMA_VERSION}")
            if key not in h5 or not isinstance(h5[key], h5py.Dataset):
                raise InputError(path, key, "missing")
            if h5[key].dtype.kind not in "biuf":
                raise InputError(path, key, f"dtype {h5[key].dtype}, expected numbers")
            pairs = np.asarray(h5[key][...], np.float64)
    except OSError as exc:
        raise InputError(path, None, f"not a readable HDF5 file: {exc}") from None
    if pairs.ndim != 3 or pairs.shape[1:] != (2, DIM):
        raise InputError(path, key, f"shape {pairs.shape}, expected (N, 2, {DIM})")
    if not np.isfinite(pairs).all():
        raise InputError(path, key, "contains NaN or inf")
    return pairs


def training_statistics(pairs: np.ndarray, swapped: np.ndarray | None) -> Normalizer:
    return Normalizer.fit(pairs if swapped is None else np.concatenate([pairs, swapped]))


def write_dataset(
    train: Path,
    test: Path,
    hands: dict[str, HandModel],
    swap_augmentation: bool,
    provenance: dict[str, str],
    out_train: Path,
    out_test: Path,
    out_stats: Path,
) -> dict[str, float]:
    """Both splits' pairs, and the normalisation statistics of the training split (with its mirrored scenes when swapping)."""
    counts = {}
    for split, src, dst in (("train", train, out_train), ("test", test, out_test)):
        data = build_pairs(src, hands)
        if len(data["pairs"]) < 2:
            raise InputError(src, "hand_type", f"{len(data['pairs'])} interacting frames with both MANO fits; at least 2 are needed")
        write_pairs(dst, data, {**provenance, "split": split})
        counts[f"{split}_pairs"] = float(len(data["pairs"]))
        if split == "train":
            stats = training_statistics(data["pairs"], data["pairs_swapped"] if swap_augmentation else None)
            with atomic_path(out_stats) as tmp:
                stats.save(tmp)
    return counts
