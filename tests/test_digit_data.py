"""DIGIT data stages: the image LMDB and the part masks rendered from the MANO fits."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from handflow.datasets.interhand.reader import InterHandSplit
from handflow.hand.model import create_pair
from handflow.papers.digit.images import image_key, pack_split_images
from handflow.papers.digit.segmentation import render_split
from handflow.storage.lmdb_store import PackedFiles


def test_image_store_holds_every_annotated_image_unchanged(smoke_dataset, tmp_path):
    out = tmp_path / "images.lmdb"
    stats = pack_split_images(smoke_dataset, "train", out, batch_mb=1)
    data = InterHandSplit(smoke_dataset, "train")
    store = PackedFiles(out)
    assert stats.count == len(store) == len(data.images) > 0
    for img in data.images:
        assert store.get(image_key("train", img["file_name"])) == (smoke_dataset / "images" / "train" / img["file_name"]).read_bytes()


@pytest.fixture(scope="module")
def masks(smoke_dataset, model_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("segm")
    render_split(smoke_dataset, "train", create_pair(model_dir), out / "segm.lmdb", out / "meta.json", 0.5, 10.0, backend="numpy")
    return PackedFiles(out / "segm.lmdb"), json.loads((out / "meta.json").read_text())


def test_masks_cover_the_annotated_joints(smoke_dataset, masks):
    store, meta = masks
    hits = total = 0
    for rec in InterHandSplit(smoke_dataset, "train"):
        key = image_key("train", rec.file_name)
        mask = cv2.imdecode(np.frombuffer(store.get(key), np.uint8), cv2.IMREAD_UNCHANGED)
        assert mask.shape == (round(rec.height * 0.5), round(rec.width * 0.5)) and mask.max() <= 32
        if rec.hand_type == "right":
            assert mask.max() <= 16  # only the right hand's classes
        for off, side in ((0, "right"), (21, "left")):
            if rec.step.mano.get(side) is None:
                continue
            uv = rec.joints_img[off : off + 21]
            # the wrist and the finger roots sit inside the hand's silhouette
            for j in (20, 3, 7, 11, 15, 19):
                if not rec.joint_valid[off + j]:
                    continue
                u, v = ((uv[j] + 0.5) * 0.5 - 0.5).round().astype(int)
                if 0 <= v < mask.shape[0] and 0 <= u < mask.shape[1]:
                    total += 1
                    hits += bool(mask[v, u] > 0)  # a joint hidden behind the other hand is still covered
        assert set(meta["images"][key]) == {"right_fit_err_mm", "left_fit_err_mm", "imsize", "segm_valid"}
    assert total > 20 and hits / total > 0.9


def test_missing_fits_are_flagged(masks, smoke_dataset):
    _, meta = masks
    for rec in InterHandSplit(smoke_dataset, "train"):
        entry = meta["images"][image_key("train", rec.file_name)]
        needed = {"interacting": ("right", "left"), "right": ("right",), "left": ("left",)}.get(rec.hand_type or "", ())
        has_fits = all(rec.step.mano.get(s) is not None for s in needed)
        assert entry["segm_valid"] == (bool(needed) and has_fits)  # embedded fits are exact, far under 10 mm
