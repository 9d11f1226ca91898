"""DIGIT data stages: the image LMDB and the part masks rendered from the MANO fits."""

from __future__ import annotations

import json
import shutil

import cv2
import numpy as np
import pytest

from handflow.datasets.interhand.reader import InterHandSplit
from handflow.errors import InputError
from handflow.hand.model import create_pair
from handflow.papers.digit.annotations import write_annotations
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


def test_annotations_match_the_images_and_the_projection(smoke_dataset, tmp_path):
    import h5py

    write_annotations(smoke_dataset, "train", tmp_path / "ann.h5", {"data_source": "embedded"})
    data = InterHandSplit(smoke_dataset, "train")
    with h5py.File(tmp_path / "ann.h5") as h5:
        keys = [k.decode() for k in h5["key"][...]]
        assert keys == [image_key("train", img["file_name"]) for img in data.images]
        cam, img = h5["joints_cam"][...], h5["joints_img"][...]
        focal, princpt = h5["focal"][...], h5["princpt"][...]
        np.testing.assert_allclose(img[..., :2], cam[..., :2] / cam[..., 2:] * focal[:, None] + princpt[:, None], rtol=1e-4, atol=1e-2)
        valid = h5["joint_valid"][...]
        for off, wrist in ((0, 20), (21, 41)):
            assert not valid[~valid[:, wrist], off : off + 21].any()  # no joint of a hand without its wrist
        box, crop = h5["bbox"][...], h5["crop_box"][...]
        assert np.allclose(crop[:, 2], crop[:, 3]) and (crop[:, 2] >= 1.25 * box[:, 2:].max(1) - 1e-3).all()
        assert np.isnan(h5["root_depth"][...][~valid[:, [20, 41]]]).all()


def test_wrong_joint_count_names_the_file_and_field(smoke_dataset, tmp_path):
    root = tmp_path / "ih"
    shutil.copytree(smoke_dataset / "annotations", root / "annotations")
    path = root / "annotations" / "train" / "InterHand2.6M_train_data.json"
    data = json.loads(path.read_text())
    data["annotations"][0]["joint_valid"] = data["annotations"][0]["joint_valid"][:41]
    path.write_text(json.dumps(data))
    with pytest.raises(InputError, match=r"InterHand2.6M_train_data.json: annotations\[0\].joint_valid"):
        write_annotations(root, "train", tmp_path / "ann.h5", {})
    assert not (tmp_path / "ann.h5").exists()


def _joint_labels(sample) -> list[tuple[int, int]]:
    """(hand block, mask label) at each valid wrist and finger root, read from the mask (half the input size)."""
    out = []
    joints, valid, mask = sample["joints"].numpy(), sample["joint_valid"].numpy(), sample["mask"].numpy()
    side = len(mask)
    for j in (20, 3, 7, 11, 15, 19, 41, 24, 28, 32, 36, 40):
        if valid[j]:
            u, v = (joints[j, :2] * side / 64).astype(int)  # heatmap units (64 per crop) -> mask pixels
            out.append((0 if j < 21 else 1, int(mask[min(v, side - 1), min(u, side - 1)])))
    return out


