"""Embedded InterHand2.6M: generator -> reader -> HDF5 round trip, and the reader's bad inputs."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import h5py
import numpy as np
import pytest
import torch

from handflow.datasets.interhand.preprocess import preprocess_split
from handflow.datasets.interhand.preprocessed import FIELDS, read_preprocessed
from handflow.datasets.interhand.reader import InterHandSplit, split_files
from handflow.errors import InputError

SPLITS = ("train", "val", "test")


def test_layout_is_interhand26m_v1(smoke_dataset):
    ann = smoke_dataset / "annotations"
    assert (ann / "skeleton.txt").is_file() and (ann / "subject.txt").is_file()
    rows = [ln.split() for ln in (ann / "skeleton.txt").read_text().splitlines() if ln and not ln.startswith("#")]
    assert len(rows) == 42 and all(len(r) == 3 for r in rows)  # name, index, parent index
    for split in SPLITS:
        for path in split_files(smoke_dataset, split).values():
            assert path.is_file(), path
        data = json.loads(split_files(smoke_dataset, split)["data"].read_text())
        for img in data["images"]:
            parts = Path(img["file_name"]).parts
            assert parts[0].startswith("Capture") and parts[2] == f"cam{img['camera']}" and parts[3] == f"image{img['frame_idx']}.jpg"


def test_records_are_consistent_with_their_cameras(smoke_dataset, hands):
    kinds = set()
    for split in SPLITS:
        data = InterHandSplit(smoke_dataset, split)
        records = list(data)
        assert records and len(records) == len(data)
        for rec in records:
            img = cv2.imread(str(rec.image_path))
            assert img is not None and img.shape[:2] == (rec.height, rec.width), rec.image_path
            kinds.add(rec.hand_type)
            uv = rec.joints_img
            valid = rec.joint_valid
            x, y, w, h = rec.bbox
            inside = (uv[valid, 0] >= x - 1) & (uv[valid, 0] <= x + w + 1) & (uv[valid, 1] >= y - 1) & (uv[valid, 1] <= y + h + 1)
            assert inside.all(), f"{rec.file_name}: valid joints outside the bbox"
            # the MANO fits reproduce the annotated joints (world frame, mm)
            for side, off in (("right", 0), ("left", 21)):
                fit = rec.step.mano[side]
                ok = rec.step.joint_valid[off : off + 21]
                if fit is None or not ok.any():
                    continue
                t = lambda a: torch.as_tensor(a, dtype=torch.float64)[None]  # noqa: E731
                with torch.no_grad():
                    joints = hands[side](t(fit.global_orient), t(fit.hand_pose), t(fit.shape), t(fit.trans)).joints[0].numpy() * 1000
                err = np.linalg.norm(joints - rec.step.joints_world[off : off + 21], axis=1)[ok]
                assert err.mean() < 10.0, f"{rec.file_name} {side}: fit {err.mean():.1f} mm from the annotation"
    assert "interacting" in kinds and kinds & {"right", "left"}, kinds


def test_generator_poses_do_not_interpenetrate(smoke_h5, hands):
    from handflow.geometry.penetration import inside

    with h5py.File(smoke_h5["train"]) as h5:
        both = np.nonzero(h5["right/valid"][:] & h5["left/valid"][:] & (h5["hand_type"][:] == 2))[0]
        assert len(both), "the smoke train split has interacting frames"
        verts = {}
        for side in ("right", "left"):
            g = h5[side]
            args = [torch.as_tensor(g[k][:][both], dtype=torch.float64) for k in ("global_orient", "hand_pose", "shape", "trans")]
            with torch.no_grad():
                verts[side] = hands[side].seal(hands[side](*args).vertices).numpy()
    faces = hands["left"].sealed_faces.numpy()
    for i in range(len(both)):
        assert inside(verts["right"][i], verts["left"][i], faces).mean() < 0.01


def test_preprocessed_h5(smoke_h5, smoke_dataset):
    for split, path in smoke_h5.items():
        data = InterHandSplit(smoke_dataset, split)
        pre = read_preprocessed(path, FIELDS)
        h5 = pre.arrays
        n = len(data.steps)
        assert pre.split == split and h5["joints_world"].shape == (n, 42, 3)
        with h5py.File(path, "r") as f:
            assert f.attrs["units"] == "metres" and f.attrs["data_source"] == "embedded" and f.attrs["scale"] == "smoke"
        for side in ("right", "left"):
            assert h5[f"{side}/pca"].shape == (n, 45) and h5[f"{side}/root_rotmat"].shape == (n, 3, 3)
            assert h5[f"{side}/joints"].shape == (n, 21, 3)
            err = h5[f"{side}/fit_error_mm"]
            off = 0 if side == "right" else 21
            measurable = h5[f"{side}/valid"] & h5["joint_valid"][:, off : off + 21].any(1)
            np.testing.assert_array_equal(np.isfinite(err), measurable)
            assert np.nanmax(err) < 10.0
        first = data.steps[min(data.steps)]
        np.testing.assert_allclose(h5["joints_world"][0], first.joints_world / 1000.0, atol=1e-6)


def test_none_mano_and_missing_hand_type_are_tolerated(smoke_dataset, hands, tmp_path):
    root = tmp_path / "ih"
    shutil.copytree(smoke_dataset / "annotations", root / "annotations")
    files = split_files(root, "val")
    mano = json.loads(files["MANO_NeuralAnnot"].read_text())
    cap = next(iter(mano))
    frame = next(iter(mano[cap]))
    mano[cap][frame]["right"] = None
    del mano[cap][sorted(mano[cap])[-1]]  # a time step with no MANO entry at all
    files["MANO_NeuralAnnot"].write_text(json.dumps(mano))
    data = json.loads(files["data"].read_text())
    del data["annotations"][0]["hand_type"]
    files["data"].write_text(json.dumps(data))
    split = InterHandSplit(root, "val")
    assert split.steps[(int(cap), int(frame))].mano["right"] is None
    assert split.record(0).hand_type is None and not split.record(0).hand_type_valid
    out = tmp_path / "val.h5"
    preprocess_split(root, "val", hands, out, 64, {"data_source": "embedded", "scale": "smoke"})
    with h5py.File(out) as h5:
        row = int(np.nonzero((h5["capture"][:] == int(cap)) & (h5["frame_idx"][:] == int(frame)))[0][0])
        assert not h5["right/valid"][row] and np.isnan(h5["right/fit_error_mm"][row])


def _corrupt(root: Path, name: str, fn) -> Path:
    path = split_files(root, "val")[name]
    obj = json.loads(path.read_text())
    fn(obj)
    path.write_text(json.dumps(obj))
    return path


def _first(obj: dict) -> tuple[str, str]:
    cap = next(iter(obj))
    return cap, next(iter(obj[cap]))


@pytest.mark.parametrize(
    ("name", "fn", "field"),
    [
        (
            "joint_3d",
            lambda o: o[_first(o)[0]][_first(o)[1]].update(world_coord=[[0, 0, 0]] * 21),
            "world_coord: shape (21, 3), expected (42, 3)",
        ),
        ("joint_3d", lambda o: o[_first(o)[0]][_first(o)[1]].pop("joint_valid"), "joint_valid: missing"),
        ("joint_3d", lambda o: o[_first(o)[0]][_first(o)[1]]["world_coord"][3].__setitem__(0, float("nan")), "world_coord: contains NaN"),
        (
            "MANO_NeuralAnnot",
            lambda o: next(v for v in o[_first(o)[0]].values() if v.get("left"))["left"].update(pose=[0.0] * 45),
            "left.pose: shape (45,), expected (48,)",
        ),
        ("data", lambda o: o["images"][1].pop("file_name"), "images[1].file_name: missing"),
        ("data", lambda o: o["annotations"][0].update(image_id=-5), "annotations[0].image_id: -5 != images[0].id"),
        ("data", lambda o: o["images"][0].update(camera="999"), "images[0].camera: no camera 999"),
        ("camera", lambda o: o[next(iter(o))]["focal"].clear(), ".focal."),
    ],
)
def test_reader_names_file_and_field(smoke_dataset, tmp_path, name, fn, field):
    root = tmp_path / "ih"
    shutil.copytree(smoke_dataset / "annotations", root / "annotations")
    path = _corrupt(root, name, fn)
    with pytest.raises(InputError) as err:
        InterHandSplit(root, "val")
    assert str(err.value).startswith(f"{path}: ") and field in str(err.value), str(err.value)


def test_reader_bad_json_and_missing_file(smoke_dataset, tmp_path):
    root = tmp_path / "ih"
    shutil.copytree(smoke_dataset / "annotations", root / "annotations")
    files = split_files(root, "val")
    files["camera"].write_text(files["camera"].read_text()[:-10])
    with pytest.raises(InputError, match=r"InterHand2\.6M_val_camera\.json: line 1: invalid JSON"):
        InterHandSplit(root, "val")
    files["camera"].unlink()
    with pytest.raises(InputError, match=r"camera\.json: file not found"):
        InterHandSplit(root, "val")


def test_preprocess_cli_bad_input_exit_2_no_output(smoke_dataset, model_dir, tmp_path):
    from conftest import copy_project

    project = copy_project(tmp_path / "p", "smoke")
    root = tmp_path / "ih"
    shutil.copytree(smoke_dataset / "annotations", root / "annotations")
    glob = project / "params/global.yaml"  # the tree is the user's copy: params name it (the command checks --root against them)
    glob.write_text(
        glob.read_text()
        .replace("data_source: embedded", "data_source: interhand26m")
        .replace("interhand26m_root: null", f"interhand26m_root: {root}")
    )
    path = _corrupt(root, "joint_3d", lambda o: o[_first(o)[0]][_first(o)[1]].update(world_coord=[[0, 0]] * 42))
    out = tmp_path / "out" / "val.h5"
    cmd = [
        sys.executable,
        "-m",
        "handflow",
        "--project",
        str(project),
        "data",
        "preprocess",
        "--root",
        str(root),
        "--split",
        "val",
        "--hand-model",
        str(model_dir),
        "--out",
        str(out),
    ]
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True)
    assert proc.returncode == 2
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("handflow: error:")]
    assert len(errors) == 1 and str(path) in errors[0] and "world_coord: shape (42, 2)" in errors[0]
    assert not out.parent.exists() or not any(out.parent.iterdir()), "no output, not even a temporary"
