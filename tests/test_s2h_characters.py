"""Semantics2Hands on the user's own Mixamo characters: BVH files and seed-format meshes written by the test itself
(`mixamo_bvh`, not the project's writer) read, split, packed and retargeted onto; `s2h retarget` writes a BVH that reads
back with the target's skeleton, its body untouched and its hand moving."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import mixamo_bvh
import numpy as np
import pytest
import torch
import yaml

from conftest import PIPELINE_ENV, SNAKEMAKE, run_ok
from handflow.errors import InputError
from handflow.papers.s2h import bvh
from handflow.papers.s2h.dataset import read_hand, subsample_step
from handflow.papers.s2h.hand import FINGERS, NON_TIPS, TIPS, forward_kinematics, mixamo_names
from handflow.papers.s2h.user_characters import find_characters, hand_mesh

CHARACTERS = {"Aj": (1.0, 2.0, 60), "BigVegas": (1.15, 8.0, 30), "Kaya": (0.9, 5.0, 60), "SportyGranny": (0.95, 12.0, 60)}


@pytest.fixture(scope="module")
def characters(tmp_path_factory):
    root = tmp_path_factory.mktemp("mixamo")
    mixamo_bvh.write_characters(root, CHARACTERS, clips=3, seconds=4.0, mesh=("SportyGranny",))
    return root


def test_a_mixamo_export_is_read_with_its_namespace_order_end_sites_and_body(characters):
    path = characters / "Aj" / "clip0.bvh"
    motion = bvh.read_bvh(path)
    assert len(motion.skeleton.names) == 62 and motion.skeleton.names[0] == "mixamorig7:Hips"
    offsets, rotations, frame_time = read_hand(path)
    rest = mixamo_bvh.world_rest(mixamo_bvh.skeleton(*CHARACTERS["Aj"][:2]))
    pos, _ = forward_kinematics(offsets, np.eye(3)[None, None].repeat(21, 1))
    names = mixamo_names()
    for k, name in enumerate(names):
        if k not in TIPS:
            assert np.allclose(pos[0, k], rest[name] - rest["RightHand"], atol=1e-5), name
    assert np.linalg.norm(offsets[TIPS], axis=1).min() > 1.0  # the tips from the third bones' End Sites
    pinky = [k for k in NON_TIPS if "Pinky" in names[k]]
    assert np.allclose(rotations[:, pinky], rotations[:1, pinky])  # constant channels read as a held pose
    assert rotations[:, [k for k in NON_TIPS if "Index" in names[k]]].std(0).max() > 0.1
    assert frame_time == pytest.approx(1 / 60, rel=1e-5) and subsample_step(frame_time) == 12
    assert subsample_step(bvh.read_bvh(characters / "BigVegas" / "clip0.bvh").frame_time) == 6 and subsample_step(0.2) == 1


def test_characters_are_split_by_name_or_by_params_and_a_bad_hand_is_one_line(characters, tmp_path):
    found = find_characters(characters, None, "params/s2h.yaml")
    assert [(c.name, c.split) for c in found] == [("Aj", "train"), ("BigVegas", "train"), ("Kaya", "val"), ("SportyGranny", "test")]
    assert [c.mesh is not None for c in found] == [False, False, False, True]
    chosen = find_characters(characters, {"Aj": "test", "Kaya": "val"}, "params/s2h.yaml")
    assert {c.name: c.split for c in chosen} == {"Aj": "test", "BigVegas": "train", "Kaya": "val", "SportyGranny": "train"}
    with pytest.raises(InputError, match=r"character_splits\.Nobody"):
        find_characters(characters, {"Nobody": "test"}, "params/s2h.yaml")
    two = tmp_path / "two"
    for name in ("Aj", "Kaya"):
        shutil.copytree(characters / name, two / name)
    with pytest.raises(InputError, match="2 characters"):
        find_characters(two, None, "params/s2h.yaml")
    broken = tmp_path / "broken.bvh"  # a hand without its ring finger's middle bone
    broken.write_text((characters / "Kaya" / "clip0.bvh").read_text().replace("RightHandRing2", "RightHandRingX"))
    with pytest.raises(InputError) as err:
        read_hand(broken)
    assert str(broken) in str(err.value) and "RightHandRing" in str(err.value) and "\n" not in str(err.value)


def test_the_seeds_mesh_file_is_aligned_to_the_bvh_hand(characters, tmp_path):
    """Blender's frame (metres, z up, shifted) and every body group in the file: the hand's groups are picked by name
    and the mesh lands on the BVH's wrist frame."""
    sk = mixamo_bvh.skeleton(*CHARACTERS["Kaya"][:2])
    truth = mixamo_bvh.write_seed_mesh(tmp_path / "Kaya_mesh_data.npz", sk)
    mixamo_bvh.write_clip(tmp_path / "Kaya.bvh", sk, 4, 60, 0)
    offsets, _, _ = read_hand(tmp_path / "Kaya.bvh")
    verts, weights = hand_mesh(tmp_path / "Kaya_mesh_data.npz", offsets)
    assert np.abs(verts - truth["verts_bvh"]).max() < 1e-3  # float32 metres
    assert weights.shape == (len(verts), 21) and np.allclose(weights.sum(1), 1.0) and not weights[:, TIPS].any()
    other = mixamo_bvh.skeleton(1.3, 2.0)  # another character's mesh: its bones are not this hand
    mixamo_bvh.write_seed_mesh(tmp_path / "Other_mesh_data.npz", other)
    wrong = offsets.copy()
    wrong[1:5] *= 1.5
    with pytest.raises(InputError, match="bone_cors"):
        hand_mesh(tmp_path / "Other_mesh_data.npz", wrong)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, s2h_mixhand):
    """A tiny ASRN trained for a few steps on the anny tree: the retarget command's network."""
    from handflow.papers.s2h.networks import DecoderConfig
    from handflow.papers.s2h.train import RetargetTrainer, TrainConfig
    from handflow.training import fit

    out = tmp_path_factory.mktemp("asrn")
    cfg = TrainConfig(
        lr=1e-3, batch_size=4, steps=3, window=4, stride=2, checkpoint_every=3, log_every=1, grad_clip=0.5,
        lambda_rf=1.0, lambda_rp=1.0, lambda_anat=0.1, rf_unweighted=0.05,
    )  # fmt: skip
    torch.manual_seed(0)
    fit(RetargetTrainer("asrn", s2h_mixhand, DecoderConfig(16, 8, 2), cfg, 0), out / "ck", out / "s0.pt", out / "s0_loss.tsv")
    return out


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A project for the command line (its params; its own MLflow store)."""
    from conftest import copy_project

    return copy_project(tmp_path_factory.mktemp("project") / "p")


def _tokens(path):
    """The MOTION section's rows as text tokens (what "byte-identical channels" compares)."""
    lines = path.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Frame Time")) + 1
    return [line.split() for line in lines[start:] if line.strip()]


