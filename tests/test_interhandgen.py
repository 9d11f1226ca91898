"""InterHandGen: representation, model, schedules, APG, training resume, and bad inputs."""

from __future__ import annotations

import subprocess
import sys

import h5py
import numpy as np
import pytest
import torch

from conftest import world_hands
from handflow.errors import InputError
from handflow.geometry.penetration import inside
from handflow.metrics.contact import intersection
from handflow.papers.interhandgen.apg import PenetrationLoss, seed_penetration_loss
from handflow.papers.interhandgen.dataset import SCHEMA_VERSION, read_pairs
from handflow.papers.interhandgen.diffusion import ScheduleConfig
from handflow.papers.interhandgen.networks import Denoiser, DenoiserConfig, load_network
from handflow.papers.interhandgen.representation import (
    DIM,
    MIDDLE_MCP,
    HandParams,
    Normalizer,
    TwoHandDecoder,
    canonical_pair,
    mirror_hand,
)
from handflow.papers.interhandgen.sample import read_samples, write_samples
from handflow.params import load_params


def _in_anchor_frame(joints: np.ndarray, anchor: HandParams) -> np.ndarray:
    return np.einsum("nji,nkj->nki", anchor.rotmat, joints - anchor.mcp[:, None])


def test_canonical_pair_decodes_to_the_world_pair_in_the_anchor_frame(hands):
    params, joints = world_hands(hands, 6)
    pairs = canonical_pair(params["left"], params["right"])
    np.testing.assert_allclose(pairs[:, 0, 55:], np.tile([1, 0, 0, 0, 1, 0, 0, 0, 0], (6, 1)))
    with torch.no_grad():
        out = TwoHandDecoder(hands)(torch.as_tensor(pairs[:, 0]), torch.as_tensor(pairs[:, 1]))
    np.testing.assert_allclose(out.joints.numpy(), _in_anchor_frame(joints, params["left"]), atol=1e-6)
    np.testing.assert_allclose(out.joints.numpy()[:, 21 + MIDDLE_MCP], 0.0, atol=1e-9)


def test_swapped_pair_is_the_mirrored_scene(hands):
    params, joints = world_hands(hands, 4, seed=1)
    swapped = canonical_pair(
        mirror_hand(params["right"], hands["right"], hands["left"]), mirror_hand(params["left"], hands["left"], hands["right"])
    )
    mirror = np.diag([-1.0, 1.0, 1.0])
    mirrored = joints @ mirror
    mirrored = np.concatenate([mirrored[:, 21:], mirrored[:, :21]], axis=1)  # the mirrored left hand is the new right
    new_anchor = mirror_hand(params["right"], hands["right"], hands["left"])
    with torch.no_grad():
        out = TwoHandDecoder(hands)(torch.as_tensor(swapped[:, 0]), torch.as_tensor(swapped[:, 1]))
    # the open model's left hand is the exact mirror of its right, so this holds to rounding
    np.testing.assert_allclose(out.joints.numpy(), _in_anchor_frame(mirrored, new_anchor), atol=1e-5)


def test_normalizer_divides_by_std_and_round_trips(tmp_path):
    rng = np.random.default_rng(0)
    pairs = rng.normal(0, 1, (50, 2, DIM)) * np.r_[np.full(55, 2.0), np.full(9, 0.05)]
    norm = Normalizer.fit(pairs)
    z = norm.normalize(pairs[:, 1])
    np.testing.assert_allclose(z[:, 55:].std(0), 1.0, atol=1e-9)  # placement stats come from the add hands
    norm.save(tmp_path / "stats.json")
    back = Normalizer.load(tmp_path / "stats.json")
    np.testing.assert_array_equal(back.std, norm.std)
    (tmp_path / "bad.json").write_text('{"mean": [0, 1], "std": [1, 1]}')
    with pytest.raises(InputError, match=r"bad.json: mean: expected 64"):
        Normalizer.load(tmp_path / "bad.json")


