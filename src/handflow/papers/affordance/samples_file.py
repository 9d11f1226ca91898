"""A row's samples file: the images drawn for each synthesis input and seed, their layouts, and which test pairs they are
for; `evaluate.sample_variant` writes it, the evaluation and the figure read it back checked."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from handflow.errors import InputError
from handflow.storage.atomic import atomic_path
from handflow.storage.hdf5_files import Field, attribute, open_hdf5, read_fields


def write_samples(out: Path, images: np.ndarray, layouts: np.ndarray, inputs: np.ndarray, attrs: dict) -> None:
    """Images (seeds, N, S, S, 3) uint8, their layouts (seeds, N, 5; NaN without one) and the test pairs drawn for."""
    with atomic_path(out) as tmp, h5py.File(tmp, "w") as h5:
        h5.create_dataset("images", data=images)
        h5.create_dataset("layouts", data=layouts.astype(np.float32))
        h5.create_dataset("inputs", data=inputs)
        h5.attrs.update(attrs)


SAMPLE_FIELDS = {
    "images": Field(("seeds", "inputs", "side", "side", 3), dtype="uint8"),
    "layouts": Field(("seeds", "inputs", 5)),  # NaN: a row drawn without a layout
    "inputs": Field(("inputs",), "iu"),
}


def read_samples(path: Path) -> tuple[dict[str, np.ndarray], int]:
    """A samples file (`sample_variant` writes it): its arrays (`SAMPLE_FIELDS`) and how many ContentNet trainings drew them."""
    with open_hdf5(path) as h5:
        data = read_fields(h5, path, SAMPLE_FIELDS)
        trainings = attribute(h5, path, "content_trainings", 1)
    if isinstance(trainings, bool | np.bool_) or not isinstance(trainings, int | np.integer) or trainings < 1:
        raise InputError(path, "content_trainings", f"{trainings!r}, expected a positive integer")
    if (data["inputs"] < 0).any():
        raise InputError(path, "inputs", "a negative test-pair index")
    return data, int(trainings)
