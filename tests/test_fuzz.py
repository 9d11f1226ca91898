"""Property-based fuzzing of every input boundary: a bad input is one line naming the file and field (or the
metric and the set), never a crash, a library's traceback or a NaN.

Budget: HANDFLOW_FUZZ_EXAMPLES inputs per target (25 in `make test`; `make fuzz` runs 1000),
seeded (`derandomize`), so a run is repeatable. Crash-prone native code (the MANO pickle
loader's scipy, LMDB's C library) is fuzzed in a child process, so a signal is a failure
of its test, not the end of the run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import h5py
import numpy as np
import pytest
import torch
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handflow.datasets.interhand.reader import InterHandSplit, split_files
from handflow.errors import ComputationError, InputError
from handflow.metrics import generative, pose

EXAMPLES = int(os.environ.get("HANDFLOW_FUZZ_EXAMPLES", "25"))
TESTS = Path(__file__).parent
fuzz = settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck))


def _one_line(exc: Exception, *names: str) -> None:
    text = str(exc)
    assert "\n" not in text and text, text
    for name in names:
        assert name in text, (name, text)


def _child(script: str, *args: str) -> str:
    proc = subprocess.run([sys.executable, str(TESTS / script), *args], check=False, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, (
        f"{script} exited {proc.returncode} (negative: killed by a signal)\n{proc.stdout[-2000:]}{proc.stderr[-4000:]}"
    )
    return proc.stdout.strip().splitlines()[-1]


# -- MANO pickles (child process) --------------------------------------------------------


def test_crafted_sparse_pickle_is_an_input_error_not_a_crash(tmp_path):
    """The reported crash: a J_regressor whose row index is out of range made scipy write out of bounds (SIGSEGV)."""
    code = (
        "import pickle, sys; sys.path.insert(0, sys.argv[1])\n"
        "from mano_layout import fake_chumpy, mano_layout\n"
        "from handflow.errors import InputError\n"
        "from handflow.hand.model_files import load_mano_pickle, read_model_npz\n"
        "from handflow.hand.prepare import open_model_dir\n"
        "Ch, Select = fake_chumpy()\n"
        "obj = mano_layout(read_model_npz(open_model_dir() / 'MANO_RIGHT.npz'), Ch, Select)\n"
        "m = obj['J_regressor']; idx = m.indices.copy(); idx[0] = 10**8; m.indices = idx\n"
        "open(sys.argv[2], 'wb').write(pickle.dumps(obj, protocol=2))\n"
        "try:\n    load_mano_pickle(sys.argv[2])\nexcept InputError as e:\n    print(e)\n"
    )
    path = tmp_path / "MANO_RIGHT.pkl"
    proc = subprocess.run([sys.executable, "-c", code, str(TESTS), str(path)], check=False, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == f"{path}: J_regressor: sparse matrix row index out of range [0, 16)"


def test_mutated_mano_pickles_load_or_fail_cleanly():
    assert _child("fuzz_mano_child.py", str(EXAMPLES)).endswith("0 crashes")


# -- LMDB stores (child process) ---------------------------------------------------------


def test_corrupted_lmdb_stores_fail_cleanly():
    assert _child("fuzz_lmdb_child.py", str(EXAMPLES)).endswith("0 crashes")


# -- InterHand2.6M annotation JSON -------------------------------------------------------

JUNK = st.sampled_from([None, "x", -1, 10**12, 0.5, float("nan"), float("inf"), [], {}, [1, 2], {"a": 1}, True])


@st.composite
def json_mutation(draw, doc):
    """A copy of `doc` with one value replaced, one key or item removed, or one list shortened, at a random depth."""
    doc = json.loads(json.dumps(doc))
    node, depth = doc, 0
    while depth < 7:
        keys = list(node) if isinstance(node, dict) else list(range(len(node))) if isinstance(node, list) else []
        if not keys:
            break
        key = keys[draw(st.integers(0, min(len(keys), 50) - 1))]
        child = node[key]
        if not isinstance(child, dict | list) or not child or draw(st.integers(0, 3)) == 0:
            how = draw(st.sampled_from(["replace", "delete", "shorten"]))
            if how == "delete":
                del node[key]
            elif how == "shorten" and isinstance(child, list) and child:
                node[key] = child[: draw(st.integers(0, len(child) - 1))]
            else:
                node[key] = draw(JUNK)
            return doc
        node, depth = child, depth + 1
    return draw(JUNK)


@pytest.fixture(scope="module")
def annotation_docs(smoke_dataset):
    return {name: json.loads(path.read_text()) for name, path in split_files(smoke_dataset, "test").items()}


@pytest.mark.parametrize("name", ["data", "camera", "joint_3d", "MANO_NeuralAnnot"])
def test_interhand_reader_rejects_mutated_annotations(smoke_dataset, annotation_docs, name):
    @fuzz
    @given(data=st.data())
    def check(data):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            shutil.copytree(smoke_dataset / "annotations", root / "annotations")
            path = split_files(root, "test")[name]
            if data.draw(st.integers(0, 4)) == 0:
                text = path.read_text()
                path.write_text(text[: data.draw(st.integers(0, len(text) - 1))])
            else:
                path.write_text(json.dumps(data.draw(json_mutation(annotation_docs[name]))))
            try:
                records = [r for r in InterHandSplit(root, "test") if r is not None]
                for r in records:
                    assert np.isfinite(r.joints_cam).all() and np.isfinite(r.joints_img).all()
            except InputError as exc:
                _one_line(exc, str(root))

    check()


# -- HDF5 files between stages -----------------------------------------------------------


def test_pairs_reader_rejects_bad_hdf5(tmp_path, smoke_pairs):
    from handflow.papers.interhandgen.dataset import read_pairs

    @fuzz
    @given(how=st.sampled_from(["drop", "shape", "nan", "dtype", "version", "truncate", "garbage"]), cut=st.floats(0, 1, exclude_max=True))
    def check(how, cut):
        path = tmp_path / "pairs.h5"
        shutil.copy(smoke_pairs / "pairs.h5", path)
        if how in ("truncate", "garbage"):
            raw = path.read_bytes()
            path.write_bytes(raw[: int(len(raw) * cut)] if how == "truncate" else os.urandom(int(1 + 4096 * cut)))
        else:
            with h5py.File(path, "r+") as h5:
                pairs = h5["pairs"][...]
                del h5["pairs"]
                if how == "shape":
                    h5["pairs"] = pairs.reshape(len(pairs), -1)[:, : max(1, int(pairs[0].size * cut))]
                elif how == "nan":
                    pairs.flat[int((pairs.size - 1) * cut)] = np.nan
                    h5["pairs"] = pairs
                elif how == "dtype":
                    h5["pairs"] = np.array([b"x"] * len(pairs))
                elif how == "version":
                    h5["pairs"] = pairs
                    h5.attrs["schema_version"] = "other"
        try:
            read_pairs(path)
        except InputError as exc:
            _one_line(exc, str(path))
        else:
            raise AssertionError(f"{how}: accepted")

    check()


# -- params files ------------------------------------------------------------------------


def test_params_loader_rejects_mutated_files(tmp_path, smoke_params):
    from conftest import copy_project
    from handflow.params import load_params

    project = copy_project(tmp_path / "p", "smoke")
    files = sorted((project / "params").glob("*.yaml"))
    originals = {p: p.read_text() for p in files}

    @fuzz
    @given(data=st.data())
    def check(data):
        path = data.draw(st.sampled_from(files))
        for p, text in originals.items():
            p.write_text(text)
        if data.draw(st.integers(0, 3)) == 0:
            text = originals[path]
            path.write_text(text[: data.draw(st.integers(0, len(text)))] + data.draw(st.sampled_from(["", ":", "\t- [", "{"])))
        else:
            path.write_text(yaml.safe_dump(data.draw(json_mutation(yaml.safe_load(originals[path])))))
        try:
            load_params(project)
        except InputError as exc:
            _one_line(exc, "params")

    check()


# -- checkpoints -------------------------------------------------------------------------


def test_model_files_reject_truncated_or_foreign_content(tmp_path):
    from handflow.checkpoints import save_torch
    from handflow.papers.interhandgen.networks import FeatureNetConfig, SetAbstractionRegressor, load_network

    cfg = FeatureNetConfig(n_left=4, n_right=4, width=8, feature_dim=4, centres=2, group_size=3)
    net = SetAbstractionRegressor(cfg, np.random.default_rng(0).normal(size=(8, 3)))
    good = {"kind": "features", "config": cfg.to_dict(), "state_dict": net.state_dict(), "vertex_ids": torch.arange(8)}
    path = tmp_path / "features.pt"
    save_torch(good, path)
    raw = path.read_bytes()

    @fuzz
    @given(how=st.sampled_from(["truncate", "flip", "config", "weights", "missing", "kind"]), cut=st.floats(0, 1), junk=JUNK)
    def check(how, cut, junk):
        if how == "truncate":
            path.write_bytes(raw[: int(len(raw) * cut)])
        elif how == "flip":
            buf = bytearray(raw)
            buf[int((len(buf) - 1) * cut)] ^= 0xFF
            path.write_bytes(bytes(buf))
        else:
            ckpt = {**good, "config": dict(good["config"]), "state_dict": dict(good["state_dict"])}
            if how == "config":
                ckpt["config"][sorted(ckpt["config"])[int(3 * cut)]] = junk
            elif how == "weights":
                key = sorted(ckpt["state_dict"])[int((len(ckpt["state_dict"]) - 1) * cut)]
                ckpt["state_dict"][key] = torch.zeros(3)
            elif how == "kind":
                ckpt["kind"] = junk
            else:
                del ckpt[["kind", "config", "state_dict", "vertex_ids"][int(3 * cut)]]
            save_torch(ckpt, path)
        try:
            load_network(path, "features")
        except InputError as exc:
            _one_line(exc, str(path))

    check()


# -- metrics -----------------------------------------------------------------------------

FEATURES = st.sampled_from([0, 1, 2, 3, 7]).flatmap(
    lambda n: st.tuples(st.just(n), st.sampled_from([1, 4]), st.sampled_from(["normal", "nan", "inf", "constant", "huge"]))
)


def _features(spec, seed):
    n, d, kind = spec
    x = np.random.default_rng(seed).normal(size=(n, d))
    if n and kind == "nan":
        x[0, 0] = np.nan
    elif n and kind == "inf":
        x[-1, -1] = np.inf
    elif kind == "constant":
        x[:] = 1.0
    elif kind == "huge":
        x *= 1e300
    return x


@fuzz
@given(a=FEATURES, b=FEATURES, seed=st.integers(0, 2**16), k=st.integers(0, 4), mismatch=st.booleans())
def test_generative_metrics_are_numbers_or_computation_errors(a, b, seed, k, mismatch):
    x, y = _features(a, seed), _features(b, seed + 1)
    if mismatch:
        y = np.c_[y, y]
    rng = np.random.default_rng(seed)
    calls = {
        "Frechet distance": lambda: generative.frechet_distance(x, y),
        "MMD": lambda: generative.polynomial_mmd2(x, y),
        "KID": lambda: generative.kernel_distance(x, y, 3, 5, 1, rng)[0],
        "diversity": lambda: generative.diversity(x, k, rng),
        "precision/recall": lambda: generative.precision_recall(x, y, k)[0],
    }
    for name, call in calls.items():
        try:
            value = call()
        except ComputationError as exc:
            _one_line(exc, name)
        else:
            assert np.isfinite(value), (name, value)


@fuzz
@given(n=st.integers(0, 4), bad=st.sampled_from(["none", "nan", "shape", "types"]), seed=st.integers(0, 2**16))
def test_pose_metrics_are_numbers_no_frame_nan_or_computation_errors(n, bad, seed):
    """Pose metrics return NaN only for a bucket with no frame (the evaluation writes it as null); bad input raises."""
    rng = np.random.default_rng(seed)
    pred, gt = rng.normal(size=(n, 42, 3)), rng.normal(size=(n, 42, 3))
    valid, hand_type = rng.random((n, 42)) > 0.3, rng.integers(0, 3, n)
    if bad == "nan" and n:
        pred[0, 0, 0] = np.nan
    elif bad == "shape":
        gt = gt[:, :21]
    elif bad == "types":
        hand_type = hand_type + 5
    try:
        out = pose.mpjpe(pred, gt, valid, hand_type)
    except ComputationError as exc:
        _one_line(exc, "MPJPE")
    else:
        for bucket, value in out.items():
            assert np.isfinite(value) or not valid[pose.bucket_rows(hand_type)[bucket]].any(), (bucket, value)


# ---- The judges: any array a stage could hand them -------------------------------------------------------------------


@pytest.fixture(scope="module")
def judges():
    from handflow.judges.features import ImageFeatures
    from handflow.judges.hands import HandLandmarker
    from handflow.judges.people import PersonLandmarker

    made = [HandLandmarker.from_package(), PersonLandmarker.from_package(), ImageFeatures.from_package()]
    yield made
    made[0].close()
    made[1].close()


@fuzz
@given(
    n=st.integers(0, 2),
    h=st.sampled_from([1, 2, 17, 64]),
    w=st.sampled_from([1, 3, 40]),
    channels=st.sampled_from([1, 3, 4]),
    dtype=st.sampled_from(["uint8", "float32", "int64", "bool"]),
    fill=st.sampled_from(["zeros", "full", "noise"]),
    seed=st.integers(0, 2**16),
)
def test_judges_judge_or_refuse_any_array_in_one_line(judges, n, h, w, channels, dtype, fill, seed):
    """A judge gets a result per image (possibly "nothing found") or one line naming the images; never a crash or NaN."""
    rng = np.random.default_rng(seed)
    values = {
        "zeros": np.zeros((n, h, w, channels)),
        "full": np.full((n, h, w, channels), 255),
        "noise": rng.integers(0, 256, (n, h, w, channels)),
    }
    images = values[fill].astype(dtype)
    for judge in judges:
        try:
            out = judge(images)
        except InputError as exc:
            _one_line(exc, "images")
            assert channels != 3 or dtype != "uint8"
            continue
        assert len(out) == n
        if isinstance(out, np.ndarray):
            assert np.isfinite(out).all()


# ---- Affordance Diffusion's readers: palette masks, videos, split CSVs, pairs files -----------------------------------
_PALETTE = [(0, 0, 0), (128, 0, 0), (0, 128, 0), (128, 128, 0), (0, 0, 128), (128, 0, 128), (0, 128, 128)]


@fuzz
@given(
    st.integers(1, 12),
    st.integers(1, 12),
    st.lists(st.one_of(st.sampled_from(_PALETTE), st.tuples(*[st.integers(0, 255)] * 3)), min_size=1, max_size=144),
)
def test_palette_masks_read_or_fail_in_one_line(h, w, colours):
    from handflow.papers.affordance.ho3pair import labels_of_palette

    image = np.array([colours[i % len(colours)] for i in range(h * w)], np.uint8).reshape(h, w, 3)
    try:
        labels = labels_of_palette(image, "mask.png")
    except InputError as exc:
        _one_line(exc, "mask.png", "palette")
        return
    assert labels.shape == (h, w) and labels.max() <= 6


@fuzz
@given(st.binary(max_size=2048), st.integers(0, 4096))
def test_damaged_videos_decode_or_fail_in_one_line(hoi4d_tree, data, cut):
    from handflow.papers.affordance import hoi4d
    from handflow.papers.affordance.pairs import decode_video

    vid = hoi4d.read_split(hoi4d_tree / "Sets" / "test.csv", hoi4d_tree)[0].vid
    original = hoi4d.video_path(hoi4d_tree, vid).read_bytes()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "image.mp4"
        path.write_bytes(original[: cut * 8] + data)
        try:
            frames = decode_video(path)
        except InputError as exc:
            _one_line(exc, "image.mp4")
            return
        assert frames and all(f.ndim == 3 and f.shape[2] == 3 for f in frames)


@fuzz
@given(st.text(max_size=400))
def test_split_csvs_read_or_fail_in_one_line(hoi4d_tree, text):
    from handflow.papers.affordance import hoi4d

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "split.csv"
        path.write_text("vid_index,frame_number,obj\n" + text)
        try:
            rows = hoi4d.read_split(path, hoi4d_tree)
        except InputError as exc:
            _one_line(exc, "split.csv")
            return
    assert all(r.frame >= 0 and r.prompt for r in rows)


@fuzz
@given(
    st.sampled_from(["hoi", "obj", "obj_sdedit", "keep", "obj_mask", "hand_box", "category"]),
    st.sampled_from(["drop", "short", "group", "text"]),
    st.integers(0, 100),
)
def test_pairs_files_load_or_fail_in_one_line(hoi4d_pairs, key, how, cut):
    from handflow.papers.affordance.pair_data import read_pairs_file

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "pairs.h5"
        shutil.copy(hoi4d_pairs["train"], path)
        with h5py.File(path, "a") as h5:
            data = h5[key][()]
            del h5[key]
            if how == "short":
                h5.create_dataset(key, data=data[: cut % max(len(data) - 1, 1)])
            elif how == "group":
                h5.create_group(key)
            elif how == "text":
                h5.create_dataset(key, data=np.array(["x"] * len(data), dtype=h5py.string_dtype()))
        with pytest.raises(InputError) as err:
            read_pairs_file(path)
        # a dropped or replaced dataset is named; a shortened one may be reported as its neighbours' disagreement with it
        _one_line(err.value, "pairs.h5", key if how in ("drop", "group", "text") else "")


@fuzz
@given(data=st.data(), edits=st.integers(1, 4))
def test_mutated_bvh_files_read_or_fail_in_one_line(s2h_characters, data, edits):
    """Random edits of a character's BVH (tokens replaced, deleted, duplicated, lines cut): a motion, or one line naming
    the file; the hand reader on whatever parsed: the seed's hand, or one line."""
    from handflow.papers.s2h import bvh, hand
    from handflow.papers.s2h.characters import motion_of

    rot = np.broadcast_to(np.eye(3), (3, 21, 3, 3)).copy()
    tokens = bvh.bvh_text(motion_of(s2h_characters[0], rot, 1 / 60)).split("\n")
    for _ in range(edits):
        if not tokens:
            break
        i = data.draw(st.integers(0, len(tokens) - 1))
        how = data.draw(st.sampled_from(["replace", "delete", "duplicate", "cut"]))
        words = tokens[i].split()
        if how == "replace" and words:
            w = data.draw(st.integers(0, len(words) - 1))
            words[w] = data.draw(st.sampled_from(["nan", "1e999", "x", "{", "}", "JOINT", "CHANNELS", "-3", "Wrotation", ""]))
            tokens[i] = " ".join(words)
        elif how == "delete":
            tokens.pop(i)
        elif how == "duplicate":
            tokens.insert(i, tokens[i])
        else:
            tokens = tokens[:i]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.bvh"
        path.write_text("\n".join(tokens))
        try:
            motion = bvh.read_bvh(path)
        except InputError as exc:
            _one_line(exc, "m.bvh")
            return
        assert np.isfinite(motion.values).all()
        try:
            hand.hand_of(motion, str(path))
        except InputError as exc:
            _one_line(exc, "m.bvh")


