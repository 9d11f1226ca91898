"""Diffusion-HPC's parts: the body and its renders, prompts, the seed's depth transform and correction loop, the pose
augmentation, the metrics, and the files between stages (bad inputs are one line, nothing half-written)."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import torch

from handflow.errors import ComputationError, InputError
from handflow.papers.dhpc.dataset import IMAGE_SPLITS, read_split
from handflow.papers.dhpc.evaluate import crop_side, mpjpe, pck
from handflow.papers.dhpc.generate import Bodies, CorrectConfig, augment, correct
from handflow.papers.dhpc.generators import SampleConfig, regenerate
from handflow.papers.dhpc.networks import PosePrior, PriorConfig, TextToImage, TextToImageConfig
from handflow.papers.dhpc.poses import ACTIONS, recipe
from handflow.papers.dhpc.render import depth_map
from handflow.papers.dhpc.skeleton import BODY_DIM, KEYPOINTS, N_POSED, PART_BOTTOM, PART_SHOES, PART_SKIN, PART_TOP, POSED
from handflow.papers.dhpc.text import PAD, tokenize, vocabulary


def _keypoints(body, pose: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return body(torch.as_tensor(pose[None]), torch.full((1, 6), 0.5)).keypoints[0].numpy()


def test_recipes_move_the_joints_they_name(dhpc_body):
    """anny's local-ref axes are the world's at rest (x left, y back, z up): a knee flex takes the ankle back, a handstand
    puts the head under the ankles."""
    stand = _keypoints(dhpc_body, recipe("standing"))
    ankle, head = KEYPOINTS.index("ankle.L"), KEYPOINTS.index("head")
    assert stand[head, 2] > stand[ankle, 2] + 1.2  # metres, z up
    flexed = recipe("standing")
    flexed[POSED.index("lowerleg01.L")] = np.deg2rad([90.0, 0.0, 0.0])
    assert _keypoints(dhpc_body, flexed)[ankle, 1] > stand[ankle, 1] + 0.3  # +y is the body's back
    hand = _keypoints(dhpc_body, recipe("doing a handstand"))
    assert hand[head, 2] < hand[ankle, 2] - 1.0
    assert set(dhpc_body.vertex_part) == {PART_SKIN, PART_TOP, PART_BOTTOM, PART_SHOES}


def test_renders_hold_every_field_consistently(dhpc_renders):
    for name in IMAGE_SPLITS:
        split = read_split(dhpc_renders, name)
        assert split.image.shape[1:] == (16, 16, 3) and split.mask.any((1, 2)).all()  # a person in every image
        assert (split.depth[split.mask] > 0).all() and (split.depth[~split.mask] == 0).all()
        visible = split.kp2d[..., 2] > 0
        assert visible.mean() > 0.8 and ((split.kp2d[..., :2][visible] >= 0) & (split.kp2d[..., :2][visible] < 16)).all()
        assert all(ACTIONS[list(ACTIONS)[a]].phrase in c for a, c in zip(split.action, split.caption, strict=True))
    real = read_split(dhpc_renders, "real_test")
    assert all(ACTIONS[list(ACTIONS)[a]].hard for a in real.action)  # the target domain: athletic poses only


@pytest.mark.parametrize(
    ("field", "how", "message"),
    [("kp2d", "shape", "shape"), ("depth", "nan", "NaN"), ("caption", "drop", "missing"), ("action", "range", "action index")],
)
def test_a_damaged_renders_file_is_one_line_naming_the_field(dhpc_renders, tmp_path, field, how, message):
    path = tmp_path / "renders.h5"
    path.write_bytes(dhpc_renders.read_bytes())
    with h5py.File(path, "a") as f:
        data = f["web"][field][()]
        del f["web"][field]
        if how == "shape":
            f["web"].create_dataset(field, data=data[:, :13])
        elif how == "nan":
            data[0, 0, 0] = np.nan
            f["web"].create_dataset(field, data=data)
        elif how == "range":
            f["web"].create_dataset(field, data=data + 100)
    with pytest.raises(InputError) as err:
        read_split(path, "web")
    text = str(err.value)
    assert "\n" not in text and str(path) in text and f"web/{field}" in text and message in text


def test_prompts_empty_overlong_or_unknown_are_refused_in_one_line():
    ok = tokenize(["a photo of an athlete doing a handstand"], 12, "params/dhpc.yaml")
    assert ok.shape == (1, 12) and (ok[0, 8:] == PAD).all() and (ok[0, :8] != PAD).all()
    for prompt, why in (
        ("", "empty"),
        ("   ", "empty"),
        ("a photo of " * 5, "at most 12"),
        ("a photo of a cat", "vocabulary"),
        ("a photo, of", "other than words"),
    ):
        with pytest.raises(InputError) as err:
            tokenize(["a photo of an athlete running", prompt], 12, "params/dhpc.yaml")
        assert str(err.value).startswith("params/dhpc.yaml: prompt 1") and why in str(err.value) and "\n" not in str(err.value)
    assert len(set(vocabulary())) == len(vocabulary())


def test_depth_conditioning_is_the_seeds_transform():
    """D' = (max + 50 - D) on the foreground, min-max to [-1, 1]: the nearest point 1, the background -1, nearer is larger."""
    depth = np.zeros((4, 4), np.float32)
    depth[1, 1], depth[1, 2], depth[2, 2] = 3000.0, 3100.0, 3200.0
    d = depth_map(depth)
    assert d[1, 1] == 1.0 and d[0, 0] == -1.0 and d[1, 1] > d[1, 2] > d[2, 2] > -1.0
    # the farthest foreground point keeps the +50 mm offset: (50) / (250) of the range above the background
    assert d[2, 2] == pytest.approx(-1.0 + 2.0 * 50.0 / 250.0)
    assert (depth_map(np.zeros((3, 3))) == -1.0).all()