def test_retarget_writes_the_targets_bvh_with_its_body_untouched_and_its_hand_moving(characters, trained, project, tmp_path):
    source, target = characters / "Aj" / "clip1.bvh", characters / "SportyGranny" / "clip0.bvh"
    out = tmp_path / "out" / "retargeted.bvh"
    cmd = [sys.executable, "-m", "handflow", "--project", str(project), "s2h", "retarget", "--model", str(trained)]
    cmd += ["--source", str(source)]
    cmd += ["--target", str(target), "--target-mesh", str(characters / "SportyGranny" / "SportyGranny_mesh_data.npz"), "--out", str(out)]
    run_ok([*cmd, "--gif", str(tmp_path / "out" / "hands.gif"), "--gif-frames", "6"], tmp_path)
    from PIL import Image

    with Image.open(tmp_path / "out" / "hands.gif") as gif:  # source and retargeted hands side by side, 6 frames
        assert gif.n_frames == 6 and gif.size == (400, 200)
        first, gif_frames = np.asarray(gif.convert("RGB")), []
        for k in range(gif.n_frames):
            gif.seek(k)
            gif_frames.append(np.asarray(gif.convert("RGB"))[:, 200:])
    assert (first < 250).any() and max(np.abs(f.astype(int) - gif_frames[0]).sum() for f in gif_frames) > 0  # drawn, and moving
    assert out.read_text().split("MOTION")[0] == target.read_text().split("MOTION")[0]  # the hierarchy byte for byte
    got, tgt, src = bvh.read_bvh(out), bvh.read_bvh(target), bvh.read_bvh(source)
    assert got.skeleton.names == tgt.skeleton.names and got.skeleton.channels == tgt.skeleton.channels
    assert np.array_equal(got.skeleton.offsets, tgt.skeleton.offsets) and got.skeleton.end_sites.keys() == tgt.skeleton.end_sites.keys()
    assert got.n_frames == src.n_frames and got.frame_time == src.frame_time
    sk, bare = tgt.skeleton, [bvh.bare_name(n) for n in tgt.skeleton.names]
    hand_cols = set()
    for k in NON_TIPS:
        j = bare.index(mixamo_names()[k])
        hand_cols |= {int(sk.channel_starts[j]) + c for c, name in enumerate(sk.channels[j]) if name.endswith("rotation")}
    out_rows, in_rows = _tokens(out), _tokens(target)
    body = [c for c in range(len(in_rows[0])) if c not in hand_cols]
    assert len(hand_cols) == 45 and all([r[c] for c in body] == [s[c] for c in body] for r, s in zip(out_rows, in_rows, strict=True))
    _, rotations, _ = read_hand(out)
    moving = [k for k in NON_TIPS if mixamo_names()[k].removeprefix("RightHand")[:-1] in FINGERS[:4]]
    assert rotations[:, moving].std(0).max() > 0.05 and np.isfinite(rotations).all()