@fuzz
@given(st.lists(st.text(max_size=120), min_size=1, max_size=4), st.integers(1, 20))
def test_prompts_tokenize_or_fail_in_one_line(prompts, max_tokens):
    """Any prompt text (empty, over-long, punctuation, unknown words, other scripts): token ids, or one line naming the prompt."""
    from handflow.papers.dhpc.text import PAD, tokenize, vocabulary

    try:
        ids = tokenize(prompts, max_tokens, "params/dhpc.yaml")
    except InputError as exc:
        _one_line(exc, "params/dhpc.yaml", "prompt")
        return
    assert ids.shape == (len(prompts), max_tokens) and (ids >= 0).all() and (ids < len(vocabulary())).all()
    assert ((ids != PAD).sum(1) > 0).all()


@fuzz
@given(
    st.sampled_from(["web", "real_test"]),
    st.sampled_from(["image", "mask", "depth", "kp2d", "kp3d", "pose", "shape", "trans", "focal", "action", "caption"]),
    st.sampled_from(["drop", "short", "group", "text", "nan", "transpose"]),
    st.integers(0, 100),
)
def test_renders_files_read_or_fail_in_one_line(dhpc_renders, split, key, how, cut):
    from handflow.papers.dhpc.dataset import read_split

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "renders.h5"
        shutil.copy(dhpc_renders, path)
        with h5py.File(path, "a") as h5:
            g = h5[split]
            data = g[key][()]
            del g[key]
            if how == "short":
                g.create_dataset(key, data=data[: cut % max(len(data) - 1, 1)])
            elif how == "group":
                g.create_group(key)
            elif how == "text":
                g.create_dataset(key, data=np.array(["x"] * len(data), dtype=h5py.string_dtype()))
            elif how == "nan":
                g.create_dataset(key, data=np.full(data.shape, np.nan) if data.dtype.kind == "f" else data)
            elif how == "transpose":
                g.create_dataset(key, data=data.T)
        try:
            split_data = read_split(path, split)
        except InputError as exc:
            _one_line(exc, "renders.h5", f"{split}/")
            return
        # what reads back is what the stages expect: a change that kept shape and values (a 1-D field transposed, NaN in ints)
        assert len(split_data) == len(split_data.caption) and np.isfinite(split_data.kp3d).all()