class _OracleNet(torch.nn.Module):
    """A stand-in denoiser that knows the clean image: eps = (x_t - sqrt(abar) x0) / sqrt(1 - abar). Records its inputs."""

    def __init__(self, target: torch.Tensor) -> None:
        super().__init__()
        self.cfg = TextToImageConfig(target.shape[-1], (8, 16), 16, 12, depth_channel=True)
        self.w = torch.nn.Parameter(torch.zeros(()))
        self.abar, self.target, self.inputs = self.cfg.schedule.training().alphas_cumprod, target, []

    def forward(self, x, t, tokens, depth=None):
        self.inputs.append(x.clone())
        a = self.abar[t].reshape(-1, 1, 1, 1)
        return (x - a.sqrt() * torch.cat([self.target] * (len(x) // len(self.target)))) / (1 - a).sqrt() + self.w


def test_regeneration_runs_strength_of_the_steps_from_fresh_noise_in_the_region():
    """The seed's strength 0.7 of 50 steps runs 35 denoiser calls; an exact denoiser brings the image back (the schedule's
    indices agree); the start inside the person region is fresh noise: the image there does not enter it."""
    images = torch.rand(2, 3, 8, 8) * 1.6 - 0.8
    region = torch.zeros(2, 8, 8, dtype=torch.bool)
    region[:, 2:5, 2:5] = True
    other = images.clone()
    other[:, :, 2:5, 2:5] = -other[:, :, 2:5, 2:5]  # differs only inside the region
    starts = []
    for x in (images, other):
        net = _OracleNet(images)
        out = regenerate(
            net,
            x,
            region,
            torch.zeros(2, 1, 8, 8),
            torch.ones(2, 12, dtype=torch.long),
            0.7,
            True,
            SampleConfig(50, 7.5, 8),
            torch.Generator().manual_seed(0),
        )
        assert len(net.inputs) == 35
        assert torch.allclose(out, images, atol=1e-3)
        starts.append(net.inputs[0])
    assert torch.equal(starts[0], starts[1])


class _BrightIsPerson(torch.nn.Module):
    """A stand-in mask network: a pixel brighter than 0.5 is a person."""

    def __init__(self) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(()))

    def forward(self, images):
        return (images.mean(1, keepdim=True) - 0.5) * 100.0 + self.w


def _tiny_nets(size: int) -> dict:
    from handflow.papers.dhpc.networks import ConvConfig, HMRNet

    torch.manual_seed(0)
    return {
        "mask": _BrightIsPerson(),
        "hmr": HMRNet(ConvConfig(size, (8, 16), 16)),
        "prior": PosePrior(PriorConfig(4, 16)),
        "depth": TextToImage(TextToImageConfig(size, (8, 16), 16, 12, depth_channel=True)),
    }


def test_correction_drops_images_without_a_person_and_counts_them(dhpc_body):
    """The seed returns -1 for an image without a person; here it is dropped, counted, and the rest corrected."""
    size = 16
    images = -torch.ones(4, 3, size, size)
    images[[0, 2], :, 4:12, 6:10] = 0.9  # a bright figure in images 0 and 2 only
    tokens = ["a photo of an athlete running"] * 4
    cfg = CorrectConfig(0.7, True, 0.05, None)
    out = correct(images, tokens, _tiny_nets(size), cfg, SampleConfig(4, 2.0, 8), torch.Generator().manual_seed(0), "numpy", dhpc_body)
    assert out.kept.tolist() == [0, 2] and out.no_person.tolist() == [1, 3] and len(out.images) == 2
    assert np.isnan(out.scores[[1, 3]]).all() and np.isfinite(out.scores[[0, 2]]).all()
    with pytest.raises(ComputationError) as err:  # no image with a person: one line, no output
        correct(
            images[[1, 3]], tokens[:2], _tiny_nets(size), cfg, SampleConfig(4, 2.0, 8), torch.Generator().manual_seed(0), "numpy", dhpc_body
        )
    assert "none of 2 images has a person" in str(err.value)


def test_the_prior_filter_keeps_only_high_scores(dhpc_body):
    size = 16
    images = torch.full((3, 3, size, size), 0.9)
    tokens = ["a photo of an athlete diving"] * 3
    nets = _tiny_nets(size)
    base = correct(
        images,
        tokens,
        nets,
        CorrectConfig(0.7, True, 0.05, None),
        SampleConfig(2, 2.0, 8),
        torch.Generator().manual_seed(1),
        "numpy",
        dhpc_body,
    )
    threshold = float(np.median(base.scores))
    kept = correct(
        images,
        tokens,
        nets,
        CorrectConfig(0.7, True, 0.05, threshold),
        SampleConfig(2, 2.0, 8),
        torch.Generator().manual_seed(1),
        "numpy",
        dhpc_body,
    )
    assert set(kept.kept) | set(kept.filtered) == {0, 1, 2} and (kept.scores[kept.kept] >= threshold).all()
    assert (kept.scores[kept.filtered] < threshold).all()


def test_pose_augmentation_keeps_sample_zero_and_perturbs_the_rest():
    g = torch.Generator().manual_seed(0)
    prior = PosePrior(PriorConfig(4, 16))
    pose = torch.as_tensor(np.stack([recipe("running"), recipe("diving")])).float()
    bodies = Bodies(pose, torch.full((2, 6), 0.5), torch.tensor([[0.0, 0.0, 3000.0]] * 2))
    many = augment(bodies, prior, 3, g)
    assert many.pose.shape == (6, N_POSED, 3) and BODY_DIM == 3 * (N_POSED - 1)
    assert torch.equal(many.pose[[0, 3]], pose) and torch.equal(many.shape[[0, 3]], bodies.shape)
    for i in (1, 2, 4, 5):
        assert not torch.allclose(many.pose[i], pose[i // 3]) and (many.shape[i] >= 0).all() and (many.shape[i] <= 1).all()
    assert torch.equal(many.trans, bodies.trans.repeat_interleave(3, 0))  # the camera stays (SPIN path)


def test_pck_and_mpjpe_definitions():
    rng = np.random.default_rng(0)
    gt3 = rng.normal(0, 300, (5, 14, 3))
    assert mpjpe(gt3, gt3) == pytest.approx((0.0, 0.0), abs=1e-9)
    rot = torch.as_tensor(rng.normal(size=3))
    import roma

    moved = 1.3 * gt3 @ roma.rotvec_to_rotmat(rot).numpy().T + 50.0
    err, pa = mpjpe(moved, gt3)
    assert err > 10.0 and pa == pytest.approx(0.0, abs=1e-6)  # Procrustes undoes scale, rotation and translation
    # people of two sizes in 64 px frames: boxes 20 px and 40 px wide, so crops of 24 and 48 px (SPIN's 1.2 margin)
    box = np.stack([np.linspace(0, 1, 14), np.linspace(0, 0.5, 14)], -1)
    gt2 = np.concatenate([np.stack([10 + 20 * box, 10 + 40 * box]), np.ones((2, 14, 1))], -1)
    np.testing.assert_allclose(crop_side(gt2), [24.0, 48.0])
    assert pck(gt2[..., :2], gt2) == 100.0
    off = gt2[..., :2] + np.array([3.0, 0.0])  # 3 px: beyond 0.1 x 24 for the small person, within 0.1 x 48
    assert pck(off, gt2) == pytest.approx(50.0)
    gt2[0, :, 2] = 0  # an image with no visible joint counts 0 (the seed's convention)
    assert pck(gt2[..., :2], gt2) == pytest.approx(50.0)
    gt2[1, 1:, 2] = 0  # one visible joint: no box to measure against, counts 0
    assert pck(gt2[..., :2], gt2) == 0.0
    with pytest.raises(ComputationError):
        mpjpe(gt3[:0], gt3[:0])
    broken = gt3.copy()
    broken[2, 5, 1] = np.nan
    with pytest.raises(ComputationError, match=r"NaN or inf in the predicted joints \(image 2\)"):
        mpjpe(broken, gt3)
    with pytest.raises(ComputationError, match="ground-truth joints"):
        mpjpe(gt3, broken)


@pytest.mark.parametrize("ext", ["npz", "pkl"])
def test_an_smpl_file_poses_the_recipes_as_anny_does(tmp_path, ext):
    """The user's SMPL file through the same interface: a recipe means the same pose (axes and the arms' rest converted)."""
    import pickle

    from conftest import smpl_layout_arrays
    from handflow.papers.dhpc.smpl import SmplBody

    path = tmp_path / f"SMPL_NEUTRAL.{ext}"
    if ext == "npz":
        np.savez(path, **smpl_layout_arrays())
    else:
        path.write_bytes(pickle.dumps(smpl_layout_arrays(), protocol=2))
    smpl = SmplBody(path)

    def keypoints(name: str, joint: str | None = None, deg=(0.0, 0.0, 0.0)) -> np.ndarray:
        pose = recipe(name)
        if joint:
            pose[POSED.index(joint)] = np.deg2rad(deg)
        with torch.no_grad():
            return smpl(torch.as_tensor(pose[None]), torch.full((1, 6), 0.5)).keypoints[0].numpy()

    k = {n: KEYPOINTS.index(n) for n in ("head", "ankle.L", "wrist.L", "shoulder.L", "wrist.R", "shoulder.R")}
    stand = keypoints("standing")
    assert stand[k["head"], 2] > stand[k["ankle.L"], 2] + 1.0  # anny's axes out: z up
    assert stand[k["wrist.L"], 2] < stand[k["shoulder.L"], 2] - 0.2 and stand[k["wrist.L"], 0] > 0  # arms down, the left on +x
    up = keypoints("raising both arms")
    assert up[k["wrist.L"], 2] > up[k["shoulder.L"], 2] + 0.2 and up[k["wrist.R"], 2] > up[k["shoulder.R"], 2] + 0.2
    assert keypoints("standing", "lowerleg01.L", (90.0, 0.0, 0.0))[k["ankle.L"], 1] > stand[k["ankle.L"], 1] + 0.3  # knee flex: back
    hand = keypoints("doing a handstand")
    assert hand[k["head"], 2] < hand[k["ankle.L"], 2] - 0.8
    assert set(smpl.vertex_part) == {PART_SKIN, PART_TOP, PART_BOTTOM, PART_SHOES}


@pytest.mark.parametrize(
    ("key", "how", "message"),
    [
        ("weights", lambda a: a[:, :23], "shape"),
        ("posedirs", lambda a: a[:, :, :200], "shape"),
        ("f", lambda a: a + 1000, "outside"),
        ("v_template", lambda a: a * np.nan, "NaN"),
        ("J_regressor", None, "missing"),
        ("kintree_table", lambda a: a[::-1], "parents"),
        ("shapedirs", lambda a: a[..., :3], "shape directions"),
    ],
)
def test_a_body_model_file_with_wrong_shapes_is_one_line_naming_the_key(tmp_path, key, how, message):
    from conftest import smpl_layout_arrays
    from handflow.papers.dhpc.smpl import read_smpl

    arrays = smpl_layout_arrays()
    if how is None:
        del arrays[key]
    else:
        arrays[key] = how(arrays[key])
    path = tmp_path / "SMPL_NEUTRAL.npz"
    np.savez(path, **arrays)
    with pytest.raises(InputError) as err:
        read_smpl(path)
    text = str(err.value)
    assert text.startswith(f"{path}: {key}") and message in text and "\n" not in text
    with pytest.raises(InputError, match="file not found"):
        read_smpl(tmp_path / "missing.pkl")


class _Everywhere(torch.nn.Module):
    """A stand-in mask network that finds a person on every pixel (`sign` 1) or on none (-1)."""

    def __init__(self, sign: float) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.full((), 100.0 * sign))

    def forward(self, images):
        return torch.zeros_like(images[:, :1]) + self.w


@pytest.mark.parametrize("found", [True, False])
def test_generate_writes_the_seeds_api_folder(tmp_path, dhpc_body, found):
    """The seed's api.py: every text-only sample, a correction, body and mesh per kept one, and scores that agree; with
    no person found the text-only images and the scores are still written, nothing corrected."""
    import json

    import trimesh
    from PIL import Image

    from handflow.papers.dhpc.generate import generate

    size, n = 16, 3
    nets = _tiny_nets(size) | {"t2i": TextToImage(TextToImageConfig(size, (8, 16), 16, 12)), "mask": _Everywhere(1 if found else -1)}
    out = tmp_path / "api"
    cfg = CorrectConfig(0.7, True, 0.05, None)
    stats = generate("a photo of an athlete running", n, nets, SampleConfig(2, 2.0, 8), cfg, 0, "numpy", dhpc_body, out, True, {})
    assert sorted(p.name for p in (out / "text_only").iterdir()) == [f"{i:03d}.png" for i in range(n)]
    assert Image.open(out / "text_only" / "000.png").size == (size, size)
    scores = json.loads((out / "scores.json").read_text())
    corrected = [s["index"] for s in scores["images"] if s["corrected"]]
    assert sorted(int(p.stem) for p in (out / "corrected").iterdir()) == corrected
    assert stats["n_corrected"] == len(corrected) == scores["n_corrected"] == (n if found else 0)
    assert all(s["person_found"] == found and (s["prior_score"] is not None) == found for s in scores["images"])
    if found:
        bodies = np.load(out / "bodies.npz")
        assert bodies["index"].tolist() == corrected and bodies["pose"].shape[0] == bodies["trans"].shape[0] == n
        mesh = trimesh.load(out / "meshes" / "000.obj", process=False)
        assert len(mesh.faces) == len(dhpc_body.faces) and np.isfinite(mesh.vertices).all()
    else:
        assert not (out / "bodies.npz").exists() and not (out / "meshes").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["api"]  # nothing half-written beside it


def test_generate_refuses_an_unknown_word_and_writes_nothing(tmp_path, dhpc_body):
    from handflow.papers.dhpc.generate import generate

    nets = _tiny_nets(16) | {"t2i": TextToImage(TextToImageConfig(16, (8, 16), 16, 12))}
    with pytest.raises(InputError, match="vocabulary"):
        generate(
            "a photo of a zorblax",
            2,
            nets,
            SampleConfig(2, 2.0, 8),
            CorrectConfig(0.7, True, 0.05, None),
            0,
            "numpy",
            dhpc_body,
            tmp_path / "o",
            False,
            {},
        )
    assert not any(tmp_path.iterdir())


def test_pose_conditioned_rows_follow_the_seeds_guidance_flags(dhpc_renders, dhpc_body, tmp_path):
    """The pose-conditioned table's generation: every row n_seeds draws of the guide half, conditioned on the guides' own
    bodies (the renders have them); the no-text row guides from the null text (all padding) and the no-real-frame row does
    not read the guide image at all."""
    from handflow.papers.dhpc.dataset import read_split
    from handflow.papers.dhpc.posegen import GROUP, PosegenConfig, generate_posegen
    from handflow.papers.dhpc.samples import read
    from handflow.papers.dhpc.variants import POSEGEN_ROWS

    class Recording(torch.nn.Module):
        def __init__(self, net):
            super().__init__()
            self.net, self.cfg, self.calls = net, net.cfg, []

        def forward(self, x, t, tokens, depth=None):
            self.calls.append((x.clone(), tokens.clone()))
            return self.net(x, t, tokens, depth)

    nets = _tiny_nets(16)
    nets["depth"] = Recording(nets["depth"])
    out = tmp_path / "posegen.h5"
    stats = generate_posegen(dhpc_renders, nets, PosegenConfig(0.7), SampleConfig(4, 2.0, 8), 2, 0, "numpy", dhpc_body, out, {})
    arrays, prompts, attrs = read(out, GROUP, ("seed", "row", "guide", "kp2d"))
    test = read_split(dhpc_renders, "real_test")
    assert stats == {"n_images": 12.0, "n_guides": 2.0} and attrs["bodies"].startswith("the frames' own bodies")
    for r in range(len(POSEGEN_ROWS)):
        for k in range(2):
            pick = (arrays["row"] == r) & (arrays["seed"] == k)
            assert arrays["guide"][pick].tolist() == [0, 1] and np.array_equal(arrays["kp2d"][pick], test.kp2d[:2])
    notext = [p for p, r in zip(prompts, arrays["row"], strict=True) if r == 1]
    assert notext == ["", "", "", ""] and all(p for p, r in zip(prompts, arrays["row"], strict=True) if r != 1)
    calls = nets["depth"].calls  # in order: ours, ours_notext (int(0.7 x 4) = 2 steps per draw), ours_nor (all 4 steps)
    assert len(calls) == 2 * 2 + 2 * 2 + 2 * 4
    assert all((tokens == 0).all() for _, tokens in calls[4:8])  # both halves of classifier-free guidance are the null text
    assert all((tokens[:2] != 0).any() for _, tokens in calls[:4] + calls[8:])
