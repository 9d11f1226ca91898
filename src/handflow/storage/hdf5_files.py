"""HDF5 files one stage writes and another reads: opened, checked and read with one clear error.

h5py reports a file that is not HDF5 or is cut short as OSError, a missing name as
KeyError, a group where a dataset should be or a read at the wrong type as TypeError or
ValueError; none of them names the field, and a file damaged on disk (a full disk, a copy
cut short, a file from an older handflow) would reach the user as a traceback. Each reader
declares its fields (`Field`: the shape with named sizes, the dtype kinds, finiteness) and
gets arrays that match them or one `InputError` line naming the file and the field.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from handflow.errors import InputError

NUMBERS = "biuf"
TEXT = "OSU"  # h5py's variable-length strings read as objects; fixed-length ones as bytes
_MISSING = object()


@dataclass(frozen=True)
class Field:
    """One dataset's declared form. `shape`: an int is that size, a string names a size every field of the read shares
    (the first field declaring it binds it); `kinds`: the numpy dtype kinds accepted, or `dtype`: exactly this one (uint8
    for images); `finite`: no NaN or inf."""

    shape: tuple[int | str, ...]
    kinds: str = "f"
    finite: bool = False
    optional: bool = False
    dtype: str | None = None


@contextmanager
def open_hdf5(path: Path | str) -> Iterator[h5py.File]:
    """The file, read-only. Its body must only read from it: h5py's OSError or RuntimeError raised there (a chunk cut
    short, a damaged index) is reported as this file's."""
    try:
        h5 = h5py.File(path, "r")
    except FileNotFoundError:
        raise InputError(path, None, "file not found") from None
    except OSError as exc:
        raise InputError(path, None, f"not a readable HDF5 file ({_first_line(exc)})") from None
    with h5:
        try:
            yield h5
        except (OSError, RuntimeError) as exc:  # RuntimeError: a damaged B-tree met while looking a name up
            raise InputError(path, None, f"unreadable HDF5 data ({_first_line(exc)})") from None


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [exc.__class__.__name__])[0]


def _label(h5: h5py.Group, key: str) -> str:
    """`key` as the file names it: within a group, `group/key`."""
    return f"{h5.name.strip('/')}/{key}".lstrip("/")


def _dataset(h5: h5py.Group, path: Path | str, key: str) -> h5py.Dataset:
    """`h5[key]`, which must be a dataset (h5py raises KeyError for a missing name, and a damaged link can raise more)."""
    try:
        node = h5.get(key)
    except (OSError, KeyError, ValueError, RuntimeError) as exc:
        raise InputError(path, _label(h5, key), f"unreadable ({_first_line(exc)})") from None
    if node is None:
        raise InputError(path, _label(h5, key), "missing")
    if not isinstance(node, h5py.Dataset):
        raise InputError(path, _label(h5, key), "is not a dataset")
    return node


def check_fields(h5: h5py.Group, path: Path | str, fields: Mapping[str, Field], sizes: Mapping[str, int] | None = None) -> dict[str, int]:
    """Each declared field present (unless optional) as a dataset of its kinds and shape, read from the metadata only;
    the named sizes (those given, then those bound here)."""
    bound = dict(sizes or {})
    for key, field in fields.items():
        if field.optional and key not in h5:
            continue
        node = _dataset(h5, path, key)
        if field.dtype is not None:
            if node.dtype != np.dtype(field.dtype):
                raise InputError(path, _label(h5, key), f"dtype {node.dtype}, expected {field.dtype}")
        elif node.dtype.kind not in field.kinds:
            raise InputError(
                path, _label(h5, key), f"dtype {node.dtype}, expected {'text' if field.kinds == TEXT else 'kinds ' + field.kinds}"
            )
        shape = node.shape
        if shape is None or len(shape) != len(field.shape):
            raise InputError(path, _label(h5, key), f"shape {shape}, expected {_shown(field.shape)}")
        for got, dim in zip(shape, field.shape, strict=True):
            if got != (bound.setdefault(dim, got) if isinstance(dim, str) else dim):
                raise InputError(path, _label(h5, key), f"shape {shape}, expected {_shown(field.shape, bound)}")
    return bound


def _shown(shape: tuple[int | str, ...], bound: Mapping[str, int] | None = None) -> str:
    return "(" + ", ".join(str((bound or {}).get(d, d)) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def read_fields(
    h5: h5py.Group, path: Path | str, fields: Mapping[str, Field], sizes: Mapping[str, int] | None = None
) -> dict[str, np.ndarray]:
    """The declared fields' arrays (optional ones only when present), checked as `check_fields` and for finiteness."""
    check_fields(h5, path, fields, sizes)
    out = {}
    for key, field in fields.items():
        if key not in h5:
            continue
        try:
            value = h5[key][()]
        except (OSError, RuntimeError, ValueError, TypeError) as exc:
            raise InputError(path, _label(h5, key), f"unreadable ({_first_line(exc)})") from None
        if field.finite and not np.isfinite(value).all():
            first = f" (first bad row {int(np.argmax(~np.isfinite(value).reshape(len(value), -1).all(1)))})" if value.ndim else ""
            raise InputError(path, _label(h5, key), f"contains NaN or inf{first}")
        out[key] = value
    return out


def read_hdf5(path: Path | str, fields: Mapping[str, Field], sizes: Mapping[str, int] | None = None) -> dict[str, np.ndarray]:
    """`read_fields` of a whole file."""
    with open_hdf5(path) as h5:
        return read_fields(h5, path, fields, sizes)


def attribute(h5: h5py.Group, path: Path | str, name: str, default: Any = _MISSING) -> Any:
    """An attribute as read (`default` when absent and one is given)."""
    try:
        return h5.attrs[name]
    except KeyError:
        if default is _MISSING:
            raise InputError(path, name, "missing attribute") from None
        return default
    except (OSError, TypeError, ValueError) as exc:
        raise InputError(path, name, f"unreadable attribute ({_first_line(exc)})") from None


def check_version(h5: h5py.Group, path: Path | str, expected: int, writer: str) -> None:
    """The file's integer `schema_version` attribute must be `expected`: a file from another version of `writer`."""
    version = attribute(h5, path, "schema_version", None)
    if not (isinstance(version, int | np.integer) and not isinstance(version, bool | np.bool_) and version == expected):
        shown = version.item() if isinstance(version, np.generic) else version
        raise InputError(path, "schema_version", f"{shown!r}, expected {expected} (rerun the {writer} stage)")


def json_attribute(h5: h5py.Group, path: Path | str, name: str, kind: type, default: Any = _MISSING) -> Any:
    """An attribute holding JSON text, decoded; it must decode to `kind` (dict, list, ...)."""
    if default is not _MISSING and name not in h5.attrs:
        return default
    raw = attribute(h5, path, name)
    try:
        value = json.loads(raw)
    except (TypeError, ValueError) as exc:
        raise InputError(path, name, f"not JSON text ({_first_line(exc)})") from None
    if not isinstance(value, kind):
        raise InputError(path, name, f"JSON {type(value).__name__}, expected {kind.__name__}")
    return value


def texts(values: np.ndarray) -> list[str]:
    """A text dataset's entries as str (h5py gives bytes for both its string kinds)."""
    return [v.decode(errors="replace") if isinstance(v, bytes) else str(v) for v in values]
