"""LMDB packing: original bytes round trip, map growth, resume after an interruption, bad inputs."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from handflow.errors import InputError
from handflow.storage.lmdb_store import PackedFiles, pack


@pytest.fixture()
def images(tmp_path):
    rng = np.random.default_rng(0)
    root = tmp_path / "images"
    items = []
    for i in range(12):
        path = root / "train" / f"Capture{i % 2}" / "seq" / "cam400001" / f"image{i}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        _, buf = cv2.imencode(".jpg", rng.integers(0, 255, (240, 320, 3), dtype=np.uint8))
        path.write_bytes(buf.tobytes())
        items.append((str(path.relative_to(root)), path))
    return items


def test_round_trip_keeps_the_original_bytes_and_grows_the_map(images, tmp_path):
    out = tmp_path / "images.lmdb"
    stats = pack(images, out, batch_bytes=4096, map_size=1 << 20)  # smaller than the images: must grow
    assert stats.count == len(images) and stats.resumed == 0 and stats.bytes > 1 << 20
    store = PackedFiles(out)
    assert len(store) == len(images) and sorted(store.keys()) == sorted(k for k, _ in images)
    for key, path in images:
        assert store.get(key) == path.read_bytes()
    assert not (tmp_path / "images.lmdb.partial").exists()


def test_interrupted_packing_resumes_and_never_looks_complete(images, tmp_path):
    out = tmp_path / "images.lmdb"

    class Killed(Exception):
        pass

    def kill(n):
        if n == 7:
            raise Killed

    with pytest.raises(Killed):
        pack(images, out, batch_bytes=1, on_put=kill)
    assert not out.exists() and (tmp_path / "images.lmdb.partial").exists()
    with pytest.raises(InputError, match="not an LMDB store"):
        PackedFiles(out)
    stats = pack(images, out, batch_bytes=1)
    assert stats.resumed == 8  # the first eight were committed before the kill
    store = PackedFiles(out)
    assert all(store.get(k) == p.read_bytes() for k, p in images)


def test_truncated_image_is_refused_by_name(images, tmp_path):
    _, path = images[3]
    path.write_bytes(path.read_bytes()[:-200])
    with pytest.raises(InputError, match=rf"{path.name}: truncated JPEG"):
        pack(images, tmp_path / "x.lmdb")
    assert not (tmp_path / "x.lmdb").exists()


def test_missing_key_and_corrupted_store_are_clear_errors(images, tmp_path):
    out = tmp_path / "images.lmdb"
    pack(images, out)
    with pytest.raises(InputError, match=r"images.lmdb: train/nope.jpg: no such key"):
        PackedFiles(out).get("train/nope.jpg")
    data = out / "data.mdb"
    data.write_bytes(b"\x00" * 64 + data.read_bytes()[64:4096])
    with pytest.raises(InputError, match=r"images.lmdb"):
        PackedFiles(out).get(images[0][0])