def _damaged(arrays: dict[str, np.ndarray], key: str, how: str, cut: int) -> dict[str, np.ndarray]:
    """`arrays` with the one under `key` dropped, truncated, transposed, given a NaN, turned to text or a scalar, or
    shifted below zero (what the npz-reading fuzz targets do to a file)."""
    a = arrays[key]
    if how == "drop":
        del arrays[key]
    elif how == "truncate":
        arrays[key] = a[: cut % max(len(a), 1)]
    elif how == "transpose":
        arrays[key] = a.T
    elif how == "nan":
        arrays[key] = np.where(np.arange(a.size).reshape(a.shape) == cut, np.nan, a.astype(np.float64)) if a.dtype.kind in "fiub" else a
    elif how == "text":
        arrays[key] = np.array(["x"] * len(a))
    elif how == "scalar":
        arrays[key] = np.float64(cut)
    else:
        arrays[key] = a - cut - 1 if a.dtype.kind in "fiu" else a[::-1]
    return arrays


@fuzz
@given(
    st.sampled_from(["v_template", "f", "shapedirs", "posedirs", "J_regressor", "weights", "kintree_table"]),
    st.sampled_from(["drop", "truncate", "transpose", "nan", "text", "scalar", "negative"]),
    st.integers(0, 30),
)
def test_body_model_files_read_or_fail_in_one_line(key, how, cut):
    """An SMPL-layout file with one array damaged: a body that poses to finite numbers, or one line naming the file."""
    from conftest import smpl_layout_arrays
    from handflow.papers.dhpc.smpl import SmplBody

    arrays = _damaged(smpl_layout_arrays(), key, how, cut)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "SMPL_NEUTRAL.npz"
        np.savez(path, **arrays)
        try:
            smpl = SmplBody(path)
        except InputError as exc:
            _one_line(exc, "SMPL_NEUTRAL.npz")
            return
        with torch.no_grad():
            out = smpl(torch.zeros(2, 14, 3), torch.full((2, 6), 0.5))
        assert torch.isfinite(out.vertices).all() and torch.isfinite(out.keypoints).all()


