"""DIGIT's backbone is HRNet-W32 by name and shape, so the official ImageNet checkpoint loads into it."""

from __future__ import annotations

import pytest
import torch

from handflow.errors import InputError
from handflow.papers.digit.networks import DigitConfig, HRNetBackbone, load_imagenet_weights

# Tensors of the official hrnet_w32 ImageNet checkpoint (HRNet-Image-Classification's layout):
# stem, layer1's bottlenecks, each transition, branches and both kinds of fuse layers.
OFFICIAL_W32 = {
    "conv1.weight": (64, 3, 3, 3),
    "bn2.running_var": (64,),
    "layer1.0.conv1.weight": (64, 64, 1, 1),
    "layer1.0.downsample.0.weight": (256, 64, 1, 1),
    "layer1.3.bn3.weight": (256,),
    "transition1.0.0.weight": (32, 256, 3, 3),
    "transition1.1.0.0.weight": (64, 256, 3, 3),
    "stage2.0.branches.1.3.conv2.weight": (64, 64, 3, 3),
    "stage2.0.fuse_layers.0.1.0.weight": (32, 64, 1, 1),
    "stage2.0.fuse_layers.1.0.0.0.weight": (64, 32, 3, 3),
    "transition2.2.0.0.weight": (128, 64, 3, 3),
    "stage3.3.fuse_layers.2.0.0.0.weight": (32, 32, 3, 3),
    "stage3.3.fuse_layers.2.0.1.0.weight": (128, 32, 3, 3),
    "transition3.3.0.0.weight": (256, 128, 3, 3),
    "stage4.1.fuse_layers.3.0.2.0.weight": (256, 32, 3, 3),
    "stage4.2.fuse_layers.0.3.0.weight": (32, 256, 1, 1),
    "stage4.2.branches.3.3.bn2.running_var": (256,),
}
# Only in the classification checkpoint: its head, and stage 4's lower outputs (the pose net keeps the top one).
CLASSIFICATION_ONLY = {
    "incre_modules.0.0.conv1.weight": (32, 32, 1, 1),
    "final_layer.0.weight": (2048, 1024, 1, 1),
    "classifier.weight": (1000, 2048),
    "stage4.2.fuse_layers.1.0.0.0.weight": (64, 32, 3, 3),
}


@pytest.fixture(scope="module")
def w32() -> HRNetBackbone:
    return HRNetBackbone(DigitConfig())


def test_the_paper_backbone_has_hrnet_w32_names_and_shapes(w32):
    own = {k: tuple(v.shape) for k, v in w32.state_dict().items()}
    assert {k: own.get(k) for k in OFFICIAL_W32} == OFFICIAL_W32
    assert not set(CLASSIFICATION_ONLY) & set(own)
    assert sum(p.numel() for p in w32.parameters()) == pytest.approx(28.5e6, rel=0.01)  # pose_hrnet_w32's backbone
    assert w32(torch.zeros(1, 3, 256, 256)).shape == (1, 32, 64, 64)


def _checkpoint_like_the_official(backbone: HRNetBackbone, path, **extra_shapes) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    state = {k: torch.randn(v.shape, generator=gen) if v.is_floating_point() else v for k, v in backbone.state_dict().items()}
    state |= {k: torch.zeros(shape) for k, shape in {**CLASSIFICATION_ONLY, **extra_shapes}.items()}
    torch.save(state, path)
    return state


def test_imagenet_weights_load_by_name_skipping_the_classifier(w32, tmp_path):
    path = tmp_path / "hrnet_w32-36af842e.pth"
    saved = _checkpoint_like_the_official(w32, path)
    fresh = HRNetBackbone(DigitConfig())
    assert load_imagenet_weights(fresh, path) == len(fresh.state_dict())
    assert all(torch.equal(v, saved[k]) for k, v in fresh.state_dict().items())


def test_weights_of_another_width_or_another_network_are_refused(w32, tmp_path):
    small = HRNetBackbone(DigitConfig(width=8, modules=(1, 1, 1), blocks=1))
    path = tmp_path / "w32.pth"
    _checkpoint_like_the_official(w32, path)
    with pytest.raises(InputError, match=r"w32\.pth.*transition1\.0\.0\.weight.*model.width 32"):
        load_imagenet_weights(small, path)
    other = tmp_path / "resnet.pth"
    torch.save({"fc.weight": torch.zeros(10, 10)}, other)
    with pytest.raises(InputError, match="no HRNet backbone weights"):
        load_imagenet_weights(small, other)
    broken = tmp_path / "broken.pth"
    broken.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(InputError, match="not a readable PyTorch checkpoint"):
        load_imagenet_weights(small, broken)
