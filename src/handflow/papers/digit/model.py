"""DIGIT's network (reference section 4): HRNet-style backbone, part segmentation, fusion, 2.5D pose, root and handedness.

The backbone is written here rather than taken from timm: its width, module and
block counts are set by the scale (the seed: HRNet-W32, modules 1/4/3, 4 blocks,
32x64x64 output for a 256 input), and only the top branch's fused output is used;
ImageNet weights, when given, load non-strictly as in the seed. With
`use_segmentation=False` (the ablation) the pose head sees the backbone features
alone, through the same U-Net.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

N_CLASSES, N_JOINTS, DEPTH_BINS = 33, 42, 64


@dataclass(frozen=True)
class DigitConfig:
    width: int = 32  # HRNet top-branch channels (W32)
    modules: tuple[int, int, int] = (1, 4, 3)  # HR modules in stages 2, 3, 4
    blocks: int = 4  # basic blocks per branch and module
    seg_fusion_channels: int = 512
    unet_channels: tuple[int, int, int, int] = (64, 128, 256, 256)
    head_channels: int = 512
    use_segmentation: bool = True

    def to_dict(self) -> dict:
        return asdict(self)


def _conv_bn(cin: int, cout: int, stride: int = 1, relu: bool = True) -> nn.Sequential:
    layers = [nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout, momentum=0.1)]
    return nn.Sequential(*layers, nn.ReLU(inplace=True)) if relu else nn.Sequential(*layers)


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.body = nn.Sequential(_conv_bn(cin, cout), _conv_bn(cout, cout, relu=False))
        self.skip = nn.Identity() if cin == cout else nn.Sequential(nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.body(x) + self.skip(x))


class HRModule(nn.Module):
    """Parallel branches of basic blocks, then every output branch sums all inputs resampled to its resolution."""

    def __init__(self, channels: list[int], blocks: int, n_out: int) -> None:
        super().__init__()
        self.branches = nn.ModuleList(nn.Sequential(*(BasicBlock(c, c) for _ in range(blocks))) for c in channels)
        self.fuse = nn.ModuleList()
        for i in range(n_out):
            row = nn.ModuleList()
            for j, cj in enumerate(channels):
                if j == i:
                    row.append(nn.Identity())
                elif j > i:
                    row.append(nn.Sequential(nn.Conv2d(cj, channels[i], 1, bias=False), nn.BatchNorm2d(channels[i])))
                else:  # j < i: stride-2 convolutions down to branch i
                    steps = [_conv_bn(cj, cj, 2) for _ in range(i - j - 1)] + [_conv_bn(cj, channels[i], 2, relu=False)]
                    row.append(nn.Sequential(*steps))
            self.fuse.append(row)

    def forward(self, xs: list[torch.Tensor]) -> list[torch.Tensor]:
        xs = [branch(x) for branch, x in zip(self.branches, xs, strict=True)]
        out = []
        for i, row in enumerate(self.fuse):
            size = xs[i].shape[-2:]
            total = sum(
                F.interpolate(f(x), size=size, mode="bilinear", align_corners=False) if j > i else f(x)
                for j, (f, x) in enumerate(zip(row, xs, strict=True))
            )
            out.append(F.relu(total))
        return out


class HRNetBackbone(nn.Module):
    def __init__(self, cfg: DigitConfig) -> None:
        super().__init__()
        w = cfg.width
        self.stem = nn.Sequential(_conv_bn(3, 64, 2), _conv_bn(64, 64, 2), *(BasicBlock(64, 64) for _ in range(cfg.blocks)))
        self.stages, self.transitions = nn.ModuleList(), nn.ModuleList()
        prev = [64]
        for stage, n_modules in enumerate(cfg.modules):
            channels = [w * 2**b for b in range(stage + 2)]
            trans = nn.ModuleList(
                (nn.Identity() if prev[b] == c else _conv_bn(prev[b], c)) if b < len(prev) else _conv_bn(prev[-1], c, 2)
                for b, c in enumerate(channels)
            )
            self.transitions.append(trans)
            last = stage == len(cfg.modules) - 1
            mods = [HRModule(channels, cfg.blocks, 1 if (last and m == n_modules - 1) else len(channels)) for m in range(n_modules)]
            self.stages.append(nn.Sequential(*mods) if mods else nn.Identity())
            prev = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, W, H/4, W/4) features of the top branch."""
        xs = [self.stem(x)]
        for trans, stage in zip(self.transitions, self.stages, strict=True):
            xs = [t(xs[b] if b < len(xs) else xs[-1]) for b, t in enumerate(trans)]
            for module in stage:
                xs = module(xs)
        return xs[0]


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
        z = (prob.flatten(2) * self.depth(feats).flatten(2)).sum(-1)  # depth maps weighted by the normalised heatmap
        out["joints"] = torch.cat([xy, z[..., None]], -1)  # (B, 42, 3) in heatmap units (0..64)
        pooled = self.conv_head(feats).mean((2, 3))
        bins = torch.arange(DEPTH_BINS, dtype=pooled.dtype, device=pooled.device) + 0.5
        out["rel_root_depth"] = (self.root_fc(pooled).softmax(-1) * bins).sum(-1)
        out["hand_logits"] = self.hand_fc(pooled)
        return out