@fuzz
@given(
    st.sampled_from(["verts", "faces", "weight", "vgrp_label", "bone_names", "bone_cors"]),
    st.sampled_from(["drop", "truncate", "transpose", "nan", "text", "scalar", "negative"]),
    st.integers(0, 30),
)
def test_character_mesh_files_read_or_fail_in_one_line(key, how, cut):
    """A seed-format `<Char>_mesh_data.npz` (written by the test, `mixamo_bvh`) with one array damaged: a hand mesh in
    the BVH's wrist frame with finite vertices and weights, or one line naming the file."""
    import mixamo_bvh

    from handflow.papers.s2h.dataset import read_hand
    from handflow.papers.s2h.user_characters import hand_mesh

    sk = mixamo_bvh.skeleton(1.0, 4.0)
    with tempfile.TemporaryDirectory() as tmp:
        path, clip = Path(tmp) / "C_mesh_data.npz", Path(tmp) / "C.bvh"
        mixamo_bvh.write_seed_mesh(path, sk)
        mixamo_bvh.write_clip(clip, sk, 2, 30, 0)
        with np.load(path) as data:
            arrays = _damaged(dict(data), key, how, cut)
        np.savez(path, **arrays)
        offsets, _, _ = read_hand(clip)
        try:
            verts, weights = hand_mesh(path, offsets)
        except InputError as exc:
            _one_line(exc, "C_mesh_data.npz")
            return
        assert np.isfinite(verts).all() and np.isfinite(weights).all() and weights.shape == (len(verts), 21)


@fuzz
@given(st.lists(st.sampled_from(["A", "B", "C", "D", "a.bvh", "B.bvh", "notes.txt", "E"]), max_size=6), st.data())
def test_character_folders_are_found_or_refused_in_one_line(entries, data):
    """Any folder of character folders and files, with any splits: characters with a train, val and test one, or one
    line naming the folder or the params key."""
    import mixamo_bvh

    from handflow.papers.s2h.user_characters import find_characters

    splits = data.draw(st.none() | st.dictionaries(st.sampled_from(["A", "B", "C", "Z"]), st.sampled_from(["train", "val", "test", "dev"])))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "chars"
        root.mkdir()
        sk = mixamo_bvh.skeleton(1.0, 0.0)
        for entry in entries:
            if entry.endswith(".bvh"):
                mixamo_bvh.write_clip(root / entry, sk, 1, 30, 0)
            elif entry.endswith(".txt"):
                (root / entry).write_text("x")
            else:
                (root / entry).mkdir(exist_ok=True)
                if entry != "E":  # E: a folder without clips
                    mixamo_bvh.write_clip(root / entry / "c.bvh", sk, 1, 30, 0)
        try:
            found = find_characters(root, splits, "params/s2h.yaml")
        except InputError as exc:
            _one_line(exc)
            assert "chars" in str(exc) or "params/s2h.yaml" in str(exc), str(exc)
            return
        assert {c.split for c in found} == {"train", "val", "test"} and all(c.clips for c in found)


@pytest.fixture(scope="module")
def coco_set(tmp_path_factory):
    from test_dhpc_real import write_coco

    root = tmp_path_factory.mktemp("coco_fuzz")
    return root, write_coco(root, "train", 2, True)


@fuzz
@given(data=st.data())
def test_coco_keypoint_files_read_or_fail_in_one_line(coco_set, data):
    """A test-written COCO person-keypoints file with one value replaced, removed or cut short (or the text truncated):
    frames with finite keypoints in the crop, or one line naming the file."""
    from handflow.papers.dhpc.coco import read_coco

    root, doc = coco_set
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "person_keypoints.json"
        text = json.dumps(data.draw(json_mutation(doc)))
        if data.draw(st.integers(0, 4)) == 0:
            text = text[: data.draw(st.integers(0, len(text) - 1))]
        path.write_text(text)
        try:
            arrays, counts = read_coco(path, root / "images", 16, 6)
        except InputError as exc:
            _one_line(exc)
            assert "person_keypoints.json" in str(exc) or "images" in str(exc), str(exc)
            return
        assert np.isfinite(arrays["kp2d"]).all() and np.isfinite(arrays["kp3d"]).all() and counts["n"] == len(arrays["image"])
        assert ((arrays["kp2d"][..., :2] >= 0) & (arrays["kp2d"][..., :2] < 16)).all()


