"""A preprocessed InterHand2.6M split read back (the HDF5 `preprocess` writes): every field declared and checked.

InterHandGen's pairs, Semantics2Hands' MANO-side runs and the dataset report read these
files; each asks for the fields it uses and gets them only when the whole file has the
declared form (schema version, shapes sharing one time-step count, dtypes, finite fits).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from handflow.datasets.interhand.preprocess import SCHEMA_VERSION, SIDES
from handflow.errors import InputError
from handflow.storage.hdf5_files import TEXT, Field, attribute, check_fields, check_version, open_hdf5, read_fields


def _fields() -> dict[str, Field]:
    n = "time steps"
    fields = {
        "capture": Field((n,), "iu"),
        "frame_idx": Field((n,), "iu"),
        "subject": Field((n,), "iu"),
        "seq_name": Field((n,), TEXT),
        "hand_type": Field((n,), "iu"),
        "hand_type_valid": Field((n,), "b"),
        "joints_world": Field((n, 42, 3)),
        "joint_valid": Field((n, 42), "b"),
    }
    for side in SIDES:
        fields |= {
            f"{side}/valid": Field((n,), "b"),
            f"{side}/fit_error_mm": Field((n,)),  # NaN where no valid joint measures the fit
            **{f"{side}/{key}": Field((n, *shape), finite=True) for key, shape in _HAND.items()},
        }
    return fields


_HAND = {"global_orient": (3,), "hand_pose": (45,), "shape": (10,), "trans": (3,), "pca": (45,), "root_rotmat": (3, 3), "joints": (21, 3)}
FIELDS = _fields()


@dataclass
class Preprocessed:
    split: str
    arrays: dict[str, np.ndarray]


def read_preprocessed(path: Path, keys: Iterable[str]) -> Preprocessed:
    """The split's name and the fields `keys` (names of `FIELDS`), once the schema version and every declared field's
    form are checked."""
    with open_hdf5(path) as h5:
        check_version(h5, path, SCHEMA_VERSION, "preprocess")
        split = attribute(h5, path, "split")
        if not isinstance(split, str):
            raise InputError(path, "split", f"{split!r}, expected the split's name")
        sizes = check_fields(h5, path, FIELDS)
        return Preprocessed(split, read_fields(h5, path, {k: FIELDS[k] for k in keys}, sizes))
