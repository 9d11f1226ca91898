"""DIGIT's network (reference section 4): HRNet-style backbone, part segmentation, fusion, 2.5D pose, root and handedness.

The backbone is written here rather than taken from timm (whose HRNet needs torchvision,
which has no CPU build on our machines): its width, module and block counts are set by
the scale. At the seed's sizes (HRNet-W32: width 32, modules 1/4/3, 4 blocks) it is the
pose-estimation HRNet module for module, with the official module names (`conv1`,
`layer1`, `transition1`, `stage2.0.branches...`, `fuse_layers`), so the official ImageNet
checkpoint `hrnet_w32-36af842e.pth` loads into it by name, non-strictly as in the seed
(its classification head and stage 4's lower outputs are not used). Only the top
branch's fused output is used: 32x64x64 for a 256 input (`input_size`, smaller at the `cpu`
scale; the joints are rescaled to 64 units per crop width whatever the feature size). With `use_segmentation=False`
(the ablation) the pose head sees the backbone features alone, through the same U-Net.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from handflow.checkpoints import NetworkSpec, load_model
from handflow.config import Section
from handflow.errors import InputError
from handflow.papers.digit.variants import MODELS

log = logging.getLogger(__name__)

N_CLASSES, N_JOINTS, DEPTH_BINS = 33, 42, 64
HEATMAP = 64  # joint targets' units per crop width (dataset.HEATMAP; not imported: the model needs no data code)
BN_MOMENTUM = 0.1


@dataclass(frozen=True)
class DigitConfig(Section):
    """params `digit.model`, plus whether the segmentation branch is on (the model trained: seg or noseg)."""

    input_size: int = 256  # square crop side in pixels (the seed: 256); features at 1/4, masks at 1/2 of it
    width: int = 32  # HRNet top-branch channels (W32)
    modules: tuple[int, int, int] = (1, 4, 3)  # HR modules in stages 2, 3, 4
    blocks: int = 4  # bottlenecks in layer1, basic blocks per branch and module
    seg_fusion_channels: int = 512
    unet_channels: tuple[int, int, int, int] = (64, 128, 256, 256)
    head_channels: int = 512
    use_segmentation: bool = True


def _conv_bn(cin: int, cout: int, stride: int = 1, relu: bool = True, kernel: int = 3) -> nn.Sequential:
    layers = [nn.Conv2d(cin, cout, kernel, stride, kernel // 2, bias=False), nn.BatchNorm2d(cout, momentum=BN_MOMENTUM)]
    return nn.Sequential(*layers, nn.ReLU(inplace=True)) if relu else nn.Sequential(*layers)


class BasicBlock(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels, momentum=BN_MOMENTUM)
        self.conv2 = nn.Conv2d(channels, channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels, momentum=BN_MOMENTUM)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x))))) + x)


class Bottleneck(nn.Module):
    """1x1 - 3x3 - 1x1 to `planes * 4` channels, as HRNet's layer1."""

    def __init__(self, cin: int, planes: int) -> None:
        super().__init__()
        cout = planes * 4
        self.conv1 = nn.Conv2d(cin, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes, momentum=BN_MOMENTUM)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes, momentum=BN_MOMENTUM)
        self.conv3 = nn.Conv2d(planes, cout, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(cout, momentum=BN_MOMENTUM)
        self.downsample = None if cin == cout else _conv_bn(cin, cout, relu=False, kernel=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn3(self.conv3(F.relu(self.bn2(self.conv2(out)))))
        return F.relu(out + (x if self.downsample is None else self.downsample(x)))


class HRModule(nn.Module):
    """Parallel branches of basic blocks, then each output branch sums all branches brought to its resolution."""

    def __init__(self, channels: list[int], blocks: int, n_out: int) -> None:
        super().__init__()
        self.branches = nn.ModuleList(nn.Sequential(*(BasicBlock(c) for _ in range(blocks))) for c in channels)
        self.fuse_layers = nn.ModuleList()
        for i in range(n_out):
            row = nn.ModuleList()
            for j, cj in enumerate(channels):
                if j == i:
                    row.append(nn.Identity())
                elif j > i:  # 1x1 to branch i's channels, nearest upsampling to its resolution
                    up = nn.Upsample(scale_factor=2 ** (j - i), mode="nearest")
                    row.append(nn.Sequential(*_conv_bn(cj, channels[i], relu=False, kernel=1), up))
                else:  # stride-2 3x3 convolutions down to branch i, the last one without ReLU
                    steps = [_conv_bn(cj, cj, 2) for _ in range(i - j - 1)] + [_conv_bn(cj, channels[i], 2, relu=False)]
                    row.append(nn.Sequential(*steps))
            self.fuse_layers.append(row)

    def forward(self, xs: list[torch.Tensor]) -> list[torch.Tensor]:
        xs = [branch(x) for branch, x in zip(self.branches, xs, strict=True)]
        return [F.relu(sum(f(x) for f, x in zip(row, xs, strict=True))) for row in self.fuse_layers]


def _transition(prev: list[int], channels: list[int]) -> nn.ModuleList:
    """Existing branches change width with a 3x3 conv (or pass through); a new branch is a stride-2 conv of the lowest."""
    layers = nn.ModuleList()
    for b, c in enumerate(channels):
        if b < len(prev):
            layers.append(nn.Identity() if prev[b] == c else _conv_bn(prev[b], c))
        else:
            layers.append(nn.Sequential(_conv_bn(prev[-1], c, 2)))
    return layers


class HRNetBackbone(nn.Module):
    def __init__(self, cfg: DigitConfig) -> None:
        super().__init__()
        w = cfg.width
        self.conv1 = nn.Conv2d(3, 64, 3, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(64, momentum=BN_MOMENTUM)
        self.conv2 = nn.Conv2d(64, 64, 3, 2, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(64, momentum=BN_MOMENTUM)
        self.layer1 = nn.Sequential(*(Bottleneck(64 if k == 0 else 256, 64) for k in range(cfg.blocks)))
        prev = [256]
        for n, n_modules in enumerate(cfg.modules, start=2):
            channels = [w * 2**b for b in range(n)]
            last_stage = n == len(cfg.modules) + 1
            n_outs = [1 if last_stage and m == n_modules - 1 else n for m in range(n_modules)]
            self.add_module(f"transition{n - 1}", _transition(prev, channels))
            self.add_module(f"stage{n}", nn.Sequential(*(HRModule(channels, cfg.blocks, k) for k in n_outs)))
            prev = channels
        self.n_stages = len(cfg.modules)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, W, H/4, W/4) features of the top branch; H and W must be multiples of 32."""
        xs = [self.layer1(F.relu(self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))))]
        for n in range(2, self.n_stages + 2):
            transition = getattr(self, f"transition{n - 1}")
            xs = [t(xs[b] if b < len(xs) else xs[-1]) for b, t in enumerate(transition)]
            for module in getattr(self, f"stage{n}"):
                xs = module(xs)
        return xs[0]


def load_imagenet_weights(backbone: HRNetBackbone, path: Path) -> int:
    """Copy an HRNet ImageNet checkpoint's weights into `backbone` by name; return how many tensors were loaded.

    Non-strict like the seed: the checkpoint's classification head and stage 4's lower
    outputs have no counterpart here and are skipped. A tensor of the wrong shape (another
    width) or a file with none of our names is an error, not a silent random init.
    """
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise InputError(path, None, "file not found") from None
    except Exception as exc:  # torch raises many types for a damaged file
        raise InputError(path, None, f"not a readable PyTorch checkpoint ({type(exc).__name__})") from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(k, str) for k in state):
        raise InputError(path, None, "not a state dict (a mapping of tensor names to tensors)")
    state = {k.removeprefix("module."): v for k, v in state.items()}
    own = backbone.state_dict()
    shared = [k for k in own if k in state]
    for key in shared:  # what is copied must be a finite tensor: NaN weights would train to NaN without a word
        value = state[key]
        if not isinstance(value, torch.Tensor):
            raise InputError(path, key, f"a {type(value).__name__}, not a tensor")
        if value.is_complex() or (value.is_floating_point() and not torch.isfinite(value).all()):
            raise InputError(path, key, "complex, NaN or inf values")
    if not shared:
        raise InputError(
            path, "state_dict", "no HRNet backbone weights (expected names like conv1.weight, stage2.0.branches.0.0.conv1.weight)"
        )
    for key in shared:
        if tuple(state[key].shape) != tuple(own[key].shape):
            raise InputError(
                path,
                key,
                f"shape {tuple(state[key].shape)}, the backbone's is {tuple(own[key].shape)} (HRNet-W32 weights need model.width 32)",
            )
    missing = [k for k in own if k not in state]
    if missing:
        log.warning(
            "%s: %d of %d backbone tensors not in the checkpoint (e.g. %s): left at their initial values",
            path,
            len(missing),
            len(own),
            missing[0],
        )
    backbone.load_state_dict({**own, **{k: state[k] for k in shared}})
    return len(shared)


class DoubleConv(nn.Sequential):
    def __init__(self, cin: int, cout: int, mid: int | None = None) -> None:
        super().__init__(_conv_bn(cin, mid or cout), _conv_bn(mid or cout, cout))


class MiniUNet(nn.Module):
    def __init__(self, cin: int, cout: int, channels: tuple[int, int, int, int]) -> None:
        super().__init__()
        c0, c1, c2, c3 = channels
        self.inc = DoubleConv(cin, c0)
        self.downs = nn.ModuleList([DoubleConv(c0, c1), DoubleConv(c1, c2), DoubleConv(c2, c3)])
        self.ups = nn.ModuleList([DoubleConv(c3 + c2, c2), DoubleConv(c2 + c1, c1), DoubleConv(c1 + c0, c0)])
        self.out = nn.Conv2d(c0, cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = [self.inc(x)]
        for down in self.downs:
            skips.append(down(F.max_pool2d(skips[-1], 2)))
        h = skips.pop()
        for up in self.ups:
            skip = skips.pop()
            h = up(torch.cat([F.interpolate(h, size=skip.shape[-2:], mode="bilinear", align_corners=False), skip], 1))
        return self.out(h)


def soft_argmax_2d(heatmaps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Normalised heatmaps and the expected (x, y) with pixel centres at i + 0.5."""
    b, j, h, w = heatmaps.shape
    prob = heatmaps.flatten(2).softmax(-1).view(b, j, h, w)
    xs = torch.arange(w, dtype=prob.dtype, device=prob.device) + 0.5
    ys = torch.arange(h, dtype=prob.dtype, device=prob.device) + 0.5
    return prob, torch.stack([(prob.sum(2) * xs).sum(-1), (prob.sum(3) * ys).sum(-1)], -1)


class Digit(nn.Module):
    def __init__(self, cfg: DigitConfig) -> None:
        super().__init__()
        self.cfg = cfg
        w, f = cfg.width, cfg.seg_fusion_channels
        self.backbone = HRNetBackbone(cfg)
        feat = w
        if cfg.use_segmentation:
            self.seg_head = nn.Sequential(
                nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                DoubleConv(w, 64, 16),
                nn.Conv2d(64, N_CLASSES, 3, 1, 1),
                nn.BatchNorm2d(N_CLASSES),
                nn.ReLU(inplace=True),
                nn.Conv2d(N_CLASSES, N_CLASSES, 3, 1, 1),
            )
            # the logits themselves, as the seed (its paper says probabilities)
            self.seg_embed = nn.Sequential(
                nn.Conv2d(N_CLASSES, 64, 3, 1, 1), nn.ReLU(inplace=True), nn.Conv2d(64, f, 3, 1, 1), nn.ReLU(inplace=True), nn.MaxPool2d(2)
            )
            feat = w + f
        self.unet = MiniUNet(feat, feat, cfg.unet_channels)
        self.heatmap = nn.Conv2d(feat, N_JOINTS, 1)
        self.depth = nn.Conv2d(feat, N_JOINTS, 1)
        h = cfg.head_channels
        self.conv_head = nn.Sequential(
            _conv_bn(feat, 64),
            _conv_bn(64, 128),
            nn.MaxPool2d(2),
            _conv_bn(128, h // 2),
            _conv_bn(h // 2, h),
            nn.MaxPool2d(2),
            _conv_bn(h, h),
            _conv_bn(h, h),
            nn.MaxPool2d(2),
        )
        self.root_fc = nn.Sequential(nn.Linear(h, h), nn.ReLU(inplace=True), nn.Linear(h, DEPTH_BINS))
        self.hand_fc = nn.Sequential(nn.Linear(h, h), nn.ReLU(inplace=True), nn.Linear(h, 2))

    def forward(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        feats = self.backbone(image)
        out = {}
        if self.cfg.use_segmentation:
            out["segm_logits"] = self.seg_head(feats)
            feats = torch.cat([feats, self.seg_embed(out["segm_logits"])], 1)
        feats = self.unet(feats)
        prob, xy = soft_argmax_2d(self.heatmap(feats))
        xy = xy * (HEATMAP / feats.shape[-1])  # heatmap units, 64 per crop width at any input size
        z = (prob.flatten(2) * self.depth(feats).flatten(2)).sum(-1)  # depth maps weighted by the normalised heatmap
        out["joints"] = torch.cat([xy, z[..., None]], -1)  # (B, 42, 3) in heatmap units (0..64)
        pooled = self.conv_head(feats).mean((2, 3))
        bins = torch.arange(DEPTH_BINS, dtype=pooled.dtype, device=pooled.device) + 0.5
        out["rel_root_depth"] = (self.root_fc(pooled).softmax(-1) * bins).sum(-1)
        out["hand_logits"] = self.hand_fc(pooled)
        return out


NETWORKS = {model: NetworkSpec(DigitConfig, Digit) for model in MODELS}


def load_network(path: Path, kind: str) -> tuple[nn.Module, dict]:
    """A model file of one kind (`variants.MODELS`: seg or noseg): the network in eval mode and the file's dict."""
    return load_model(path, kind, NETWORKS)