PIPELINE_CONFIGS = ["model_index.json", "unet/config.json", "scheduler/scheduler_config.json"]


def _damaged_directory(source: Path, root: Path, configs: list[str], data) -> None:
    """A copy at `root` of the diffusers directory `source` with one of its JSON `configs` mutated, or one of its weights
    files cut short."""
    shutil.copytree(source, root)
    how = data.draw(st.sampled_from([*configs, "weights"]))
    if how == "weights":
        weights = data.draw(st.sampled_from(sorted(root.rglob("*.safetensors"))))
        blob = weights.read_bytes()
        weights.write_bytes(blob[: data.draw(st.integers(0, len(blob) - 1))])
    else:
        path = root / how
        path.write_text(json.dumps(data.draw(json_mutation(json.loads(path.read_text())))))


@fuzz
@given(data=st.data())
def test_stable_diffusion_directories_load_or_fail_in_one_line(tiny_sd_pipelines, data):
    """The user's pipeline directory (`dhpc.stable_diffusion`) with its index or the UNet's config mutated, or a weights
    file cut short: a pipeline that draws, or one line naming the directory."""
    from handflow.papers.dhpc.generators import PipelineConfig, load_generator

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "sd"
        _damaged_directory(tiny_sd_pipelines["t2i"], root, PIPELINE_CONFIGS, data)
        try:
            gen = load_generator("t2i", None, PipelineConfig(str(root), None, ""), Path(tmp), 16)
        except InputError as exc:
            _one_line(exc)
            assert "sd" in str(exc), str(exc)
            return
        assert gen.describe()["pipeline"] == "StableDiffusionPipeline"


# -- MLflow run records (handflow.tracking) ----------------------------------------------

RUN_RECORD = {
    "format": "handflow-run-record/1",
    "run_name": "interhandgen_train_cascade",
    "tracking_uri": "sqlite:///mlflow.db",
    "tags": {"stage": "interhandgen_train_cascade", "scale": "smoke", "seed": "0"},
    "start_time": 1796000000000,
    "params": {"train.steps": "200", "global.device": "cpu"},
    "metrics": [["loss", 0.5, 1796000000100, 0], ["loss", 0.25, 1796000000200, 10], ["fid", 3, 1796000000300, 0]],
    "artifacts": ["/project/models/interhandgen/cascade_loss.tsv"],
    "status": "FINISHED",
    "end_time": 1796000000400,
}


@fuzz
@given(data=st.data())
def test_run_records_read_or_fail_in_one_line(data):
    """What the driver's sync reads before it creates a run: a record is whole and typed, or one line names its field."""
    from handflow.tracking import RunRecord

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "run.json"
        text = json.dumps(RUN_RECORD)
        how = data.draw(st.sampled_from(["mutate", "mutate", "mutate", "cut", "bytes"]))
        if how == "cut":
            path.write_text(text[: data.draw(st.integers(0, len(text) - 1))])
        elif how == "bytes":
            path.write_bytes(data.draw(st.binary(max_size=200)))
        else:
            path.write_text(json.dumps(data.draw(json_mutation(RUN_RECORD))))
        try:
            record = RunRecord.read(path)
        except InputError as exc:
            _one_line(exc, str(path))
            return
    assert record.status in ("FINISHED", "FAILED") and record.run_name and record.tracking_uri
    assert all(np.isfinite(v) and step >= 0 for _, v, _, step in record.metrics)


# -- The user's weights, autoencoder, inpainting pipeline, betas and images ---------------


SMALL_HRNET = {"width": 8, "modules": (1, 1, 1), "blocks": 1}


@pytest.fixture(scope="module")
def small_hrnet():
    from handflow.papers.digit.networks import DigitConfig, HRNetBackbone

    torch.manual_seed(0)
    return HRNetBackbone(DigitConfig(**SMALL_HRNET))


@fuzz
@given(data=st.data())
def test_imagenet_backbone_weights_load_or_fail_in_one_line(small_hrnet, data):
    """The user's HRNet ImageNet checkpoint (`digit.pretrained_backbone`), written by the test as the official file is (a
    state dict, `module.`-prefixed, with a classifier head), with one entry dropped, reshaped, retyped or made NaN, a key
    replaced, or the file cut short: a backbone with finite weights, or one line naming the file."""
    from handflow.papers.digit.networks import DigitConfig, HRNetBackbone, load_imagenet_weights

    state = {f"module.{k}": v.clone() for k, v in small_hrnet.state_dict().items()}
    state["module.classifier.weight"] = torch.zeros(10, 4)
    keys = sorted(state)
    key = keys[data.draw(st.integers(0, len(keys) - 1))]
    how = data.draw(st.sampled_from(["drop", "reshape", "scalar", "text", "list", "nan", "half", "int", "key", "wrap", "list_top", "cut"]))
    if how == "drop":
        del state[key]
    elif how == "reshape":
        state[key] = state[key].reshape(-1)[:-1] if state[key].numel() > 1 else torch.zeros(2, 2)
    elif how == "scalar":
        state[key] = 3
    elif how == "text":
        state[key] = "conv"
    elif how == "list":
        state[key] = [1.0, 2.0]
    elif how == "nan":
        state[key] = torch.full_like(state[key], float("nan")) if state[key].is_floating_point() else state[key]
    elif how == "half":
        state[key] = state[key].half()
    elif how == "int":
        state[key] = state[key].long()
    elif how == "key":
        state[7] = state.pop(key)
    obj: object = {"state_dict": state} if how == "wrap" else list(state.values()) if how == "list_top" else state
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "hrnet_w8.pth"
        torch.save(obj, path)
        if how == "cut":
            blob = path.read_bytes()
            path.write_bytes(blob[: data.draw(st.integers(0, len(blob) - 1))])
        fresh = HRNetBackbone(DigitConfig(**SMALL_HRNET))
        try:
            loaded = load_imagenet_weights(fresh, path)
        except InputError as exc:
            _one_line(exc, "hrnet_w8.pth")
            return
    assert loaded > 0 and all(torch.isfinite(v).all() for v in fresh.state_dict().values() if v.is_floating_point())


