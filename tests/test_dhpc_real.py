"""Diffusion-HPC on real frames from COCO person-keypoints files the test writes itself (images drawn with OpenCV):
read into the renders' split format, the regressor fine-tuned on them and scored on them (PCK only without 3D joints),
and every malformed field one line."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from handflow.errors import InputError
from handflow.papers.dhpc.coco import COCO_JOINTS, FROM_COCO, RealConfig, build_real, read_coco
from handflow.papers.dhpc.dataset import read_split
from handflow.papers.dhpc.skeleton import KEYPOINTS

# a standing person in COCO's joint order (x, y pixels of a 120 x 160 image), the person's left on the image's right
STANDING = {
    "nose": (60, 22), "left_eye": (63, 19), "right_eye": (57, 19), "left_ear": (66, 21), "right_ear": (54, 21),
    "left_shoulder": (72, 40), "right_shoulder": (48, 40), "left_elbow": (80, 62), "right_elbow": (40, 62),
    "left_wrist": (84, 82), "right_wrist": (36, 82), "left_hip": (68, 88), "right_hip": (52, 88),
    "left_knee": (70, 116), "right_knee": (50, 116), "left_ankle": (71, 144), "right_ankle": (49, 144),
}  # fmt: skip
LIMBS = [("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"), ("right_shoulder", "right_elbow"), ("right_elbow", "right_wrist"),
         ("left_shoulder", "right_shoulder"), ("left_hip", "right_hip"), ("left_shoulder", "left_hip"), ("right_shoulder", "right_hip"),
         ("left_hip", "left_knee"), ("left_knee", "left_ankle"), ("right_hip", "right_knee"), ("right_knee", "right_ankle")]  # fmt: skip


def _person(shift: tuple[float, float], scale: float) -> np.ndarray:
    return np.array([[STANDING[j][0] * scale + shift[0], STANDING[j][1] * scale + shift[1]] for j in COCO_JOINTS])


def write_coco(root, name: str, n_images: int, with_3d: bool, seed: int = 0) -> dict:
    """`root/<name>.json` and `root/images/<name>_<k>.jpg`: one or two people per image, a crowd region, a person with
    three visible joints (skipped)."""
    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True, exist_ok=True)
    doc = {"images": [], "annotations": [], "categories": [{"id": 1, "name": "person", "keypoints": list(COCO_JOINTS)}]}
    for k in range(n_images):
        image = np.full((160, 200, 3), (40, 60, 90), np.uint8)
        file_name = f"{name}_{k}.jpg"
        doc["images"].append({"id": 100 + k, "file_name": file_name, "width": 200, "height": 160})
        for shift, scale in [((rng.uniform(-10, 10), 0), 1.0), ((90, 40), 0.6)][: 1 + k % 2]:
            pts = _person(shift, scale)
            for a, b in LIMBS:
                cv2.line(
                    image,
                    tuple(int(v) for v in pts[COCO_JOINTS.index(a)]),
                    tuple(int(v) for v in pts[COCO_JOINTS.index(b)]),
                    (230, 200, 170),
                    3,
                )
            vis = np.full(17, 2)
            vis[3] = 1  # an occluded-but-labelled ear
            lo, hi = pts.min(0), pts.max(0)
            ann = {"id": len(doc["annotations"]), "image_id": 100 + k, "category_id": 1, "iscrowd": 0,
                   "keypoints": np.concatenate([pts, vis[:, None]], 1).reshape(-1).tolist(),
                   "bbox": [float(lo[0]), float(lo[1]), float(hi[0] - lo[0]), float(hi[1] - lo[1])], "num_keypoints": 17}  # fmt: skip
            if with_3d:
                ann["keypoints_3d"] = np.concatenate([pts * 10.0, np.full((17, 1), 3000.0)], 1).reshape(-1).tolist()
            doc["annotations"].append(ann)
        doc["annotations"].append({"id": 900 + k, "image_id": 100 + k, "iscrowd": 1, "keypoints": [0] * 51, "bbox": [0, 0, 10, 10]})
        few = np.zeros((17, 3))
        few[[5, 6, 7]] = [[10, 10, 2], [20, 10, 2], [12, 20, 2]]
        doc["annotations"].append(
            {"id": 950 + k, "image_id": 100 + k, "iscrowd": 0, "keypoints": few.reshape(-1).tolist(), "bbox": [5, 5, 20, 20]}
        )
        cv2.imwrite(str(root / "images" / file_name), image[..., ::-1])
    (root / f"{name}.json").write_text(json.dumps(doc))
    return doc


@pytest.fixture(scope="module")
def coco(tmp_path_factory):
    root = tmp_path_factory.mktemp("coco")
    train, test = write_coco(root, "train", 4, False, 0), write_coco(root, "test", 3, True, 1)
    return root, train, test


def test_coco_people_become_cropped_frames_with_the_shared_joints(coco):
    root, doc, _ = coco
    arrays, counts = read_coco(root / "train.json", root / "images", 32, 6)
    assert counts == {"n": 6.0, "skipped": 8.0, "has_3d": 0.0}  # 4 + 2 people; a crowd and a three-joint person per image
    assert arrays["image"].shape == (6, 32, 32, 3) and arrays["kp2d"].shape == (6, 14, 3)
    visible = arrays["kp2d"][..., 2]
    assert (visible[:, [KEYPOINTS.index("head"), KEYPOINTS.index("neck")]] == 0).all() and visible.sum(1).min() == 12
    # the first person's crop: the box's centre at the crop's centre, 1.2 x its longer side across 32 px
    ann = doc["annotations"][0]
    pts = np.array(ann["keypoints"]).reshape(17, 3)[:, :2]
    x, y, w, h = ann["bbox"]
    side = 1.2 * max(w, h)
    expect = (pts[FROM_COCO["shoulder.L"]] - [x + w / 2 - side / 2, y + h / 2 - side / 2]) * 32 / side
    assert np.allclose(arrays["kp2d"][0, KEYPOINTS.index("shoulder.L"), :2], expect, atol=1e-4)
    assert arrays["image"][0].max() > 150  # the drawn person is in the crop


def test_the_real_file_reads_as_the_renders_splits_and_fine_tunes_and_scores(coco, tmp_path, dhpc_renders, dhpc_body):
    import torch

    from handflow.papers.dhpc import networks as nets
    from handflow.papers.dhpc import train as tr
    from handflow.papers.dhpc.scoring import score_pose_row
    from handflow.training import TrainSection, fit

    root, _, _ = coco
    out = tmp_path / "real.h5"
    cfg = RealConfig("train.json", "test.json", "images", "running", 6)
    stats = build_real(cfg, root, 16, 0, out, {"data_source": "test"})
    assert stats["real_train_n"] == 6 and stats["real_test_has_3d"] == 1.0
    train, test = read_split(out, "real_train"), read_split(out, "real_test")
    assert not train.has_3d and test.has_3d and all("running" in c for c in train.caption)
    section = TrainSection(lr=1e-3, batch_size=4, steps=2, checkpoint_every=2, log_every=1, grad_clip=1.0)
    conv, loss = nets.ConvConfig(16, (8, 16), 16), tr.HMRLoss(5.0, 1.0, 0.1, 1.0, 0.4)
    torch.manual_seed(0)
    fit(tr.HMRTrainer(dhpc_renders, conv, section, loss, 0, dhpc_body), tmp_path / "ck0", tmp_path / "hmr.pt", tmp_path / "hmr.tsv")
    fine = tr.HMRTrainer(out, conv, section, loss, 0, dhpc_body, tmp_path / "hmr.pt", "real_train")
    fit(fine, tmp_path / "ck1", tmp_path / "ft.pt", tmp_path / "ft.tsv")
    rows = score_pose_row("real_only", dhpc_renders, [tmp_path / "ft.pt"], dhpc_body, real=out)
    assert set(rows[0]) == {"pck", "mpjpe", "pa_mpjpe"} and 0 <= rows[0]["pck"] <= 100
    flat = tmp_path / "flat.h5"  # test frames without 3D joints: PCK only
    build_real(RealConfig("train.json", "train.json", "images", "running", 6), root, 16, 0, flat, {})
    assert set(score_pose_row("mean_pose", dhpc_renders, [], dhpc_body, real=flat)[0]) == {"pck"}


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda d: d["annotations"][0].update(keypoints=[1, 2, 3]), "annotations[0].keypoints"),
        (lambda d: d["annotations"][0].update(bbox=[0, 0, 0, 5]), "annotations[0].bbox"),
        (lambda d: d["annotations"][1].update(image_id=7), "annotations[1].image_id"),
        (lambda d: d["images"][0].update(file_name="../x.jpg"), "images[0].file_name"),
        (lambda d: d.pop("annotations"), "images"),
        (lambda d: d["annotations"][0].update(keypoints_3d=[0.0] * 51), "keypoints_3d"),
    ],
)
def test_a_malformed_coco_file_is_one_line_naming_the_field(coco, tmp_path, edit, field):
    root, doc, _ = coco
    bad = json.loads(json.dumps(doc))
    edit(bad)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    with pytest.raises(InputError) as err:
        read_coco(path, root / "images", 16, 6)
    assert str(err.value).startswith(f"{path}: {field}") and "\n" not in str(err.value)


def test_a_missing_image_is_one_line_naming_it(coco, tmp_path):
    _, doc, _ = coco
    path = tmp_path / "c.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(InputError, match=r"train_0\.jpg: not a readable image"):
        read_coco(path, tmp_path, 16, 6)
