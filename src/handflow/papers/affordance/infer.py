"""The seed's `inference.py data.data_dir=<folder> test_num=N`: layouts and HOI images for every image in a folder.

Each image is resized so its shorter side is the network's and centre-cropped (the seed:
Resize(256) + CenterCrop(256), then pooled to 64). For each of `test_num` seeds: LayoutNet
samples a layout, its hard keep-mask is rendered, ContentNet synthesises the HOI image and
the upsampler enlarges it. Written as the seed's folders: `inp/<name>.png`,
`overall/<name>_s<k>.png` (upsampled output), `mask/<name>_s<k>.png` (the layout blended over
the input), `mask_param/<name>_s<k>.json` (the 5-D layout), and `index.json` listing them.
Given an HDF5 pairs file instead of a folder, its first `limit` object images are the inputs.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import torch

from handflow.diffusion import to_tensor, to_uint8
from handflow.errors import InputError
from handflow.papers.affordance.layout import render_hard
from handflow.papers.affordance.networks import load_network
from handflow.papers.affordance.pair_data import read_pairs_file
from handflow.papers.affordance.sample import keep_masks, sample_content, sample_layouts
from handflow.storage.atomic import atomic_path

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def square(image: np.ndarray, size: int) -> np.ndarray:
    h, w = image.shape[:2]
    s = min(h, w)
    y, x = (h - s) // 2, (w - s) // 2
    return cv2.resize(image[y : y + s, x : x + s], (size, size), interpolation=cv2.INTER_AREA if s > size else cv2.INTER_CUBIC)


def read_inputs(source: Path, size: int, limit: int) -> dict[str, np.ndarray]:
    """name -> (size, size, 3) RGB uint8, from a folder of images or a pairs file."""
    if source.suffix == ".h5":
        obj = read_pairs_file(source, ("obj",))["obj"][:limit]  # every field checked: one line for a damaged file
        return {f"{i:04d}": square(o, size) for i, o in enumerate(obj)}
    if not source.is_dir():
        raise InputError(source, None, "not a folder of images or a pairs .h5 file")
    files = sorted(p for p in source.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)[:limit]
    if not files:
        raise InputError(source, None, f"no {'/'.join(IMAGE_SUFFIXES)} images")
    out = {}
    for path in files:
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bgr is None:
            raise InputError(path, None, "not a readable image")
        out[path.stem] = square(bgr[..., ::-1], size)
    return out


def _png(path: Path, rgb: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.ascontiguousarray(rgb[..., ::-1]))


def infer(
    source: Path,
    out: Path,
    layout_path: Path,
    content_path: Path,
    upsampler_path: Path,
    test_num: int,
    limit: int,
    sampler: str,
    steps: int,
    seed: int,
) -> dict[str, float]:
    layout_net, content = load_network(layout_path, "layout")[0], load_network(content_path, "content")[0]
    upsampler = load_network(upsampler_path, "upsampler")[0]
    size = content.cfg.image_size
    inputs = read_inputs(source, size, limit)
    names = list(inputs)
    obj = to_tensor(np.stack([inputs[n] for n in names]))
    index = []
    with atomic_path(out, is_dir=True) as tmp:
        for name in names:
            _png(tmp / "inp" / f"{name}.png", inputs[name])
        for s in range(test_num):
            g = torch.Generator().manual_seed(seed + s)
            layouts = sample_layouts(layout_net, obj, sampler, steps, g)
            images = sample_content(content, obj, keep_masks(layouts, len(obj), size), sampler, steps, g)
            with torch.no_grad():
                big = to_uint8(upsampler(images))
            for name, lay, img in zip(names, layouts.double().numpy(), big, strict=True):
                tag = f"{name}_s{s}"
                hand = render_hard(lay, size) == 0
                blend = inputs[name].copy()
                blend[hand] = (0.5 * blend[hand] + 127).astype(np.uint8)
                _png(tmp / "overall" / f"{tag}.png", img)
                _png(tmp / "mask" / f"{tag}.png", blend)
                (tmp / "mask_param").mkdir(exist_ok=True)
                (tmp / "mask_param" / f"{tag}.json").write_text(json.dumps([float(v) for v in lay]))
                index.append({"input": name, "seed": s, "layout": [float(v) for v in lay], "image": f"overall/{tag}.png"})
        (tmp / "index.json").write_text(json.dumps({"source": str(source), "test_num": test_num, "outputs": index}, indent=1))
    return {"inputs": float(len(names)), "outputs": float(len(index))}