@fuzz
@given(data=st.data())
def test_latent_autoencoder_directories_load_or_fail_in_one_line(tiny_vae, data):
    """The user's first stage (`affordance.content.vae`): a diffusers autoencoder directory with its config mutated or its
    weights file cut short: a codec that encodes and decodes to finite numbers, or one line naming the directory."""
    from handflow.papers.affordance.networks import LatentCodec

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "vae"
        _damaged_directory(tiny_vae, root, ["config.json"], data)
        try:
            codec = LatentCodec(root)
        except InputError as exc:
            _one_line(exc)
            assert "vae" in str(exc), str(exc)
            return
        with torch.no_grad():
            out = codec.decode(codec.encode(torch.zeros(1, 3, 32, 32)))
    assert out.shape == (1, 3, 32, 32) and torch.isfinite(out).all()


def test_a_config_that_would_build_without_end_is_refused_before_building(tiny_vae, tmp_path):
    """Found by the autoencoder target at 300 inputs: `layers_per_block` 10**12 made diffusers build layers until the
    kernel killed the process (24 GB); refused now by the size check, before anything is built."""
    from handflow.papers.affordance.networks import LatentCodec

    root = tmp_path / "vae"
    shutil.copytree(tiny_vae, root)
    config = json.loads((root / "config.json").read_text())
    (root / "config.json").write_text(json.dumps({**config, "layers_per_block": 10**12}))
    with pytest.raises(InputError, match=r"vae/config.json: layers_per_block: 1000000000000: implausibly large"):
        LatentCodec(root)


@fuzz
@given(data=st.data())
def test_inpainting_pipeline_directories_load_or_fail_in_one_line(tiny_inpaint_pipeline, data):
    """The user's inpainting pipeline (`affordance.pairs.inpaint.model`) with its index or the UNet's config mutated, or a
    weights file cut short: an inpainter that loaded, or one line naming the directory."""
    from handflow.papers.affordance.pairs import InpaintConfig, Inpainter

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "inpaint"
        _damaged_directory(tiny_inpaint_pipeline, root, PIPELINE_CONFIGS, data)
        try:
            inpaint = Inpainter(InpaintConfig(model="inpaint", radius=3, kernel=7, sdedit_t=0.05), Path(tmp))
        except InputError as exc:
            _one_line(exc)
            assert "inpaint" in str(exc), str(exc)
            return
    assert inpaint.pipe is not None


@fuzz
@given(
    st.sampled_from(["f8", "f4", "i4", "c16", "U3", "b1"]),
    st.sampled_from([(10,), (3, 10), (0, 10), (9,), (2, 3, 10), (), (10, 1)]),
    st.sampled_from(["ok", "nan", "inf", "cut", "npz", "bytes"]),
    st.integers(0, 200),
)
def test_betas_files_read_or_fail_in_one_line(dtype, shape, how, cut):
    """A MANO source's betas (`s2h retarget --betas`, or `<run>.npy` beside it) of any dtype and shape, with NaN or inf,
    cut short, an `.npz` under the name, or not NumPy at all: ten finite betas, or one line naming the file."""
    from handflow.papers.s2h.retarget_bvh import read_betas

    values = np.full(shape, 0.5).astype(dtype)
    if how in ("nan", "inf") and values.dtype.kind in "fc" and values.size:
        values.flat[cut % values.size] = np.nan if how == "nan" else np.inf
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "run.npy"
        if how == "npz":
            with open(path, "wb") as f:
                np.savez(f, betas=values)
        elif how == "bytes":
            path.write_bytes(bytes(range(cut % 256)) * 3)
        else:
            np.save(path, values)
            if how == "cut":
                blob = path.read_bytes()
                path.write_bytes(blob[: cut % len(blob)])
        try:
            betas = read_betas(path)
        except InputError as exc:
            _one_line(exc, "run.npy")
            return
    assert betas.shape == (10,) and betas.dtype == np.float64 and np.isfinite(betas).all()


