"""What a judge accepts: a batch of uint8 RGB images, checked before any model sees it; and the package it comes from."""

from __future__ import annotations

import importlib
import importlib.metadata
from types import ModuleType

import cv2
import numpy as np

from handflow.errors import InputError

MAX_SIDE = 4096  # larger inputs are refused, not resized: a judge's input is a crop or a rendered frame


class JudgeUnavailable(InputError):
    """A judge's package (or the weights inside it) is not installed."""


def require(module: str, distribution: str) -> ModuleType:
    """Import `module` of the installed `distribution`; one line saying how to install it when it is missing."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise JudgeUnavailable(
            distribution, None, f"not installed ({exc.name or module}); `make test` / `make demo` install it into .venv"
        ) from None


def version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        raise JudgeUnavailable(distribution, None, "not installed") from None


def checked(images: np.ndarray, source: str = "images") -> np.ndarray:
    """(N, H, W, 3) uint8, contiguous; a wrong dtype, shape or size is one line naming `source` (an empty batch is fine)."""
    if not isinstance(images, np.ndarray):
        raise InputError(source, None, f"expected an array of images, got {type(images).__name__}")
    if images.ndim != 4 or images.shape[-1] != 3:
        raise InputError(source, None, f"shape {images.shape}, expected (N, H, W, 3) RGB")
    if images.dtype != np.uint8:
        raise InputError(source, None, f"dtype {images.dtype}, expected uint8")
    if len(images) and (min(images.shape[1:3]) < 1 or max(images.shape[1:3]) > MAX_SIDE):
        raise InputError(source, None, f"images of {images.shape[2]}x{images.shape[1]} px: each side 1 to {MAX_SIDE}")
    return np.ascontiguousarray(images)


def upscaled(image: np.ndarray, side: int) -> tuple[np.ndarray, float]:
    """The image with its longer side at least `side` (cubic; never shrunk), and the scale applied."""
    longer = max(image.shape[:2])
    if longer >= side:
        return image, 1.0
    scale = side / longer
    size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_CUBIC), scale
