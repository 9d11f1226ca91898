"""Affordance Diffusion's networks and samplers: the schedulers' wiring (an exact noise oracle recovers x0), hijack
guidance pins what it is given, the flip rule for layouts, and the LayoutNet mask loss reaching the network."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from handflow.diffusion import COSINE
from handflow.papers.affordance.layout import layout_from_hand
from handflow.papers.affordance.networks import ContentNet, ContentNetConfig, LayoutNet, LayoutNetConfig
from handflow.papers.affordance.pair_data import PairSet
from handflow.papers.affordance.sample import run_sampler, sample_content, sample_layouts
from handflow.papers.affordance.train import LayoutTrainer, TrainConfig

SMALL_LAYOUT = LayoutNetConfig(32, (8, 16), 2, 1)


@pytest.mark.parametrize("name", ["ddim", "plms"])
def test_sampler_with_the_exact_noise_recovers_the_data(name):
    """With eps(x_t, t) = (x_t - sqrt(abar) x0) / sqrt(1 - abar) for a known x0, the sampler must end at x0."""
    abar = COSINE.training().alphas_cumprod.double()
    x0 = torch.tensor([[0.3, -0.5, 0.7, 0.6, 0.8]], dtype=torch.float64)

    def oracle(x, t):
        a = abar[int(t)]
        return (x - a.sqrt() * x0) / (1 - a).sqrt()

    out = run_sampler(oracle, COSINE, (1, 5), name, 20, torch.Generator().manual_seed(0), torch.device("cpu"))
    assert torch.allclose(out.double(), x0, atol=2e-3), out


def test_hijack_guidance_pins_the_given_position_and_fills_the_rest():
    torch.manual_seed(0)
    net = LayoutNet(SMALL_LAYOUT).eval()
    obj = torch.rand(3, 3, 32, 32) * 2 - 1
    xy = torch.tensor([[0.1, -0.2], [0.5, 0.4], [-0.7, 0.0]])
    lay = sample_layouts(net, obj, "ddim", 6, torch.Generator().manual_seed(1), fixed_xy=xy)
    assert torch.equal(lay[:, :2], xy)
    assert torch.allclose(lay[:, 3:].norm(dim=1), torch.ones(3), atol=1e-5)
    free = sample_layouts(net, obj, "ddim", 6, torch.Generator().manual_seed(1))
    assert not torch.allclose(free[:, :2], xy)


def test_flipped_layout_is_the_layout_of_the_flipped_image():
    mask = np.zeros((64, 64), bool)
    mask[20:40, 10:50] = True
    mask[30:34, 50:64] = True
    box = np.array([12.0, 18.0, 44.0, 41.0])
    lay = layout_from_hand(box, mask)
    flipped = layout_from_hand(np.array([64 - box[2], box[1], 64 - box[0], box[3]]), mask[:, ::-1])
    assert np.allclose(flipped, lay * np.array([-1, 1, 1, -1, 1]), atol=1e-9), (lay, flipped)


def test_mask_loss_reaches_layoutnet(hoi4d_pairs):
    cfg = TrainConfig(lr=1e-3, batch_size=4, steps=1, checkpoint_every=1, log_every=1)
    grads = {}
    for weight in (0.0, 10.0):
        trainer = LayoutTrainer("layout", hoi4d_pairs["train"], SMALL_LAYOUT, cfg, weight, 0)
        torch.manual_seed(0)
        state = trainer.build(torch.device("cpu"))
        trainer.loss(state).backward()
        grads[weight] = torch.cat([p.grad.flatten() for p in state.model.parameters() if p.grad is not None])
    assert not torch.allclose(grads[0.0], grads[10.0])


def test_pairs_load_with_both_flips_and_contentnet_samples_images(hoi4d_pairs):
    data = PairSet.load(hoi4d_pairs["test"], 32)
    assert data.layout.shape == (2, len(data), 5) and data.keep.shape == (2, len(data), 1, 32, 32)
    assert torch.allclose(data.layout[1], data.layout[0] * torch.tensor([-1.0, 1, 1, -1, 1]))
    net = ContentNet(ContentNetConfig(32, (8, 16), 1, (False, True))).eval()
    out = sample_content(net, data.obj[:2], data.keep[0, :2], "plms", 4, torch.Generator().manual_seed(0))
    assert out.shape == (2, 3, 32, 32) and out.abs().max() <= 1


def test_content_batches_jitter_the_keep_mask_and_blur_some_object_images(hoi4d_pairs):
    """The seed's content jitter moves the keep-mask's lollipop (centre and radius within 10 %) while the layout stays
    exact; without jitter the keep-mask is the stored one; the blur leaves some object images smoother than stored."""
    from handflow.papers.affordance.layout import jittered, render_hard

    data = PairSet.load(hoi4d_pairs["train"], 32)
    lay = data.layout[0]
    moved = jittered(lay, 0.1, torch.Generator().manual_seed(0))
    px, r = (lambda v: (v[:, :2] + 1) * 16, lambda v: v[:, 2] ** 2 * 8)  # pixels at side 32 (x+1) W/2, r = s W/4
    assert ((px(moved) / px(lay) - 1).abs() <= 0.1 + 1e-6).all() and ((r(moved) / r(lay) - 1).abs() <= 0.1 + 1e-6).all()
    assert not torch.allclose(moved[:, :3], lay[:, :3]) and torch.equal(moved[:, 3:], lay[:, 3:])
    plain = data.batch(64, torch.Generator().manual_seed(1))
    jit = data.batch(64, torch.Generator().manual_seed(1), jitter=0.1)
    assert torch.equal(plain["layout"], jit["layout"]) and torch.equal(plain["obj"], jit["obj"])
    stored = torch.stack([torch.as_tensor(render_hard(v, 32) / 255.0, dtype=torch.float32) for v in plain["layout"].numpy()])
    assert torch.equal(plain["keep"][:, 0], stored)
    assert not torch.equal(jit["keep"], plain["keep"]) and set(jit["keep"].unique().tolist()) <= {0.0, 1.0}
    idx = torch.randint(0, len(data), (64,), generator=torch.Generator().manual_seed(1))  # the batch's first draw
    assert torch.equal(data.batch(64, torch.Generator().manual_seed(1), augment=False)["obj"], data.obj[idx])
    roughness = lambda x: (x[..., 1:] - x[..., :-1]).abs().mean((1, 2, 3))  # noqa: E731
    smoother = roughness(plain["obj"]) < 0.9 * torch.minimum(roughness(data.obj[idx]), roughness(data.obj_sdedit[idx]))
    assert 4 <= int(smoother.sum()) <= 32  # blurred and not noised: a quarter of the batch expected


@pytest.mark.parametrize("first_stage", ["tiny_vae", "tiny_vq"])
def test_ldm_variant_trains_and_samples_through_the_users_autoencoder(tmp_path, hoi4d_pairs, first_stage, request):
    """ContentNet on the latents of a local AutoencoderKL or VQModel (the seed's VQ-f4 kind): trained, saved without the
    autoencoder's weights, loaded back with it, sampled to images at the pixel size; a foreign directory and a changed
    autoencoder are one line each."""
    tiny_vae = request.getfixturevalue(first_stage)
    import shutil

    from handflow.errors import InputError
    from handflow.papers.affordance.networks import ContentNetConfig, LatentCodec, load_network
    from handflow.papers.affordance.sample import keep_masks, sample_content
    from handflow.papers.affordance.train import ContentTrainer, TrainConfig
    from handflow.training import fit

    codec = LatentCodec(tiny_vae)
    channels = 4 if first_stage == "tiny_vae" else 3
    assert (codec.channels, codec.factor, codec.kind) == (channels, 2, "AutoencoderKL" if channels == 4 else "VQModel")
    network = ContentNetConfig(32, (8, 16), 1, (False, True), latent_channels=channels, latent_factor=2)
    cfg = TrainConfig(lr=1e-3, batch_size=4, steps=2, checkpoint_every=2, log_every=1)
    fit(
        ContentTrainer("content", hoi4d_pairs["train"], network, cfg, True, 0, tiny_vae),
        tmp_path / "ck",
        tmp_path / "c.pt",
        tmp_path / "c.tsv",
    )
    net, ckpt = load_network(tmp_path / "c.pt", "content")
    assert net.codec is not None and not any("vae" in k for k in ckpt["state_dict"])
    data = PairSet.load(hoi4d_pairs["test"], 32)
    images = sample_content(net, data.obj[:2], keep_masks(None, 2, 32), "ddim", 3, torch.Generator().manual_seed(0))
    assert images.shape == (2, 3, 32, 32) and torch.isfinite(images).all()
    with pytest.raises(InputError) as err:
        LatentCodec(tmp_path)  # not an autoencoder directory
    assert str(tmp_path) in str(err.value) and "\n" not in str(err.value)
    moved = tmp_path / "vae_copy"
    shutil.copytree(tiny_vae, moved)
    cfg_file = moved / "config.json"
    cfg_file.write_text(cfg_file.read_text().replace('"scaling_factor": 0.18215', '"scaling_factor": 0.5'))
    ckpt_path = tmp_path / "c.pt"
    raw = torch.load(ckpt_path, weights_only=False)
    raw["vae"] = str(moved)
    torch.save(raw, ckpt_path)
    with pytest.raises(InputError, match="changed since"):
        load_network(ckpt_path, "content")


def test_fid_reference_is_the_inputs_own_crops_by_default_and_the_gt_row_then_shows_no_fid():
    """The seed's protocol compares with the real crops of the same pairs: the ground-truth row is the reference itself,
    so the table leaves its FID/KID empty; with `other_half` it is a floor and is shown."""
    from handflow.papers.affordance.evaluate import reference_indices
    from handflow.papers.affordance.report import _row

    a, b = np.array([0, 2, 4]), np.array([1, 3])
    assert reference_indices(a, b, "same_objects").tolist() == [0, 2, 4] and reference_indices(a, b, "other_half").tolist() == [1, 3]
    with pytest.raises(ValueError):
        reference_indices(a, b, "elsewhere")
    values = {"fid": 0.0, "kid": 0.0, "hand_present": 0.5, "contact_recall": 0.5, "n_images": 3.0}
    gt = {"row": "gt", "per_seed": [values], "n_inputs": 3, "n_reference": 3}
    same = _row(gt | {"reference": "same_objects"}, "GT")
    other = _row(gt | {"reference": "other_half"}, "GT")
    assert same.values["fid"] is None and same.values["kid"] is None and same.values["hand_present"].mean == 0.5
    assert other.values["fid"].mean == 0.0


def test_contentnet_trainings_live_in_a_folder_so_the_dag_does_not_depend_on_their_count():
    from handflow.papers.affordance.variants import MODELS, model_path, sample_inputs

    assert model_path("content") == "models/affordance/content" and model_path("layout") == "models/affordance/layout.pt"
    assert {m for m in MODELS if model_path(m).endswith(".pt")} == {"layout", "layout_nomask", "upsampler", "handpose"}
    assert sample_inputs("nolayout") == {"content": "models/affordance/content_nolayout"}
    assert sample_inputs("full") == {"content": "models/affordance/content", "layout": "models/affordance/layout.pt"}