@pytest.mark.parametrize("flip,size", [(False, 256), (True, 256), (False, 128)])
def test_samples_keep_joints_on_their_own_hands_mask(digit_stores, flip, size):
    from handflow.papers.digit.dataset import Augment, DigitSamples

    augment = Augment(shift=0.0, scale=0.0, rotation_p=0.0, flip_p=1.0, colour=0.0) if flip else None
    data = DigitSamples(*digit_stores, augment=augment, input_size=size)
    own = total = 0
    for i in range(len(data)):
        s = data[i]
        assert s["image"].shape == (3, size, size) and s["mask"].shape == (size // 2, size // 2)
        if not s["segm_valid"]:
            continue
        for block, label in _joint_labels(s):
            total += label > 0
            own += (1 <= label <= 16) if block == 0 else (17 <= label <= 32)
    assert total > 20 and own / total > 0.85  # a joint hidden by the other hand may show that hand's label


def test_samples_are_reproducible_per_epoch_and_index(digit_stores):
    from handflow.papers.digit.dataset import Augment, DigitSamples

    a, b = DigitSamples(*digit_stores, augment=Augment(), seed=3), DigitSamples(*digit_stores, augment=Augment(), seed=3)
    assert all(torch_equal(a[i], b[i]) for i in range(3))
    b.set_epoch(1)
    assert not all(torch_equal(a[i], b[i]) for i in range(3))


def torch_equal(x: dict, y: dict) -> bool:
    return all((x[k] == y[k]).all() for k in x)


def test_threads_decode_the_same_batches_and_train_the_same_bytes(digit_stores, tmp_path):
    """The loader's threads read the next batch from a copy of the generator: what a step sees never depends on them."""
    import torch

    from handflow.papers.digit.dataset import Augment, DigitSamples, SplitStores
    from handflow.papers.digit.loader import BatchLoader
    from handflow.papers.digit.networks import DigitConfig
    from handflow.papers.digit.train import DigitTrainer, TrainConfig
    from handflow.training import fit

    data = DigitSamples(*digit_stores, augment=Augment(), seed=1)
    steps = 2 * len(data) // 4 + 1  # past the first pass over the data: the epoch changes under the threads
    loaders = [BatchLoader(data, 4, steps, threads, torch.device("cpu")) for threads in (0, 3)]
    generators = [torch.Generator().manual_seed(5) for _ in loaders]
    for step in range(steps):
        inline, threaded = (loader.batch_at(step, g) for loader, g in zip(loaders, generators, strict=True))
        assert torch_equal(inline, threaded), step
    assert torch.equal(generators[0].get_state(), generators[1].get_state())

    network = DigitConfig(width=4, modules=(1, 1, 1), blocks=1, seg_fusion_channels=8, unet_channels=(8, 8, 8, 8), head_channels=8)
    train = TrainConfig(lr=1e-3, lr_decay_step=4, batch_size=2, steps=3, checkpoint_every=2, log_every=1)
    files = []
    for threads in (0, 2):
        trainer = DigitTrainer("seg", SplitStores(*digit_stores), network, train, 0, loader_threads=threads)
        fit(trainer, tmp_path / f"ck{threads}", tmp_path / f"m{threads}.pt", tmp_path / f"m{threads}.tsv")
        files.append(torch.load(tmp_path / f"m{threads}.pt", weights_only=False))
    assert files[0]["fingerprint"] == files[1]["fingerprint"]  # the thread count is not the run's identity
    assert all(torch.equal(files[0]["state_dict"][k], files[1]["state_dict"][k]) for k in files[0]["state_dict"])


def test_model_shapes_loss_and_ablation(digit_stores):
    import torch

    from handflow.papers.digit.dataset import DigitSamples
    from handflow.papers.digit.losses import digit_loss
    from handflow.papers.digit.networks import Digit, DigitConfig

    batch = torch.utils.data.default_collate([DigitSamples(*digit_stores, augment=None)[i] for i in range(2)])
    small = {"width": 8, "modules": (1, 1, 1), "blocks": 1, "seg_fusion_channels": 16, "unet_channels": (8, 8, 16, 16), "head_channels": 16}
    for use_segmentation in (True, False):
        torch.manual_seed(0)
        model = Digit(DigitConfig(**small, use_segmentation=use_segmentation))
        out = model(batch["image"])
        assert out["joints"].shape == (2, 42, 3) and out["hand_logits"].shape == (2, 2) and out["rel_root_depth"].shape == (2,)
        assert ("segm_logits" in out) == use_segmentation
        if use_segmentation:
            assert out["segm_logits"].shape == (2, 33, 128, 128)
        loss, parts = digit_loss(out, batch)
        loss.backward()
        assert ("segm" in parts) == use_segmentation and all(np.isfinite(v) for v in parts.values())


def test_targets_and_predictions_are_in_the_same_units_at_any_input_size(digit_stores):
    """A smaller crop changes pixels, not units: targets agree across sizes, and a model's joints span 0..64 at both."""
    import torch

    from handflow.papers.digit.dataset import DigitSamples
    from handflow.papers.digit.networks import Digit, DigitConfig

    big, small = DigitSamples(*digit_stores, augment=None), DigitSamples(*digit_stores, augment=None, input_size=128)
    # up to half a pixel apart (0.25 units at 128 px): the crop map puts pixel centres at integers, at each size's own grid
    np.testing.assert_allclose(big[0]["joints"].numpy(), small[0]["joints"].numpy(), atol=0.26)
    cfg = {"width": 4, "modules": (1, 1, 1), "blocks": 1, "seg_fusion_channels": 4, "unet_channels": (4, 4, 4, 4), "head_channels": 4}
    for size in (256, 128):
        model = Digit(DigitConfig(input_size=size, **cfg)).eval()
        with torch.no_grad():
            model.heatmap.weight.zero_()
            model.heatmap.bias.zero_()  # flat heatmaps: the expected position is the crop's centre
            xy = model(torch.zeros(1, 3, size, size))["joints"][0, :, :2]
        torch.testing.assert_close(xy, torch.full_like(xy, 32.0))


def test_soft_argmax_finds_a_peak():
    import torch

    from handflow.papers.digit.networks import soft_argmax_2d

    hm = torch.full((1, 1, 64, 64), -1e4)
    hm[0, 0, 10, 40] = 0.0  # row 10, column 40
    _, xy = soft_argmax_2d(hm)
    torch.testing.assert_close(xy[0, 0], torch.tensor([40.5, 10.5]))


def test_training_starts_from_pretrained_backbone_weights(digit_stores, tmp_path):
    import torch

    from handflow.papers.digit.dataset import SplitStores
    from handflow.papers.digit.networks import DigitConfig, HRNetBackbone, load_network
    from handflow.papers.digit.train import DigitTrainer, TrainConfig
    from handflow.training import fit

    network = DigitConfig(width=4, modules=(1, 1, 1), blocks=1, seg_fusion_channels=8, unet_channels=(8, 8, 8, 8), head_channels=8)
    train = TrainConfig(lr=1e-4, lr_decay_step=4, batch_size=2, steps=2, checkpoint_every=2, log_every=1)
    backbone = HRNetBackbone(network)
    with torch.no_grad():
        backbone.conv1.weight.fill_(0.5)  # a value no initialisation produces
    torch.save({"state_dict": backbone.state_dict(), "classifier.weight": torch.zeros(3)}, tmp_path / "imagenet.pth")
    trainer = DigitTrainer("seg", SplitStores(*digit_stores), network, train, 0, pretrained=tmp_path / "imagenet.pth")
    metrics = fit(trainer, tmp_path / "ck", tmp_path / "m.pt", tmp_path / "m.tsv")
    assert metrics["pretrained_tensors"] == len(backbone.state_dict())
    start = load_network(tmp_path / "m.pt", "seg")[0].backbone.conv1.weight  # two small Adam steps away from the loaded weights
    assert (start - 0.5).abs().max() < 0.01


def test_a_model_of_another_architecture_is_one_clear_error(tmp_path):
    import torch

    from handflow.errors import InputError
    from handflow.papers.digit.networks import load_network

    cfg = {
        "width": 4,
        "modules": [1, 1, 1],
        "blocks": 1,
        "seg_fusion_channels": 8,
        "unet_channels": [8, 8, 8, 8],
        "head_channels": 8,
        "use_segmentation": True,
    }
    torch.save({"kind": "seg", "config": cfg, "state_dict": {"backbone.stem.0.0.weight": torch.zeros(1)}}, tmp_path / "old.pt")
    with pytest.raises(InputError, match=r"old\.pt.*state_dict.*does not match"):
        load_network(tmp_path / "old.pt", "seg")


def _oracle(data, rel_offset: float = 0.0):
    """A model that outputs the targets of the image it is given (its relative root depth shifted by `rel_offset` heatmap units)."""
    import torch

    class Oracle(torch.nn.Module):
        def forward(self, image):
            rows = [next(i for i in range(len(data)) if torch.equal(data[i]["image"], im)) for im in image]
            s = torch.utils.data.default_collate([data[i] for i in rows])
            hand = s["hand_type"] * 20 - 10
            return {
                "joints": s["joints"],
                "rel_root_depth": s["rel_root_depth"] + rel_offset,
                "hand_logits": hand,
                "segm_logits": torch.nn.functional.one_hot(s["mask"], 33).permute(0, 3, 1, 2).float(),
            }

    return Oracle()


def test_evaluation_of_ground_truth_heatmaps_is_near_zero(digit_stores):
    """A model that outputs the targets exactly scores ~0 mm: the back-projection inverts the target construction."""
    from handflow.papers.digit.dataset import DigitSamples
    from handflow.papers.digit.evaluate import evaluate

    data = DigitSamples(*digit_stores, augment=None)
    scores = {k: v["mean"] for k, v in evaluate(_oracle(data), data, digit_stores[0], n_boot=5)["metrics"].items()}
    assert scores["mpjpe_all"] < 0.5 and scores["handedness_accuracy"] == 1.0 and scores["segm_miou"] == 1.0
    assert scores["mrrpe"] is not None and scores["mrrpe"] < 0.5  # measured on interacting frames: None would hide a broken MRRPE


def test_mrrpe_places_the_left_root_at_the_right_roots_depth_plus_the_predicted_relative_depth(digit_stores):
    """The seed's MRRPE: a relative-depth error of d mm moves the back-projected left root by d * |(u-cx)/fx, (v-cy)/fy, 1|."""
    from handflow.papers.digit.annotations import read_annotations
    from handflow.papers.digit.dataset import BBOX_3D_MM, HEATMAP, DigitSamples
    from handflow.papers.digit.evaluate import ANNOTATION_KEYS, evaluate

    data = DigitSamples(*digit_stores, augment=None)
    offset = 2.0  # heatmap units of relative root depth
    scores = evaluate(_oracle(data, offset), data, digit_stores[0], n_boot=5)["metrics"]
    ann = read_annotations(digit_stores[0], ANNOTATION_KEYS)
    both = (ann["hand_type"] == 2) & ann["joint_valid"][:, 20] & ann["joint_valid"][:, 41]
    uv = ann["joints_cam"][:, 41, :2] / ann["joints_cam"][:, 41, 2:]  # the left root's ray (x/z, y/z) = ((u-cx)/fx, (v-cy)/fy)
    d_mm = offset / HEATMAP * 2 * (BBOX_3D_MM / 2)
    expected = float((d_mm * np.sqrt(1 + (uv[both] ** 2).sum(1))).mean())
    assert both.sum() >= 2 and scores["mrrpe"]["mean"] == pytest.approx(expected, rel=1e-3, abs=0.05)


def test_bone_loss_is_the_seeds_sum_of_the_two_hands_means():
    import torch

    from handflow.papers.digit.losses import digit_loss

    b = 2
    no = torch.zeros(b, dtype=torch.bool)
    batch = {
        "joints": torch.zeros(b, 42, 3),
        "joint_valid": torch.ones(b, 42, dtype=torch.bool),
        "rel_root_depth": torch.zeros(b),
        "rel_root_valid": no,
        "hand_type": torch.zeros(b, 2),
        "hand_type_valid": no,
    }
    out = {"joints": torch.zeros(b, 42, 3), "rel_root_depth": torch.zeros(b), "hand_logits": torch.zeros(b, 2)}
    out["joints"][:, 0, 0] = 1.0  # the right thumb tip (a leaf): one bone of the right hand is off by 1 in x
    _, parts = digit_loss(out, batch)
    # seed: 0.1 x (mean over B x 20 right bones x 3 + mean over the left's), the left's is 0
    assert parts["bone"] == pytest.approx(0.1 * (1.0 / (20 * 3)))
