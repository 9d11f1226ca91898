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
    """Unpickler that resolves only the globals it is given (official MANO and SMPL files: `ALLOWED_GLOBALS`)."""

    def __init__(self, file: Any, allowed: dict[tuple[str, str], Any], what: str) -> None:
        super().__init__(file, encoding="latin1")
        self.allowed, self.what = allowed, what

    def find_class(self, module: str, name: str) -> Any:
        target = self.allowed.get((module, name))
        if target is None:
            raise pickle.UnpicklingError(f"global '{module}.{name}' is not allowed in a {self.what}")
        return target


MAX_ELEMENTS = 50_000_000  # a MANO array has ~3M entries (posedirs); far more is a crafted file, refused before allocation
MAX_DEPTH = 16  # chumpy nesting in official files is 2-3 deep


def _array(value: Any, source: Path, key: str) -> np.ndarray:
    """A numeric ndarray, or one line naming the key (object arrays could hold anything the unpickler built)."""
    arr = np.asarray(value) if isinstance(value, np.ndarray | list | tuple | int | float) else None
    if arr is None or arr.dtype.kind not in "biuf":
        raise InputError(source, key, f"expected a numeric array, got {type(value).__name__}")
    return arr


def _sparse_to_dense(value: Any, source: Path, key: str) -> np.ndarray:
    """Densify a pickled CSC matrix only after checking every index array.

    The unpickler sets a matrix's fields straight from the file, without scipy's
    constructor checks; scipy's densifying code then trusts the indices and writes out
    of bounds (a segfault) on a crafted file. We read the raw fields, check them, and
    build a fresh matrix through the checking constructor.
    """
    fields = getattr(value, "__dict__", {})
    try:
        data, indices, indptr = (np.asarray(fields[f]) for f in ("data", "indices", "indptr"))
        shape = fields.get("_shape", fields.get("shape"))
        n_rows, n_cols = (int(v) for v in shape)
    except (KeyError, TypeError, ValueError):
        raise InputError(source, key, "sparse matrix without data, indices, indptr and a 2-D shape") from None
    if n_rows < 0 or n_cols < 0 or n_rows * n_cols > MAX_ELEMENTS:
        raise InputError(source, key, f"sparse matrix of shape ({n_rows}, {n_cols}) is not a MANO array")
    if data.ndim != 1 or indices.ndim != 1 or indptr.ndim != 1 or data.dtype.kind not in "biuf":
        raise InputError(source, key, "sparse matrix fields are not 1-D numeric arrays")
    if indices.dtype.kind not in "iu" or indptr.dtype.kind not in "iu":
        raise InputError(source, key, "sparse matrix index arrays are not integers")
    if len(indptr) != n_cols + 1 or len(indices) != len(data) or (len(indptr) and (indptr[0] != 0 or indptr[-1] != len(data))):
        raise InputError(source, key, "sparse matrix index pointer does not match its data")
    if (np.diff(indptr.astype(np.int64)) < 0).any():
        raise InputError(source, key, "sparse matrix index pointer decreases")
    if len(indices) and (indices.min() < 0 or indices.max() >= n_rows):
        raise InputError(source, key, f"sparse matrix row index out of range [0, {n_rows})")
    checked = scipy.sparse.csc_matrix((data, indices.astype(np.int64), indptr.astype(np.int64)), shape=(n_rows, n_cols))
    checked.check_format(full_check=True)
    return np.asarray(checked.toarray())


def _resolve(value: Any, source: Path, key: str, depth: int = 0) -> Any:
    """Arrays from chumpy records and sparse matrices, each checked before use (a crafted file gives InputError)."""
    if depth > MAX_DEPTH:
        raise InputError(source, key, f"chumpy records nested deeper than {MAX_DEPTH}")
    if isinstance(value, _ChumpySelect):
        state = value.state
        if not {"a", "idxs", "preferred_shape"} <= state.keys():
            raise InputError(source, key, "chumpy Select without a, idxs and preferred_shape")
        base = _array(_resolve(state["a"], source, key, depth + 1), source, key).ravel()
        idxs = _array(state["idxs"], source, key)
        if idxs.dtype.kind not in "iu" or (idxs.size and (idxs.min() < 0 or idxs.max() >= base.size)):
            raise InputError(source, key, f"chumpy Select indices outside its base of {base.size} values")
        try:
            return base[idxs].reshape(tuple(int(v) for v in state["preferred_shape"]))
        except (TypeError, ValueError):
            raise InputError(source, key, "chumpy Select's preferred_shape does not fit its indices") from None
    if isinstance(value, _ChumpyRecord):
        if "x" not in value.state:
            raise InputError(source, key, "chumpy Ch without its value x")
        return _array(_resolve(value.state["x"], source, key, depth + 1), source, key)
    if isinstance(value, scipy.sparse.csc_matrix):
        return _sparse_to_dense(value, source, key)
    if isinstance(value, np.ndarray) and value.dtype.kind not in "biuf":
        raise InputError(source, key, f"array of dtype {value.dtype}, expected numbers")
    return value


def read_restricted_pickle(path: Path, what: str, keys: tuple[str, ...], allowed: dict[tuple[str, str], Any] = ALLOWED_GLOBALS) -> dict:
    """The entries `keys` of the dict a Python-2 pickle holds, unpickled with only the `allowed` globals and resolved.

    Every reader of a pickle a user brings (MANO and SMPL model files, HOI4D's hand poses)
    goes through here: a foreign global, a damaged stream or a pickle that is not a dict is
    one line naming the file (`what` says what it should have been); chumpy records and
    sparse matrices become checked arrays. Entries not in `keys` are never resolved.
    """
    try:
        with open(path, "rb") as fh:
            raw = RestrictedUnpickler(fh, allowed, what).load()
    except FileNotFoundError:
        raise InputError(path, None, "file not found") from None
    except InputError:
        raise
    except Exception as exc:  # a crafted stream can make pickle raise nearly anything; all mean "not such a file"
        raise InputError(path, None, f"not a readable {what}: {type(exc).__name__}: {exc}") from None
    if not isinstance(raw, dict):
        raise InputError(path, None, f"expected a dict, got {type(raw).__name__}")
    return {key: _resolve(value, path, str(key)) for key, value in raw.items() if key in keys}


def load_mano_pickle(path: Path) -> dict[str, np.ndarray]:
    """Arrays of an official MANO pkl, chumpy-free; fails on a missing key or a foreign global."""
    raw = read_restricted_pickle(path, "MANO file", REQUIRED_KEYS)
    out = {key: value for key, value in raw.items() if isinstance(value, np.ndarray)}
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
    faces, tree = arrays["f"], arrays["kintree_table"]
    in_range = faces.size == 0 or (faces.dtype.kind in "iu" and faces.min() >= 0 and faces.max() < n_verts)
    if faces.ndim != 2 or faces.shape[1] != 3 or not in_range:
        raise InputError(source, "f", f"expected (F, 3) vertex indices in [0, {n_verts})")
    if tree.shape != (2, 16) or tree.dtype.kind not in "iu" or not ((tree[0, 1:] >= 0) & (tree[0, 1:] < 16)).all():
        raise InputError(source, "kintree_table", "expected (2, 16) with parent indices in [0, 16)")
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
