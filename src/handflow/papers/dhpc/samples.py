"""Generated image files (text-only samples, corrections, the synthetic training set): written whole, read back checked."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import h5py
import numpy as np

from handflow.errors import InputError
from handflow.papers.dhpc.skeleton import KEYPOINTS
from handflow.storage.atomic import atomic_path
from handflow.storage.hdf5_files import TEXT, Field, json_attribute, open_hdf5, read_fields, texts


def write(path: Path, group: str, arrays: dict[str, np.ndarray], prompts: list[str], attrs: dict) -> None:
    """One group of arrays (`image` (N, S, S, 3) uint8 first among them) and the prompts, with `attrs` as JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.attrs["image_size"] = arrays["image"].shape[1]
        for key, value in attrs.items():
            f.attrs[key] = json.dumps(value)
        g = f.create_group(group)
        for key, value in arrays.items():
            g.create_dataset(key, data=value, compression="gzip" if value.ndim > 2 else None)
        g.create_dataset("caption", data=np.array(prompts, dtype=h5py.string_dtype()))


_N, _S = "images", "side"
FIELDS = {
    "image": Field((_N, _S, _S, 3), dtype="uint8"),
    "caption": Field((_N,), TEXT),
    "seed": Field((_N,), "iu"),
    "source": Field((_N,), "iu"),  # a correction's input in the text-only samples
    "row": Field((_N,), "iu"),
    "guide": Field((_N,), "iu"),
    "depth": Field((_N, _S, _S), finite=True),
    "kp2d": Field((_N, len(KEYPOINTS), 3), finite=True),
}


def read(
    path: Path, group: str, fields: tuple[str, ...], attrs: Mapping[str, type] | None = None
) -> tuple[dict[str, np.ndarray], list[str], dict]:
    """The arrays `fields` (of `FIELDS`) of `group` with its `image`, its prompts, and the file's attributes decoded,
    those named in `attrs` required of their type; one line naming what is missing or malformed."""
    with open_hdf5(path) as f:
        if not isinstance(f.get(group), h5py.Group):
            raise InputError(path, group, "missing group")
        out = read_fields(f[group], path, {k: FIELDS[k] for k in ("image", *fields, "caption")})
        decoded = {k: json_attribute(f, path, k, object) for k in f.attrs if k != "image_size"}
    for name, kind in (attrs or {}).items():
        if isinstance(decoded.get(name), bool) or not isinstance(decoded.get(name), kind):
            raise InputError(path, name, f"{decoded.get(name)!r}, expected a JSON {kind.__name__}")
    return out, texts(out.pop("caption")), decoded
