"""The checked HDF5 reader every stage reads its inputs with: declared fields, named sizes, one line per problem."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from handflow.errors import InputError
from handflow.storage.hdf5_files import TEXT, Field, check_version, json_attribute, open_hdf5, read_fields, read_hdf5, texts

FIELDS = {
    "image": Field(("n", "side", "side", 3), dtype="uint8"),
    "score": Field(("n",), finite=True),
    "name": Field(("n",), TEXT),
    "extra": Field(("n", 2), optional=True),
}


def _write(path, **arrays):
    with h5py.File(path, "w") as h5:
        h5.attrs["schema_version"] = 3
        h5.attrs["meta"] = '{"a": 1}'
        g = h5.create_group("split")
        for key, value in arrays.items():
            g[key] = value
    return path


def _good(n=3, side=4):
    return {
        "image": np.zeros((n, side, side, 3), np.uint8),
        "score": np.arange(n, dtype=np.float32),
        "name": np.array(["a"] * n, dtype=h5py.string_dtype()),
    }


def _read(path, sizes=None):
    with open_hdf5(path) as h5:
        return read_fields(h5["split"], path, FIELDS, sizes)


def test_a_file_in_the_declared_form_reads_with_its_optional_fields_only_when_present(tmp_path):
    out = _read(_write(tmp_path / "f.h5", **_good()))
    assert set(out) == {"image", "score", "name"} and texts(out["name"]) == ["a"] * 3
    out = _read(_write(tmp_path / "g.h5", **_good(), extra=np.zeros((3, 2))))
    assert out["extra"].shape == (3, 2)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"score": np.arange(4.0)}, r"split/score: shape \(4,\), expected \(3,\)"),  # a named size differs between fields
        ({"image": np.zeros((3, 4, 5, 3), np.uint8)}, r"split/image: shape \(3, 4, 5, 3\), expected \(3, 4, 4, 3\)"),
        ({"image": np.zeros((3, 4, 4, 3), np.uint16)}, r"split/image: dtype uint16, expected uint8"),
        ({"score": np.array([0.0, np.nan, 1.0])}, r"split/score: contains NaN or inf \(first bad row 1\)"),
        ({"name": np.arange(3)}, r"split/name: dtype int64, expected text"),
        ({"extra": np.zeros((2, 2))}, r"split/extra: shape \(2, 2\), expected \(3, 2\)"),
    ],
)
def test_each_departure_from_the_declared_form_is_one_line_naming_the_field(tmp_path, change, message):
    with pytest.raises(InputError, match=message) as err:
        _read(_write(tmp_path / "f.h5", **_good() | change))
    assert "f.h5" in str(err.value) and "\n" not in str(err.value)


def test_a_missing_field_a_group_in_its_place_and_a_given_size_are_named(tmp_path):
    good = _good()
    del good["score"]
    with pytest.raises(InputError, match=r"split/score: missing"):
        _read(_write(tmp_path / "a.h5", **good))
    path = _write(tmp_path / "b.h5", **good)
    with h5py.File(path, "a") as h5:
        h5["split"].create_group("score")
    with pytest.raises(InputError, match=r"split/score: is not a dataset"):
        _read(path)
    with pytest.raises(InputError, match=r"split/image: shape \(3, 4, 4, 3\), expected \(3, 8, 8, 3\)"):
        _read(_write(tmp_path / "c.h5", **_good()), {"side": 8})


def test_files_that_are_not_hdf5_are_missing_or_cut_short_are_one_line(tmp_path):
    with pytest.raises(InputError, match=r"nothing\.h5: file not found"):
        read_hdf5(tmp_path / "nothing.h5", FIELDS)
    (tmp_path / "text.h5").write_text("not hdf5")
    with pytest.raises(InputError, match=r"text\.h5: not a readable HDF5 file"):
        read_hdf5(tmp_path / "text.h5", FIELDS)
    path = _write(tmp_path / "cut.h5", **_good(n=200, side=16))
    path.write_bytes(path.read_bytes()[:-4000])
    with pytest.raises(InputError, match=r"cut\.h5"):
        _read(path)


def test_versions_and_json_attributes_are_checked(tmp_path):
    path = _write(tmp_path / "f.h5", **_good())
    with open_hdf5(path) as h5:
        check_version(h5, path, 3, "writer")
        with pytest.raises(InputError, match=r"schema_version: 3, expected 4 \(rerun the writer stage\)"):
            check_version(h5, path, 4, "writer")
        assert json_attribute(h5, path, "meta", dict) == {"a": 1}
        assert json_attribute(h5, path, "absent", list, default=[]) == []
        with pytest.raises(InputError, match="meta: JSON dict, expected list"):
            json_attribute(h5, path, "meta", list)
        with pytest.raises(InputError, match="absent: missing attribute"):
            json_attribute(h5, path, "absent", list)
    with h5py.File(path, "a") as h5:
        h5.attrs["meta"], h5.attrs["schema_version"] = "{", True
    with open_hdf5(path) as h5:
        with pytest.raises(InputError, match="meta: not JSON text"):
            json_attribute(h5, path, "meta", dict)
        with pytest.raises(InputError, match="schema_version: True, expected 3"):
            check_version(h5, path, 3, "writer")