def test_attention_is_within_a_sample_not_across_the_batch():
    torch.manual_seed(0)
    model = Denoiser(DenoiserConfig(DIM, 55, width=32, embed_dim=16, n_layers=3, skips=(1,), transformer_layers=1, n_heads=2)).eval()
    x, t, c = torch.randn(5, DIM), torch.tensor([0, 10, 50, 100, 128]), torch.randn(5, 55)
    with torch.no_grad():
        whole = model(x, t, c)
        alone = torch.cat([model(x[i : i + 1], t[i : i + 1], c[i : i + 1]) for i in range(5)])
    torch.testing.assert_close(whole, alone, rtol=1e-5, atol=1e-6)


def test_sampling_schedule_is_the_seeds():
    sched = ScheduleConfig().sampling()
    assert sched.timesteps.tolist() == list(range(123, -1, -3))
    assert abs(float(sched.alphas_cumprod[123]) - 0.547) < 1e-3


def _overlapping_pair(hands, shift: float):
    decoder = TwoHandDecoder(hands)
    x = torch.zeros(2, DIM, dtype=torch.float64)
    x[:, 55], x[:, 59] = 1.0, 1.0  # identity rot6d
    x[1, 61] = shift  # the right hand moved along x from the left's knuckle
    with torch.no_grad():
        v_left, j_left = decoder.hand(decoder.left, x[:1])
    v_right, j_right = decoder.hand(decoder.right, x[1:])
    return decoder, v_left, j_left, v_right, j_right


def test_batched_apg_loss_is_the_seeds_when_nothing_is_filtered(hands):
    for shift in (0.0, 0.02, 0.04):
        _, v_left, j_left, v_right, j_right = _overlapping_pair(hands, shift)
        ours = PenetrationLoss(hands["left"], hands["right"], rho=0.05, weight=1000.0, margin=1e3)(v_left, j_left, v_right, j_right)
        seed = seed_penetration_loss(v_left, v_right, hands["left"].faces, hands["right"].faces, 0.05, 1000.0)
        torch.testing.assert_close(ours.sum(), seed)


def test_apg_candidates_keep_every_vertex_inside_and_its_gradient_separates(hands):
    decoder, v_left, j_left, v_right, _ = _overlapping_pair(hands, 0.03)
    loss = PenetrationLoss(hands["left"], hands["right"], rho=0.05, weight=1000.0, margin=0.005)
    sealed = decoder.sealed(torch.cat([v_left, v_right.detach()], 1))[0].numpy()
    n_left = hands["left"].n_vertices + 1
    truly = np.flatnonzero(inside(v_right.detach()[0].numpy(), sealed[:n_left], hands["left"].sealed_faces.numpy()))
    assert len(truly) > 10
    _, i = loss.candidates(v_right, v_left, j_left, loss.radii["left"])
    assert set(truly) <= set(i.tolist())
    # a gradient step on the translation lowers the intersection volume
    x = torch.zeros(1, DIM, dtype=torch.float64)
    x[:, 55], x[:, 59], x[:, 61] = 1.0, 1.0, 0.03
    volumes = []
    for _ in range(2):
        x.requires_grad_(True)
        v_r, j_r = decoder.hand(decoder.right, x)
        faces_l, faces_r = hands["left"].sealed_faces.numpy(), hands["right"].sealed_faces.numpy()
        s = decoder.sealed(torch.cat([v_left, v_r.detach()], 1))[0].numpy()
        volumes.append(intersection(s[:n_left], faces_l, s[n_left:], faces_r).volume())
        (grad,) = torch.autograd.grad(loss(v_left, j_left, v_r, j_r).sum(), x)
        x = (x - 1e-5 * grad).detach()
    assert volumes[1] < volumes[0]


