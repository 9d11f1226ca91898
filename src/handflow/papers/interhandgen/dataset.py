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

from handflow.datasets.interhand.preprocess import HAND_TYPE_CODES
from handflow.datasets.interhand.preprocessed import read_preprocessed
from handflow.errors import InputError
from handflow.hand.model import HandModel
from handflow.papers.interhandgen.representation import DIM, MIDDLE_MCP, HandParams, Normalizer, canonical_pair, mirror_hand
from handflow.storage.atomic import atomic_path
from handflow.storage.hdf5_files import NUMBERS, Field, check_version, open_hdf5, read_fields

SCHEMA_VERSION = 1


def _side(cols: dict[str, np.ndarray], side: str, rows: np.ndarray) -> HandParams:
    pick = lambda key: np.asarray(cols[f"{side}/{key}"], np.float64)[rows]  # noqa: E731
    return HandParams(pca=pick("pca"), shape=pick("shape"), rotmat=pick("root_rotmat"), mcp=pick("joints")[:, MIDDLE_MCP])


def build_pairs(preprocessed: Path, hands: dict[str, HandModel]) -> dict[str, np.ndarray]:
    hand_keys = [f"{side}/{key}" for side in ("left", "right") for key in ("valid", "pca", "shape", "root_rotmat", "joints")]
    h5 = read_preprocessed(preprocessed, ["hand_type", "hand_type_valid", "capture", "frame_idx", *hand_keys]).arrays
    # the seed's (IntagHand's) selection: interacting, with a valid hand type, and MANO fits for both hands
    interacting = (h5["hand_type"] == HAND_TYPE_CODES["interacting"]) & h5["hand_type_valid"]
    rows = np.flatnonzero(interacting & h5["right/valid"] & h5["left/valid"])
    left, right = _side(h5, "left", rows), _side(h5, "right", rows)
    capture, frame_idx = h5["capture"][rows], h5["frame_idx"][rows]
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
    with open_hdf5(path) as h5:
        check_version(h5, path, SCHEMA_VERSION, "dataset")
        pairs = read_fields(h5, path, {key: Field(("N", 2, DIM), NUMBERS, finite=True)})[key]
    return np.asarray(pairs, np.float64)


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
