"""Real MANO files without chumpy: a pickle with the official class layout loads, a malicious one is refused."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import types

import numpy as np
import pytest
import torch

from handflow.errors import InputError
from handflow.hand.model import create
from handflow.hand.model_files import fix_left_shapedirs, load_mano_pickle, read_model_npz
from handflow.hand.prepare import open_model_dir, prepare
from mano_layout import fake_chumpy, write_mano_layout


def _fake_chumpy(monkeypatch) -> tuple[type, type]:
    return fake_chumpy(lambda name, mod: monkeypatch.setitem(sys.modules, name, mod))


@pytest.fixture
def mano_dir(tmp_path, monkeypatch):
    """MANO_{RIGHT,LEFT}.pkl in the official layout, made from the open model; the left file
    carries the right's shapedirs x row, as MANO v1.2's does."""
    Ch, Select = _fake_chumpy(monkeypatch)
    right = read_model_npz(open_model_dir() / "MANO_RIGHT.npz")
    left = read_model_npz(open_model_dir() / "MANO_LEFT.npz")
    left["shapedirs"] = left["shapedirs"].copy()
    left["shapedirs"][:, 0] = right["shapedirs"][:, 0]  # the upstream bug
    write_mano_layout(tmp_path / "MANO_RIGHT.pkl", right, Ch, Select)
    write_mano_layout(tmp_path / "MANO_LEFT.pkl", left, Ch, Select)
    return tmp_path


def test_official_layout_loads_without_chumpy(mano_dir):
    assert "chumpy" in sys.modules  # the writer's stand-in; loading must not need it
    sys.modules.pop("chumpy.ch")
    arrays = load_mano_pickle(mano_dir / "MANO_RIGHT.pkl")
    expected = read_model_npz(open_model_dir() / "MANO_RIGHT.npz")
    np.testing.assert_allclose(arrays["shapedirs"], expected["shapedirs"], atol=1e-7)
    np.testing.assert_allclose(arrays["J_regressor"], expected["J_regressor"], atol=1e-7)
    assert isinstance(arrays["J_regressor"], np.ndarray)


def test_prepare_mano_converts_and_fixes_left(mano_dir, tmp_path):
    out = tmp_path / "prepared"
    info = prepare("mano", str(mano_dir), out)
    assert info["left_shapedirs_fixed"] is True
    open_left = read_model_npz(open_model_dir() / "MANO_LEFT.npz")
    np.testing.assert_allclose(read_model_npz(out / "MANO_LEFT.npz")["shapedirs"], open_left["shapedirs"], atol=1e-6)
    # smplx runs on the converted files and gives the open model's joints for the same parameters
    hand = create(out, "left", dtype=torch.float64)
    reference = create(tmp_path_open(tmp_path), "left", dtype=torch.float64)
    betas = torch.linspace(-1, 1, 10, dtype=torch.float64)[None]
    args = (torch.zeros(1, 3, dtype=torch.float64), torch.zeros(1, 45, dtype=torch.float64), betas)
    torch.testing.assert_close(hand(*args).joints[:, 20], reference(*args).joints[:, 20], atol=1e-5, rtol=0)


def tmp_path_open(tmp_path):
    out = tmp_path / "open"
    prepare("open", None, out)
    return out


def test_left_fix_leaves_a_corrected_file_alone():
    right = read_model_npz(open_model_dir() / "MANO_RIGHT.npz")
    left = read_model_npz(open_model_dir() / "MANO_LEFT.npz")
    before = left["shapedirs"].copy()
    assert fix_left_shapedirs(left, right) is False
    np.testing.assert_array_equal(left["shapedirs"], before)


class _RunsCode:
    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


class _Evals:
    def __reduce__(self):
        return (eval, ("__import__('pathlib').Path('pwned').touch()",))


@pytest.mark.parametrize("payload", ["system", "eval", "subprocess"])
def test_malicious_pickle_is_refused_before_running(tmp_path, payload):
    marker = tmp_path / "pwned"
    if payload == "system":
        obj = {"v_template": _RunsCode(f"touch {marker}")}
    elif payload == "eval":
        obj = {"v_template": _Evals()}
    else:
        obj = {"v_template": types.SimpleNamespace(call=subprocess.call)}
    path = tmp_path / "MANO_RIGHT.pkl"
    path.write_bytes(pickle.dumps(obj, protocol=2))
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        with pytest.raises(InputError) as err:
            load_mano_pickle(path)
    finally:
        os.chdir(cwd)
    assert "is not allowed in a MANO file" in str(err.value) and str(path) in str(err.value)
    assert not marker.exists()


def test_mano_switch_without_files_says_where_to_get_them(tmp_path):
    with pytest.raises(InputError, match=r"hand_model_dir.*mano\.is\.tue\.mpg\.de"):
        prepare("mano", None, tmp_path / "out")
    with pytest.raises(InputError, match=r"MANO_RIGHT\.pkl: not found"):
        prepare("mano", str(tmp_path), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_missing_key_is_named(tmp_path, monkeypatch):
    Ch, Select = _fake_chumpy(monkeypatch)
    arrays = read_model_npz(open_model_dir() / "MANO_RIGHT.npz")
    path = tmp_path / "MANO_RIGHT.pkl"
    write_mano_layout(path, arrays, Ch, Select)
    obj = load_mano_pickle(path)
    assert obj["posedirs"].shape[-1] == 135
    data = pickle.loads(path.read_bytes())
    del data["posedirs"]
    path.write_bytes(pickle.dumps(data, protocol=2))
    with pytest.raises(InputError, match=r"MANO_RIGHT\.pkl: posedirs: missing"):
        load_mano_pickle(path)
