"""Writing pickles in MANO v1.2's layout (chumpy classes, a sparse J_regressor) without chumpy installed.

Shared by the loader's tests and its fuzzing child process (`fuzz_mano_child.py`).
"""

from __future__ import annotations

import pickle
import sys
import types
from collections.abc import Callable
from pathlib import Path

import numpy as np
import scipy.sparse


def fake_chumpy(set_module: Callable[[str, types.ModuleType], None] = sys.modules.__setitem__) -> tuple[type, type]:
    """Classes that pickle under chumpy's names, so the file has the official globals.

    `set_module` registers the stand-in modules (pytest's `monkeypatch.setitem` with
    `sys.modules` in tests, so they are removed afterwards).
    """
    ch_mod, re_mod = types.ModuleType("chumpy.ch"), types.ModuleType("chumpy.reordering")

    class Ch:
        def __init__(self, x):
            self.x = x
            self._dirty_vars = set()  # chumpy pickles bookkeeping beside the value

    class Select:
        def __init__(self, a, idxs, preferred_shape):
            self.a, self.idxs, self.preferred_shape = a, idxs, preferred_shape

    for cls, mod in ((Ch, ch_mod), (Select, re_mod)):
        cls.__module__, cls.__qualname__ = mod.__name__, cls.__name__
        setattr(mod, cls.__name__, cls)
        set_module(mod.__name__, mod)
    set_module("chumpy", types.ModuleType("chumpy"))
    return Ch, Select


def mano_layout(arrays: dict[str, np.ndarray], Ch: type, Select: type) -> dict:
    """The key set and value types of MANO v1.2's pkl: chumpy shapedirs, sparse J_regressor."""
    shapedirs = arrays["shapedirs"].astype(np.float64)
    return {
        "v_template": arrays["v_template"].astype(np.float64),
        "f": arrays["f"].astype(np.uint32),
        "shapedirs": Select(Ch(shapedirs.ravel()), np.arange(shapedirs.size), shapedirs.shape),
        "posedirs": arrays["posedirs"].astype(np.float64),
        "J_regressor": scipy.sparse.csc_matrix(arrays["J_regressor"].astype(np.float64)),
        "weights": arrays["weights"].astype(np.float64),
        "kintree_table": arrays["kintree_table"].astype(np.int64),
        "hands_components": arrays["hands_components"].astype(np.float64),
        "hands_mean": arrays["hands_mean"].astype(np.float64),
        "hands_coeffs": arrays["hands_coeffs"].astype(np.float64),
        "J": arrays["J"].astype(np.float64),
        "bs_type": "lrotmin",
        "bs_style": "lbs",
    }


def write_mano_layout(path: Path, arrays: dict[str, np.ndarray], Ch: type, Select: type) -> None:
    path.write_bytes(pickle.dumps(mano_layout(arrays, Ch, Select), protocol=2))