def test_a_damaged_model_file_stops_sampling_with_one_line_and_no_output(smoke_pairs, smoke_params, tmp_path, model_dir):
    """The trainer contract covers damaged checkpoints (test_trainer_contract.py); this is a damaged model file read by a later stage."""
    (tmp_path / "bad.pt").write_bytes(b"PK\x03\x04 not a whole torch file")
    with pytest.raises(InputError, match=r"bad.pt: corrupted checkpoint"):
        load_network(tmp_path / "bad.pt", "cascade")
    out = tmp_path / "samples.h5"
    cmd = [
        sys.executable,
        "-m",
        "handflow",
        "--project",
        str(smoke_params.root),
        "interhandgen",
        "sample",
        "--row",
        "no_apg",
        "--model",
        str(tmp_path / "bad.pt"),
        "--hand-model",
        str(model_dir),
        "--out",
        str(out),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("handflow: error: ") and "bad.pt: corrupted checkpoint" in proc.stderr
    assert not out.exists() and not list(tmp_path.glob("samples.h5*"))


def test_pairs_with_wrong_shapes_or_nans_are_refused(tmp_path):
    with h5py.File(tmp_path / "wrong.h5", "w") as h5:
        h5.attrs["schema_version"] = SCHEMA_VERSION
        h5["pairs"] = np.zeros((5, 2, 63))
    with pytest.raises(InputError, match=r"wrong.h5: pairs: shape \(5, 2, 63\), expected \(5, 2, 64\)"):
        read_pairs(tmp_path / "wrong.h5")
    with h5py.File(tmp_path / "nan.h5", "w") as h5:
        h5.attrs["schema_version"] = SCHEMA_VERSION
        h5["pairs"] = np.full((5, 2, 64), np.nan)
    with pytest.raises(InputError, match=r"nan.h5: pairs: contains NaN"):
        read_pairs(tmp_path / "nan.h5")


def test_samples_with_nans_are_refused(tmp_path):
    path = tmp_path / "s.h5"
    verts = np.zeros((3, 10, 3), np.float32)
    verts[1, 4, 0] = np.nan
    write_samples(path, np.zeros((3, 2, DIM)), verts, np.zeros((3, 42, 3)), np.zeros(3, np.int32), {})
    with pytest.raises(InputError, match=r"s.h5: vertices: contains NaN or inf \(first bad row 1\)"):
        read_samples(path, 10)
    with pytest.raises(InputError, match=r"s.h5: vertices: shape \(3, 10, 3\), expected \(3, 12, 3\)"):
        read_samples(path, 12)


def test_paper_scale_is_the_seeds_hyper_parameters(tmp_path):
    from conftest import copy_project

    p = load_params(copy_project(tmp_path / "p", "paper")).values["interhandgen"]
    assert (p["model"]["width"], p["model"]["embed_dim"], p["model"]["n_layers"], p["model"]["skips"]) == (2056, 512, 7, [1, 3, 5, 6])
    assert (p["train"]["batch_size"], p["train"]["lr"], p["train"]["grad_clip"]) == (256, 1e-3, 4.0)
    assert (p["diffusion"]["num_train_timesteps"], p["diffusion"]["sampling_steps"], p["sample"]["cfg_weight"]) == (129, 42, 0.1)


class _Constant(torch.nn.Module):
    """A stand-in denoiser: x0 = `a` without a condition, `c` with one, `u` for the null (all-zero) condition."""

    def __init__(self, a, c, u):
        super().__init__()
        self.a, self.c, self.u, self.calls = a, c, u, []

    def forward(self, x, t, cond=None):
        self.calls.append(None if cond is None else cond.clone())
        if cond is None:
            return self.a.expand(len(x), -1).clone()
        null = (cond == 0).all(1, keepdim=True)
        return torch.where(null, self.u.expand(len(x), -1), self.c.expand(len(x), -1)).clone()


def test_sampler_anchor_is_unconditional_and_cfg_acts_on_the_placement_dims_only():
    from handflow.papers.interhandgen.diffusion import CascadeSampler, Guidance
    from handflow.papers.interhandgen.representation import HAND_DIMS, PLACEMENT

    g = torch.Generator().manual_seed(0)
    a, c, u = (torch.randn(1, DIM, generator=g) for _ in range(3))
    model, w = _Constant(a, c, u), 0.3
    normalizer = Normalizer(np.zeros(DIM), np.ones(DIM))
    sampler = CascadeSampler(model, normalizer, None, ScheduleConfig(sampling_steps=4), Guidance(w, None))
    anchor, add = sampler.sample(5, torch.Generator().manual_seed(1))
    expected_anchor = a.double().expand(5, -1).clone()
    expected_anchor[:, PLACEMENT] = torch.as_tensor(normalizer.anchor_placement())
    torch.testing.assert_close(anchor, expected_anchor)
    expected = c.double().expand(5, -1).clone()
    expected[:, PLACEMENT] = c[:, PLACEMENT].double() + w * (c[:, PLACEMENT].double() - u[:, PLACEMENT].double())
    torch.testing.assert_close(add, expected)  # pose and shape dims: the conditional prediction, unguided
    anchor_calls = model.calls[:4]
    assert all(cond is None for cond in anchor_calls), "the anchor hand is sampled without a condition"
    add_cond = model.calls[4]
    assert add_cond.shape == (10, HAND_DIMS) and (add_cond[5:] == 0).all() and (add_cond[:5] != 0).any()


def test_apg_schedule_is_the_seeds_and_steps_are_scaled_to_raw_units():
    from handflow.papers.interhandgen.apg import ApgConfig, step_sizes
    from handflow.papers.interhandgen.diffusion import CascadeSampler, Guidance
    from handflow.papers.interhandgen.representation import TRANS

    apg = ApgConfig()
    steps = step_sizes(apg, 42, DIM, TRANS)
    assert steps[0, 0].item() == pytest.approx(7 * 0.9**41) and steps[40, 0].item() == pytest.approx(7 * 0.9)
    assert (steps[41, :61] == 0.7).all() and (steps[41, 61:] == 7.0).all() and (steps[:41, 61] == steps[:41, 0]).all()

    class Linear:  # a decoder whose right-hand "vertices" are raw dims 0-2: the loss gradient is 1 on dim 0
        left = right = None

        def hand(self, which, raw):
            return raw[:, None, :3], raw[:, None, 3:6]

    std = np.linspace(0.5, 2.0, DIM)
    normalizer = Normalizer(np.zeros(DIM), std)
    sampler = CascadeSampler(
        _Constant(*(torch.zeros(1, DIM),) * 3),
        normalizer,
        Linear(),
        ScheduleConfig(),
        Guidance(0.0, apg),
        penetration_loss=lambda vl, jl, vr, jr: vr[..., 0].sum(1),
    )
    x0 = torch.zeros(2, DIM)
    out = sampler._apg(x0, 41, None, None)
    moved = torch.as_tensor(normalizer.denormalize(out.double().numpy()))[:, 0]
    # the seed steps s_k in its variance-normalised space: -s_k var^2 grad in raw units, with our std-normalised data
    torch.testing.assert_close(moved, torch.full((2,), -0.7 * std[0] ** 4, dtype=torch.float64), rtol=1e-5, atol=1e-6)


def test_frames_without_a_valid_hand_type_are_not_training_pairs(smoke_h5, hands, tmp_path):
    import shutil

    from handflow.papers.interhandgen.dataset import build_pairs

    assert len(build_pairs(smoke_h5["train"], hands)["pairs"]) > 0
    untyped = tmp_path / "untyped.h5"
    shutil.copy(smoke_h5["train"], untyped)
    with h5py.File(untyped, "r+") as h5:
        h5["hand_type_valid"][...] = False  # as IntagHand's preprocessing, such frames are dropped
    assert len(build_pairs(untyped, hands)["pairs"]) == 0


def test_the_architecture_ablations_are_what_the_paper_names():
    from handflow.papers.interhandgen.networks import Denoiser, SeparateDenoisers, build_denoiser
    from handflow.papers.interhandgen.train import architecture

    small = {"width": 32, "embed_dim": 16, "n_layers": 3, "skips": (1,), "transformer_layers": 1, "n_heads": 2}
    noattn = build_denoiser(DenoiserConfig(**architecture("cascade_noattn"), **small))
    assert isinstance(noattn, Denoiser) and noattn.encoder is None and not any("encoder" in k for k in noattn.state_dict())
    separate = build_denoiser(DenoiserConfig(**architecture("cascade_separate"), **small))
    assert isinstance(separate, SeparateDenoisers) and separate.anchor.c_embed is None and separate.add.c_embed is not None
    x, t = torch.randn(4, DIM), torch.zeros(4, dtype=torch.long)
    separate.eval()
    torch.testing.assert_close(separate(x, t), separate.anchor(x, t))  # no condition: the anchor's own network
    cond = torch.zeros(4, 55)
    torch.testing.assert_close(separate(x, t, cond), separate.add(x, t, cond))  # a (null) condition: the second hand's
