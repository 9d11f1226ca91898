"""Generated image files (text-only samples, corrections, the synthetic training set): written whole, read back checked."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np

from handflow.errors import InputError
from handflow.storage.atomic import atomic_path


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


def read(path: Path, group: str, fields: tuple[str, ...]) -> tuple[dict[str, np.ndarray], list[str], dict]:
    """The arrays `fields` of `group`, its prompts and the file's attributes; one line naming what is missing or malformed."""
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise InputError(path, None, f"not a readable HDF5 file ({exc.__class__.__name__})") from None
    with f:
        if group not in f:
            raise InputError(path, group, "missing group")
        g = f[group]
        out = {}
        for key in ("image", *fields, "caption"):
            if key not in g:
                raise InputError(path, f"{group}/{key}", "missing field")
            out[key] = g[key][()]
        n = len(out["image"])
        if out["image"].ndim != 4 or out["image"].shape[-1] != 3 or out["image"].dtype != np.uint8:
            raise InputError(path, f"{group}/image", f"shape {out['image'].shape} {out['image'].dtype}, expected (N, S, S, 3) uint8")
        for key, value in out.items():
            if len(value) != n:
                raise InputError(path, f"{group}/{key}", f"{len(value)} entries for {n} images")
            if value.dtype.kind == "f" and np.isinf(value).any():  # NaN is allowed: a score without a person
                raise InputError(path, f"{group}/{key}", "infinite values")
        attrs = {k: json.loads(v) for k, v in f.attrs.items() if k != "image_size"}
    prompts = [c.decode() if isinstance(c, bytes) else str(c) for c in out.pop("caption")]
    return out, prompts, attrs
