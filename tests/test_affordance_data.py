"""The embedded HOI4D tree and the HO3Pairs built from it: HOI4D's layout, grasps in contact without interpenetration,
pose pickles that reproduce their 2D joints, inpainting that beats the trivial fills, and bad inputs as one line."""

from __future__ import annotations

import json
import shutil

import h5py
import numpy as np
import pytest
import torch

from handflow.errors import InputError
from handflow.hand.model import create
from handflow.papers.affordance import hoi4d
from handflow.papers.affordance.ho3pair import read_palette_mask
from handflow.papers.affordance.pair_data import read_pairs_file
from handflow.papers.affordance.pairs import InpaintConfig, build_pairs, decode_video

INPAINT = InpaintConfig(None, 5, 7, 0.05)


def _videos(root):
    return sorted({r.vid for split in ("train", "test") for r in hoi4d.read_split(root / "Sets" / f"{split}_frames.csv", root)})


def test_tree_is_read_by_the_hoi4d_readers(hoi4d_tree):
    vids = _videos(hoi4d_tree)
    assert len(vids) == 8 and all(v.startswith("ZY2021080000") and "/C" in v for v in vids)
    for vid in vids:
        frames = decode_video(hoi4d.video_path(hoi4d_tree, vid))
        assert len(frames) == 6 and frames[0].shape == (96, 128, 3)
        labels = read_palette_mask(hoi4d.mask_path(hoi4d_tree, vid, 5))
        assert set(np.unique(labels)) <= {0, 1, 2} and (labels == 1).any()
        pose = hoi4d.read_hand_pose(hoi4d.hand_pose_path(hoi4d_tree, vid, 5))
        assert pose.kps2d.shape == (21, 2)
    rows = hoi4d.read_split(hoi4d_tree / "Sets" / "train.csv", hoi4d_tree)
    assert rows and {r.prompt for r in rows} == {"mug", "knife"}


def test_every_frame_is_free_of_interpenetration_and_each_video_ends_in_contact(hoi4d_tree):
    for vid in _videos(hoi4d_tree):
        truth = json.loads((hoi4d_tree / "handflow_truth" / vid / "truth.json").read_text())["frames"]
        clearances = [t["clearance_mm"] for t in truth]
        assert min(clearances) >= 0.0, (vid, clearances)  # no vertex of hand or forearm inside the object
        assert truth[-1]["contact"] and clearances[-1] < 5.0, (vid, clearances)
        assert not truth[0]["contact"] and clearances[0] > 50.0, (vid, clearances)  # it approached from afar


def test_pose_pickles_reproduce_their_2d_joints(hoi4d_tree, model_dir):
    """The pickle's camera-frame MANO parameters, posed and projected, land on its kps2D (the generator's convention)."""
    hand = create(model_dir, "right")
    mean = hand.layer.hand_mean.detach().double().numpy()
    vid = _videos(hoi4d_tree)[0]
    cams = json.loads((hoi4d_tree / "handflow_truth" / vid / "truth.json").read_text())
    assert cams["frames"]
    pose = hoi4d.read_hand_pose(hoi4d.hand_pose_path(hoi4d_tree, vid, 3))
    with torch.no_grad():
        out = hand(*(torch.as_tensor(v[None], dtype=torch.float32) for v in (pose.pose[:3], pose.pose[3:] - mean, pose.beta, pose.trans)))
    joints = out.joints_openpose()[0].double().numpy() * 1000.0  # camera mm
    w, h = 128, 96
    uv = joints[:, :2] / joints[:, 2:] * (1.05 * w) + np.array([w / 2, h / 2])
    assert np.abs(uv - pose.kps2d).max() < 0.5


