"""Fuzz the MANO pickle loader in a process of its own: a crash (a signal) fails the parent's test, not the test run.

    python tests/fuzz_mano_child.py EXAMPLES

Every input is a pickle in MANO's layout (only the globals official files use) with one
mutation: a sparse matrix's index arrays, pointer, shape or dtypes; a chumpy Select's
indices or shape; a chumpy record's value; an array's shape, dtype or values; or the
bytes themselves (truncated, overwritten). The loader must return arrays or raise
InputError; anything else is reported by hypothesis with the falsifying example. Prints
`mano-pickle: N inputs, 0 crashes` on success.
"""

from __future__ import annotations

import pickle
import sys
import tempfile
from pathlib import Path

import numpy as np
import scipy.sparse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent))
from handflow.errors import InputError
from handflow.hand.model_files import load_mano_pickle, read_model_npz
from handflow.hand.prepare import open_model_dir
from mano_layout import fake_chumpy, mano_layout

Ch, Select = fake_chumpy()
BASE = read_model_npz(open_model_dir() / "MANO_RIGHT.npz")
WORK = Path(tempfile.mkdtemp())
TRIED = [0]  # inputs tried, printed at the end
ints = st.integers(-(2**40), 2**40)
small = st.integers(-3, 2000)


def _sparse(draw) -> scipy.sparse.csc_matrix:
    """A CSC matrix whose fields are set after construction, as an unpickler would: no scipy check runs."""
    m = scipy.sparse.csc_matrix(BASE["J_regressor"].astype(np.float64))
    field = draw(st.sampled_from(["indices", "indptr", "shape", "data", "index_dtype"]))
    if field == "indices":
        idx = m.indices.copy()
        for pos in draw(st.lists(st.integers(0, len(idx) - 1), min_size=1, max_size=4)):
            idx[pos] = draw(ints) % (2**31) * draw(st.sampled_from([1, -1]))
        m.indices = idx
    elif field == "indptr":
        ptr = m.indptr.copy()
        ptr[draw(st.integers(0, len(ptr) - 1))] = draw(ints) % (2**31)
        m.indptr = ptr
    elif field == "shape":
        m._shape = (draw(small), draw(small))
    elif field == "data":
        m.data = draw(st.sampled_from([m.data[:-3], m.data.astype(object), np.array(["x"] * len(m.data))]))
    else:
        m.indices = m.indices.astype(draw(st.sampled_from([np.float64, np.int8, np.uint64])))
    return m


@st.composite
def mutated(draw) -> bytes:
    obj = mano_layout(BASE, Ch, Select)
    kind = draw(st.sampled_from(["sparse", "select", "ch", "array", "bytes"]))
    if kind == "sparse":
        obj["J_regressor"] = _sparse(draw)
    elif kind == "select":
        sel = obj["shapedirs"]
        if draw(st.booleans()):
            sel.idxs = sel.idxs.copy()
            sel.idxs[draw(st.integers(0, len(sel.idxs) - 1))] = draw(ints)
        else:
            sel.preferred_shape = tuple(draw(st.lists(small, max_size=4)))
    elif kind == "ch":
        value = draw(st.sampled_from(["missing", "text", "none", "deep"]))
        ch = Ch(obj["shapedirs"].a.x)
        if value == "missing":
            del ch.x
        elif value == "deep":
            for _ in range(draw(st.integers(1, 40))):
                ch = Ch(ch)
        else:
            ch.x = "not numbers" if value == "text" else None
        obj["shapedirs"].a = ch
    elif kind == "array":
        key = draw(st.sampled_from(["v_template", "f", "posedirs", "weights", "kintree_table", "hands_mean", "hands_components"]))
        arr = obj[key]
        how = draw(st.sampled_from(["reshape", "dtype", "nan", "values"]))
        if how == "reshape":
            arr = arr.ravel()[: draw(st.integers(0, arr.size))]
        elif how == "dtype":
            arr = arr.astype(draw(st.sampled_from([object, np.str_, np.complex128, np.bool_])))
        elif how == "nan" and arr.dtype.kind == "f":
            arr = arr.copy()
            arr.flat[draw(st.integers(0, arr.size - 1))] = np.nan
        else:
            arr = arr.astype(np.int64) if arr.dtype.kind in "iu" else arr.copy()  # room for any index, negative too
            arr.flat[draw(st.integers(0, arr.size - 1))] = draw(st.integers(-(2**31), 2**31 - 1))
        obj[key] = arr
    data = pickle.dumps(obj, protocol=2)
    if kind == "bytes":
        if draw(st.booleans()):
            data = data[: draw(st.integers(0, len(data) - 1))]
        else:
            buf = bytearray(data)
            for _ in range(draw(st.integers(1, 8))):
                buf[draw(st.integers(0, len(buf) - 1))] = draw(st.integers(0, 255))
            data = bytes(buf)
    return data


def main(examples: int) -> None:
    @settings(max_examples=examples, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(mutated())
    def loads_or_input_error(data: bytes) -> None:
        TRIED[0] += 1
        path = WORK / "MANO_RIGHT.pkl"
        path.write_bytes(data)
        try:
            load_mano_pickle(path)
        except InputError as exc:
            assert "\n" not in str(exc) and str(path) in str(exc)

    loads_or_input_error()
    print(f"mano-pickle: {TRIED[0]} inputs, 0 crashes")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50)