@fuzz
@given(
    st.lists(st.sampled_from(["png", "jpg", "gray", "rgba", "wide", "tiny", "cut", "text", "empty", "16bit"]), max_size=4),
    st.integers(0, 2**16),
)
def test_object_image_folders_read_or_fail_in_one_line(kinds, seed):
    """The user's object images (`affordance.infer.images`): any mix of colour, grey, RGBA, 16-bit, odd-sized, tiny,
    truncated and non-image files: square RGB crops of the network's size, or one line naming the folder or the file."""
    from handflow.papers.affordance.infer import read_inputs

    rng = np.random.default_rng(seed)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "objects"
        root.mkdir()
        for i, kind in enumerate(kinds):
            path = root / f"{i}.{'jpg' if kind == 'jpg' else 'png'}"
            if kind in ("text", "empty"):
                path.write_bytes(b"not an image" if kind == "text" else b"")
                continue
            h, w = {"wide": (20, 70), "tiny": (1, 1)}.get(kind, (40, 30))
            channels = {"gray": 1, "rgba": 4}.get(kind, 3)
            image = rng.integers(0, 65535 if kind == "16bit" else 255, (h, w, channels)).astype(np.uint16 if kind == "16bit" else np.uint8)
            assert cv2.imwrite(str(path), image)
            if kind == "cut":
                blob = path.read_bytes()
                path.write_bytes(blob[: len(blob) // 2])
        try:
            images = read_inputs(root, 32, 10)
        except InputError as exc:
            _one_line(exc)
            assert "objects" in str(exc), str(exc)
            return
    assert images and all(v.shape == (32, 32, 3) and v.dtype == np.uint8 for v in images.values())


def test_a_pairs_file_as_inference_input_reads_or_fails_in_one_line(hoi4d_pairs, tmp_path):
    """`affordance.infer.images` may name a pairs file instead of a folder: it is read by the fuzzed pairs reader (a
    truncated copy was an OSError traceback, a file without `obj` a KeyError)."""
    from handflow.papers.affordance.infer import read_inputs

    images = read_inputs(hoi4d_pairs["test"], 32, 3)
    assert len(images) == 3 and all(v.shape == (32, 32, 3) and v.dtype == np.uint8 for v in images.values())
    cut = tmp_path / "pairs.h5"
    cut.write_bytes(hoi4d_pairs["test"].read_bytes()[:5000])
    with pytest.raises(InputError) as err:
        read_inputs(cut, 32, 3)
    _one_line(err.value, "pairs.h5")


# -- files one stage writes and a later one reads back ------------------------------------


def _damage_hdf5(path: Path, data) -> str:
    """One random damage to an HDF5 file, as a full disk, a copy cut short or another writer's version leaves it: a
    dataset dropped, cut, emptied, turned to a group, text, another dtype or rank, a NaN or out-of-range values; an
    attribute dropped or replaced; the bytes cut or overwritten. Returns what it did."""
    datasets, attributes = [], []
    with h5py.File(path, "r") as h5:
        attributes += [("", a) for a in h5.attrs]

        def visit(name, node):
            attributes.extend((name, a) for a in node.attrs)
            if isinstance(node, h5py.Dataset):
                datasets.append(name)

        h5.visititems(visit)
    target = data.draw(st.sampled_from(["dataset"] * 4 + ["attribute"] * 2 + ["bytes"]))
    if target == "bytes":
        raw = path.read_bytes()
        cut = data.draw(st.integers(0, len(raw) - 1))
        path.write_bytes(raw[:cut] if data.draw(st.booleans()) else raw[:cut] + os.urandom(64) + raw[cut + 64 :])
        return f"bytes from {cut}"
    if target == "attribute" and attributes:
        owner, name = data.draw(st.sampled_from(attributes))
        value = data.draw(st.sampled_from([None, "", "{", "[1]", "null", '{"a": 1}', "x", 3, -1, 2.5, True]))
        with h5py.File(path, "a") as h5:
            node = h5[owner] if owner else h5
            if value is None:
                del node.attrs[name]
            else:
                node.attrs[name] = value
        return f"attribute {owner}:{name} = {value!r}"
    key = data.draw(st.sampled_from(datasets))
    how = data.draw(
        st.sampled_from(["drop", "short", "empty", "group", "text", "nan", "transpose", "scalar", "retype", "below", "above", "axis"])
    )
    with h5py.File(path, "a") as h5:
        a = h5[key][()]
        del h5[key]
        numeric = a.dtype.kind in "biuf"
        if how == "group":
            h5.create_group(key)
        elif how != "drop":
            if how == "short":
                a = a[: data.draw(st.integers(0, max(len(a) - 1, 0)))] if a.ndim else a
            elif how == "empty":
                a = a[:0] if a.ndim else a
            elif how == "text":
                a = np.array(["x"] * (len(a) if a.ndim else 1), dtype=h5py.string_dtype())
            elif how == "nan" and numeric and a.size:
                a = a.astype(np.float64)
                a.flat[data.draw(st.integers(0, a.size - 1))] = np.nan
            elif how == "transpose":
                a = a.T
            elif how == "scalar":
                a = np.float64(1.5)
            elif how == "retype":
                a = (
                    a.astype({"f": np.int64, "u": np.uint16, "i": np.float32, "b": np.uint8}.get(a.dtype.kind, np.int64))
                    if numeric
                    else np.zeros(a.shape)
                )
            elif how in ("below", "above") and a.dtype.kind in "iuf":
                a = a.astype(np.int64 if a.dtype.kind != "f" else a.dtype) + (-1000 if how == "below" else 10**6)
            elif how == "axis":
                a = a[..., None]
            h5.create_dataset(key, data=a)
    return f"{key}: {how}"


# The file each stage writes (by its own writer, at test size) and what reads it back in the next stage.


def _preprocessed_split(request, root):
    from handflow.datasets.interhand.preprocessed import FIELDS, read_preprocessed
    from handflow.papers.interhandgen.dataset import build_pairs
    from handflow.papers.s2h.mano_side import interhand_runs

    hands = request.getfixturevalue("hands")
    return request.getfixturevalue("smoke_h5")["train"], lambda p: (read_preprocessed(p, FIELDS), interhand_runs(p), build_pairs(p, hands))


def _interhandgen_pairs(request, root):
    from handflow.papers.interhandgen.dataset import read_pairs

    return request.getfixturevalue("smoke_pairs") / "pairs.h5", read_pairs


def _interhandgen_samples(request, root):
    from handflow.papers.interhandgen.sample import read_samples, write_samples

    rng = np.random.default_rng(0)
    shapes = {"pairs": (6, 2, 64), "verts": (6, 10, 3), "joints": (6, 42, 3)}
    write_samples(root / "samples.h5", *(rng.normal(size=s) for s in shapes.values()), np.repeat(np.arange(2), 3), {"variant": "v"})
    return root / "samples.h5", lambda p: read_samples(p, 10)


def _digit_annotations(request, root):
    from handflow.papers.digit.annotations import read_annotations
    from handflow.papers.digit.dataset import DigitSamples
    from handflow.papers.digit.evaluate import ANNOTATION_KEYS

    stores = request.getfixturevalue("digit_stores")
    return stores[0], lambda p: (read_annotations(p, ANNOTATION_KEYS), DigitSamples(p, *stores[1:], augment=None).sample(0, 0))


def _s2h_packed_set(request, root):
    from handflow.papers.s2h.dataset import MixHand

    def load(p):
        data = MixHand.load(p)
        return [data.windows(data.ids(d, s), 4, 2) for d in ("mixamo", "mano") for s in ("train", "test")]

    return request.getfixturevalue("s2h_mixhand"), load


def _affordance_pairs(request, root):
    from handflow.papers.affordance.pair_data import PairSet
    from handflow.papers.affordance.report import pairs_notes

    return request.getfixturevalue("hoi4d_pairs")["test"], lambda p: (PairSet.load(p, 32), pairs_notes(p))


def _affordance_samples(request, root):
    from handflow.papers.affordance.samples_file import read_samples, write_samples

    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (2, 4, 16, 16, 3), dtype=np.uint8)
    write_samples(root / "samples.h5", images, rng.normal(size=(2, 4, 5)), np.arange(4), {"row": "full", "content_trainings": 1})
    return root / "samples.h5", read_samples


def _dhpc_renders(request, root):
    from handflow.papers.dhpc.dataset import read_poses, read_split

    return request.getfixturevalue("dhpc_renders"), lambda p: (read_split(p, "web"), read_poses(p))


def _dhpc_samples(request, root):
    from handflow.papers.dhpc.samples import read, write

    rng = np.random.default_rng(0)
    arrays = {
        "image": rng.integers(0, 255, (4, 16, 16, 3), dtype=np.uint8),
        "seed": np.arange(4),
        "source": np.arange(4),
        "depth": rng.uniform(0, 3000, (4, 16, 16)).astype(np.float32),
        "kp2d": rng.uniform(0, 16, (4, 14, 3)).astype(np.float32),
    }
    write(root / "samples.h5", "samples", arrays, ["a person"] * 4, {"scores": [0.5] * 4, "generator": {"kind": "test"}})
    return root / "samples.h5", lambda p: read(p, "samples", ("seed", "source", "depth", "kp2d"), {"scores": list})


INTERMEDIATES = {
    "preprocessed split": _preprocessed_split,
    "interhandgen pairs": _interhandgen_pairs,
    "interhandgen samples": _interhandgen_samples,
    "digit annotations": _digit_annotations,
    "semantics2hands packed set": _s2h_packed_set,
    "affordance pairs": _affordance_pairs,
    "affordance samples": _affordance_samples,
    "diffusion-hpc renders": _dhpc_renders,
    "diffusion-hpc samples": _dhpc_samples,
}


@pytest.mark.parametrize("name", INTERMEDIATES)
def test_files_between_stages_read_or_fail_in_one_line(name, request, tmp_path):
    """Every HDF5 file one stage writes and another reads, damaged at random (`_damage_hdf5`): what reads it back (and
    the stage code that uses what it read) returns, or raises one line naming the file, never another exception."""
    source, reader = INTERMEDIATES[name](request, tmp_path)
    reader(source)  # the undamaged file reads

    @fuzz
    @given(data=st.data())
    def check(data):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / source.name
            shutil.copy(source, path)
            what = _damage_hdf5(path, data)
            try:
                reader(path)
            except InputError as exc:
                _one_line(exc, source.name)
            except Exception as exc:
                raise AssertionError(f"{name}, {what}: {exc.__class__.__name__}: {exc}") from exc

    check()


@fuzz
@given(
    st.sampled_from(["whole", "scale", "images", "entry", "segm_valid"]),
    st.sampled_from([None, 0, -1.0, 1e400, "0.5", [], {}, True, [0.5]]),
)
def test_masks_metadata_reads_or_fails_in_one_line(digit_stores, where, value):
    """DIGIT's segmentation metadata (JSON) with a part removed or replaced by a value of another type."""
    from handflow.papers.digit.dataset import read_masks_meta

    meta = json.loads(digit_stores[3].read_text())
    key = next(iter(meta["images"]))
    if where == "whole":
        meta = value
    elif where in ("scale", "images"):
        meta.pop(where) if value is None else meta.__setitem__(where, value)
    elif where == "entry":
        meta["images"][key] = value
    else:
        meta["images"][key].pop("segm_valid") if value is None else meta["images"][key].__setitem__("segm_valid", value)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "meta.json"
        path.write_text(json.dumps(meta))
        try:
            read_masks_meta(path, [key])
        except InputError as exc:
            _one_line(exc, "meta.json")


def test_tree_identities_read_or_fail_in_one_line(s2h_mixhand):
    """Semantics2Hands' `identities.json` mutated at any depth or cut short: the tree's identities and `s2h retarget`'s
    defaults drawn from them, or one line naming the file."""
    from handflow.papers.s2h.identities import FILE, read_identities
    from handflow.papers.s2h.retarget_bvh import tree_defaults

    tree = s2h_mixhand.parent / "tree"
    doc = json.loads((tree / FILE).read_text())

    @fuzz
    @given(data=st.data())
    def check(data):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            for entry in tree.iterdir():
                if entry.name != FILE:
                    (root / entry.name).symlink_to(entry)
            text = json.dumps(data.draw(json_mutation(doc)))
            (root / FILE).write_text(text[: data.draw(st.integers(0, len(text)))] if data.draw(st.booleans()) else text)
            try:
                read_identities(root)
                tree_defaults(root)
            except InputError as exc:
                _one_line(exc, FILE)

    check()


def test_normalisation_statistics_read_or_fail_in_one_line(smoke_pairs):
    """InterHandGen's `stats.json` (the dataset stage's normalisation statistics) mutated at any depth or cut short."""
    from handflow.papers.interhandgen.representation import Normalizer

    doc = json.loads((smoke_pairs / "stats.json").read_text())

    @fuzz
    @given(data=st.data())
    def check(data):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "stats.json"
            text = json.dumps(data.draw(json_mutation(doc)))
            path.write_text(text[: data.draw(st.integers(0, len(text)))] if data.draw(st.booleans()) else text)
            try:
                Normalizer.load(path)
            except InputError as exc:
                _one_line(exc, "stats.json")

    check()


# -- results files a report stage reads (the smoke build's) --------------------------------

PROVENANCE = {"data_source": "embedded", "scale": "smoke", "seed": "0", "hand_model": "open", "body_model": "anny"}


def _interhandgen_report(a: Path):
    from handflow.papers.interhandgen.report import EVALUATION, FEATURES, SWEEP, build_table
    from handflow.papers.interhandgen.variants import REFERENCE, VARIANTS
    from handflow.storage.json_files import gather, read_json

    def build(paths):
        evals = gather([p for p in paths if p.name.startswith("eval_")], "row", [REFERENCE, *VARIANTS], EVALUATION)
        named = {p.name: p for p in paths}
        return build_table(evals, read_json(named["features.json"], FEATURES), read_json(named["apg_sweep.json"], SWEEP), PROVENANCE)

    return sorted((a / "results" / "interhandgen").glob("*.json")), build


def _digit_report(a: Path):
    from handflow.papers.digit.report import EVALUATION, build_table
    from handflow.papers.digit.variants import OFF_THE_SHELF, REFERENCE, VARIANTS
    from handflow.storage.json_files import gather

    def build(paths):
        return build_table(gather(paths, "row", [REFERENCE, OFF_THE_SHELF, *VARIANTS], EVALUATION), PROVENANCE)

    return sorted((a / "results" / "digit").glob("eval_*.json")), build


def _s2h_report(a: Path):
    from handflow.papers.s2h.report import EVALUATION, build_table
    from handflow.papers.s2h.variants import ROWS
    from handflow.storage.json_files import gather

    def build(paths):
        return build_table(gather(paths, "row", list(ROWS), EVALUATION), PROVENANCE, a / "data" / "processed" / "s2h" / "mixhand.h5", 2)

    return sorted((a / "results" / "s2h").glob("eval_*.json")), build


def _affordance_report(a: Path):
    from handflow.papers.affordance.report import EVALUATION, build_table
    from handflow.papers.affordance.variants import ROWS
    from handflow.storage.json_files import gather

    def build(paths):
        return build_table(gather(paths, "row", list(ROWS), EVALUATION), PROVENANCE, {}, [])

    return sorted((a / "results" / "affordance").glob("eval_*.json")), build


def _dhpc_report(a: Path):
    from handflow.papers.dhpc.report import build_table, read_evaluations

    def build(paths):
        return build_table(*read_evaluations(paths), a / "data" / "generated" / "dhpc" / "corrected.h5", PROVENANCE, 2)

    return sorted((a / "results" / "dhpc").glob("eval_*.json")), build


REPORTS = {
    "interhandgen": _interhandgen_report,
    "digit": _digit_report,
    "semantics2hands": _s2h_report,
    "affordance": _affordance_report,
    "diffusion-hpc": _dhpc_report,
}


@pytest.mark.parametrize("paper", REPORTS)
def test_report_inputs_read_or_fail_in_one_line(paper, smoke_build):
    """A report stage's results files (the smoke build's evaluations), one of them mutated at any depth, cut short or
    given a NaN: the paper's table, or one line naming the file (each report declares what it reads as JSON Schema)."""
    a, _ = smoke_build
    sources, build = REPORTS[paper](a)
    build(sources)  # the undamaged files make the table
    docs = {p.name: json.loads(p.read_text()) for p in sources}

    @fuzz
    @given(data=st.data())
    def check(data):
        with tempfile.TemporaryDirectory() as tmp:
            paths = [Path(tmp) / p.name for p in sources]
            for p in paths:
                p.write_text(json.dumps(docs[p.name]))
            target = data.draw(st.sampled_from(paths))
            text = json.dumps(data.draw(json_mutation(docs[target.name])))
            target.write_text(text[: data.draw(st.integers(0, len(text)))] if data.draw(st.integers(0, 4)) == 0 else text)
            try:
                build(paths)
            except InputError as exc:
                _one_line(exc, tmp)

    check()