def test_pairs_hold_crops_boxes_and_inpainting_better_than_trivial_fills(hoi4d_pairs):
    data = read_pairs_file(hoi4d_pairs["train"])
    n = len(data["hoi"])
    assert n > 4 and data["hoi"].shape == (n, 64, 64, 3) and data["keep"].shape == (n, 64, 64)
    assert (data["keep"] == 0).any(axis=(1, 2)).all()  # every pair is a contact frame: its hand is in the crop
    boxes = data["hand_box"]
    assert ((boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])).all()
    with h5py.File(hoi4d_pairs["train"]) as h5:
        stats = json.loads(h5.attrs["stats"])
    assert stats["hole_mae_inpainted"] < stats["hole_mae_mean_colour"] < stats["hole_mae_unfilled"], stats
    # the object's visible pixels: inside the crop, never under the hand (the keep-mask's 0), touching it somewhere
    mask = data["obj_mask"] > 0
    assert mask.any(axis=(1, 2)).all() and not (mask & (data["keep"] == 0)).any()


def test_undecodable_video_is_one_line_and_writes_nothing(hoi4d_tree, tmp_path):
    root = tmp_path / "HOI4D"
    shutil.copytree(hoi4d_tree, root)
    vid = hoi4d.read_split(root / "Sets" / "test.csv", root)[0].vid
    hoi4d.video_path(root, vid).write_bytes(b"\x00\x00\x00\x18ftypmp42 this is not a video" * 10)
    out = tmp_path / "pairs.h5"
    with pytest.raises(InputError) as err:
        build_pairs(root, root / "Sets" / "test.csv", out, 64, INPAINT, 0, {})
    assert "image.mp4" in str(err.value) and "\n" not in str(err.value)
    assert not out.exists()


def test_row_past_the_video_and_missing_pose_key_are_one_line(hoi4d_tree, tmp_path):
    import pickle

    root = tmp_path / "HOI4D"
    shutil.copytree(hoi4d_tree, root)
    row = hoi4d.read_split(root / "Sets" / "test.csv", root)[0]
    csv = root / "Sets" / "late.csv"
    csv.write_text(f"vid_index,frame_number,obj\n{row.vid},99,Mug\n")
    with pytest.raises(InputError, match="frame_number: 99 is past the video's 6 frames"):
        build_pairs(root, csv, tmp_path / "a.h5", 64, INPAINT, 0, {})
    path = hoi4d.hand_pose_path(root, row.vid, row.frame)
    data = pickle.loads(path.read_bytes())
    del data["kps2D"]
    path.write_bytes(pickle.dumps(data))
    with pytest.raises(InputError, match="kps2D: missing"):
        build_pairs(root, root / "Sets" / "test.csv", tmp_path / "b.h5", 64, INPAINT, 0, {})
    assert not (tmp_path / "a.h5").exists() and not (tmp_path / "b.h5").exists()


def test_a_local_diffusers_inpainting_pipeline_fills_the_hole_and_the_pairs_say_so(hoi4d_tree, tiny_inpaint_pipeline, tmp_path):
    """`pairs.inpaint.model` as a user's local diffusers pipeline: the hand's hole is filled by it and nothing outside the
    hole changes; the file names the pipeline as the inpainter and the SDEdit copy as what made it (never the pipeline)."""
    from handflow.papers.affordance.ho3pair import dilated_hole

    lines = (hoi4d_tree / "Sets" / "test.csv").read_text().splitlines()
    csv = tmp_path / "two.csv"
    csv.write_text("\n".join(lines[:3]) + "\n")  # the header and two rows: the tiny pipeline runs 50 steps a crop
    out = tmp_path / "pairs.h5"
    build_pairs(hoi4d_tree, csv, out, 64, InpaintConfig(str(tiny_inpaint_pipeline), 5, 7, 0.05), 0, {})
    with h5py.File(out, "r") as h5:
        hoi, obj, keep = h5["hoi"][()], h5["obj"][()], h5["keep"][()]
        assert h5.attrs["inpainting"] == str(tiny_inpaint_pipeline)
        assert h5.attrs["sdedit"] == "forward noise to t=0.05 + OpenCV non-local means (no image model)"
    hole = np.stack([dilated_hole(k, 7) == 0 for k in keep])
    assert hole.any() and np.array_equal(obj[~hole], hoi[~hole]) and not np.array_equal(obj[hole], hoi[hole])
    with pytest.raises(InputError, match="not a diffusers pipeline directory"):
        build_pairs(hoi4d_tree, csv, tmp_path / "x.h5", 64, InpaintConfig(str(tmp_path), 5, 7, 0.05), 0, {})
    assert not (tmp_path / "x.h5").exists()
