"""MANO-format model files: reading official pickles without chumpy, writing npz.

The official `MANO_{RIGHT,LEFT}.pkl` are Python-2 pickles whose `shapedirs` is a
chumpy object. chumpy does not import on numpy >= 1.24, and a plain
`pickle.load` would run whatever the file names. `RestrictedUnpickler` accepts
exactly the globals those files use and refuses any other, so a tampered file
cannot execute code; chumpy objects become inert records resolved to arrays.
"""

from __future__ import annotations

import codecs
import io
import pickle
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse
from numpy._core import multiarray as _np_multiarray

from handflow.errors import InputError
from handflow.geometry.rotations import mirror_axis_angle

REQUIRED_KEYS = (
    "v_template",
    "f",
    "shapedirs",
    "posedirs",
    "J_regressor",
    "weights",
    "kintree_table",
    "hands_components",
    "hands_mean",
)


class _ChumpyRecord:
    """Stand-in for chumpy.ch.Ch / chumpy.reordering.Select: keeps its pickled state."""

    kind = "Ch"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.state: dict[str, Any] = {}

    def __setstate__(self, state: Any) -> None:
        self.state = state if isinstance(state, dict) else {"x": state}


class _ChumpySelect(_ChumpyRecord):
    kind = "Select"


ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("numpy.core.multiarray", "_reconstruct"): _np_multiarray._reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _np_multiarray._reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("__builtin__", "set"): set,
    ("builtins", "set"): set,
    ("chumpy.ch", "Ch"): _ChumpyRecord,
    ("chumpy.reordering", "Select"): _ChumpySelect,
    ("scipy.sparse.csc", "csc_matrix"): scipy.sparse.csc_matrix,
    ("scipy.sparse._csc", "csc_matrix"): scipy.sparse.csc_matrix,
    # Python 3 writes bytes under protocol 2 as _codecs.encode(str, 'latin1'): files that were
    # re-saved from Python 3 (common for chumpy-stripped copies) need it. It only encodes text
    # with an installed codec, as torch's weights_only unpickler also judges.
    ("_codecs", "encode"): codecs.encode,
}


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that resolves only the globals official MANO files contain."""

    def find_class(self, module: str, name: str) -> Any:
        target = ALLOWED_GLOBALS.get((module, name))
        if target is None:
            raise pickle.UnpicklingError(f"global '{module}.{name}' is not allowed in a MANO file")
        return target


def _resolve(value: Any) -> Any:
    if isinstance(value, _ChumpySelect):
        base = np.asarray(_resolve(value.state["a"]))
        idxs = np.asarray(value.state["idxs"])
        return base.ravel()[idxs].reshape(value.state["preferred_shape"])
    if isinstance(value, _ChumpyRecord):
        return np.asarray(_resolve(value.state["x"]))
    if scipy.sparse.issparse(value):
        return np.asarray(value.toarray())
    return value


def load_mano_pickle(path: Path) -> dict[str, np.ndarray]:
    """Arrays of an official MANO pkl, chumpy-free; fails on a missing key or a foreign global."""
    try:
        with open(path, "rb") as fh:
            raw = RestrictedUnpickler(fh, encoding="latin1").load()
    except FileNotFoundError:
        raise InputError(path, None, "file not found") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as exc:
        raise InputError(path, None, f"not a readable MANO pickle: {exc}") from None
    if not isinstance(raw, dict):
        raise InputError(path, None, f"expected a dict, got {type(raw).__name__}")
    out = {}
    for key, raw_value in raw.items():
        value = _resolve(raw_value)
        if isinstance(value, np.ndarray):
            out[key] = value
    check_model_arrays(out, path)
    return out


def check_model_arrays(arrays: dict[str, np.ndarray], source: Path | str) -> None:
    for key in REQUIRED_KEYS:
        if key not in arrays:
            raise InputError(source, key, "missing")
    n_verts = arrays["v_template"].shape[0]
    expected = {
        "v_template": (n_verts, 3),
        "shapedirs": (n_verts, 3, None),
        "posedirs": (n_verts, 3, 135),
        "J_regressor": (16, n_verts),
        "weights": (n_verts, 16),
        "hands_components": (None, 45),
        "hands_mean": (45,),
    }
    for key, shape in expected.items():
        got = arrays[key].shape
        if len(got) != len(shape) or any(s is not None and s != g for s, g in zip(shape, got, strict=False)):
            raise InputError(source, key, f"shape {got}, expected {shape}")
    if arrays["shapedirs"].shape[2] < 10:
        raise InputError(source, "shapedirs", "fewer than 10 shape directions")
    for key in ("v_template", "shapedirs", "posedirs", "weights", "J_regressor"):
        if not np.isfinite(arrays[key]).all():
            raise InputError(source, key, "contains NaN or inf")


def fix_left_shapedirs(left: dict[str, np.ndarray], right: dict[str, np.ndarray]) -> bool:
    """MANO v1.2's left file carries the right hand's shapedirs: negate the x row (smplx #48).

    Applied only when the two x rows are (almost) equal, as InterHand2.6M does, so a
    corrected file is left alone. Returns whether it was applied.
    """
    if np.abs(left["shapedirs"][:, 0] - right["shapedirs"][:, 0]).sum() < 1.0:
        left["shapedirs"] = left["shapedirs"].copy()
        left["shapedirs"][:, 0] *= -1.0
        return True
    return False


def mirror_to_left(right: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The left hand as the x-mirror of a right-hand model (how MANO's left relates to its right)."""
    left = {k: np.array(v, copy=True) for k, v in right.items()}
    left["v_template"][:, 0] *= -1.0
    if "J" in left:
        left["J"][:, 0] *= -1.0
    left["f"] = right["f"][:, [1, 0, 2]]
    left["shapedirs"][:, 0] *= -1.0
    left["posedirs"][:, 0] *= -1.0
    left["hands_components"] = mirror_axis_angle(right["hands_components"].reshape(-1, 15, 3)).reshape(-1, 45)
    left["hands_mean"] = mirror_axis_angle(right["hands_mean"].reshape(15, 3)).reshape(45)
    return left


def write_model_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Compressed npz that `smplx.MANO(..., ext='npz')` loads; floats as float32."""
    from handflow.storage.atomic import atomic_path

    check_model_arrays(arrays, path)
    out = {}
    for key, given in arrays.items():
        value = np.asarray(given)
        out[key] = value.astype(np.float32) if value.dtype.kind == "f" else value
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for key in sorted(out):
            arr_buf = io.BytesIO()
            np.lib.format.write_array(arr_buf, out[key], allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            zf.writestr(info, arr_buf.getvalue(), compress_type=zipfile.ZIP_DEFLATED)
    with atomic_path(path) as tmp:
        tmp.write_bytes(buf.getvalue())


def read_model_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except FileNotFoundError:
        raise InputError(path, None, "file not found") from None
    except (ValueError, zipfile.BadZipFile, OSError) as exc:
        raise InputError(path, None, f"not a readable npz: {exc}") from None
    check_model_arrays(arrays, path)
    return arrays
