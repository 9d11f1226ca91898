"""Stage 1: a split's images in LMDB, keyed `<split>/<file_name>` (their path relative to `images/`).

The original JPEG bytes, as `handflow.storage.lmdb_store` explains; the seed
re-encoded them as PNG. Works unchanged on real InterHand2.6M: the list of images
comes from the split's `data.json`, so files the annotations do not name are left out.
"""

from __future__ import annotations

from pathlib import Path

from handflow.datasets.interhand.reader import InterHandSplit
from handflow.storage.lmdb_store import PackStats, pack


def image_key(split: str, file_name: str) -> str:
    return f"{split}/{file_name}"


def pack_split_images(root: Path, split: str, out: Path, batch_mb: int) -> PackStats:
    data = InterHandSplit(root, split)
    items = sorted({image_key(split, img["file_name"]): root / "images" / split / img["file_name"] for img in data.images}.items())
    return pack(items, out, batch_bytes=batch_mb << 20)