def test_retarget_holds_the_first_body_frame_of_a_shorter_target_and_refuses_a_bad_source(characters, trained, project, tmp_path):
    rest = tmp_path / "rest.bvh"
    mixamo_bvh.write_clip(rest, mixamo_bvh.skeleton(*CHARACTERS["Kaya"][:2]), 1, 30, 0)  # one frame, as a character's rest file
    source = characters / "BigVegas" / "clip2.bvh"
    out = tmp_path / "o.bvh"
    from handflow.papers.s2h.retarget_bvh import retarget_file

    stats = retarget_file(trained / "s0.pt", "asrn", source, rest, out)
    got = bvh.read_bvh(out)
    assert got.n_frames == bvh.read_bvh(source).n_frames == stats["frames"] and stats["windows"] == -(-got.n_frames // 4)
    assert np.array_equal(got.values[:, :6], np.repeat(bvh.read_bvh(rest).values[:1, :6], got.n_frames, 0))
    bad = tmp_path / "bad.bvh"
    bad.write_text(source.read_text().replace("RightHandIndex1", "RightHandIndexA"))
    cmd = [sys.executable, "-m", "handflow", "--project", str(project), "s2h", "retarget", "--model", str(trained)]
    cmd += ["--source", str(bad), "--target", str(rest)]
    proc = subprocess.run(
        [*cmd, "--out", str(tmp_path / "x.bvh")], cwd=tmp_path, env=PIPELINE_ENV, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 2 and str(bad) in proc.stderr and "RightHandIndex" in proc.stderr and not (tmp_path / "x.bvh").exists()


@pytest.mark.slow
def test_the_pipeline_builds_the_table_on_the_users_characters(smoke_build, characters, tmp_path):
    """`s2h.characters_dir` on test-written Mixamo characters: the Semantics2Hands stages rerun on them (and nothing of
    another paper), and the table names them with their splits."""
    a, _ = smoke_build
    project = tmp_path / "p"
    shutil.copytree(a, project, symlinks=True)
    params = project / "params/s2h.yaml"
    data = yaml.safe_load(params.read_text())
    data["characters_dir"] = str(characters)
    params.write_text(yaml.safe_dump(data))
    dry = run_ok([*SNAKEMAKE, "results/s2h_metrics.json", "-n", "--cores", "1", "--quiet", "rules"], project)
    planned = {m[1] for m in re.finditer(r"^(\w+)\s+(\d+)$", dry.split("Job stats:")[1], re.M)} - {"total"}
    assert planned == {"s2h_tree", "s2h_pack", "s2h_train", "s2h_evaluate", "s2h_report"}, planned
    run_ok([*SNAKEMAKE, "--cores", "2", "results/s2h_metrics.json"], project)
    import json

    metrics = json.loads((project / "results/s2h_metrics.json").read_text())
    text = json.dumps(metrics)
    assert "the user's Mixamo characters" in text and "SportyGranny (test)" in text and "Kaya (val)" in text
    identities = json.loads((project / "data/processed/s2h/mixhand/identities.json").read_text())
    assert {d["name"] for d in identities if d["domain"] == "mixamo"} == set(CHARACTERS)
