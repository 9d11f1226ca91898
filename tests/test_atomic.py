"""An interrupted write leaves nothing that looks complete; a finished one replaces the old output."""

from __future__ import annotations

import pytest

from handflow.storage.atomic import atomic_path, atomic_write_text


def test_failed_file_write_leaves_nothing(tmp_path):
    target = tmp_path / "out.h5"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("killed midway")
    assert list(tmp_path.iterdir()) == []


def test_failed_write_keeps_previous_output(tmp_path):
    target = tmp_path / "out.json"
    atomic_write_text(target, "old")
    with pytest.raises(KeyboardInterrupt), atomic_path(target) as tmp:
        tmp.write_text("new but partial")
        raise KeyboardInterrupt
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_directory_output_appears_whole(tmp_path):
    target = tmp_path / "tree"
    with pytest.raises(OSError), atomic_path(target, is_dir=True) as tmp:
        (tmp / "a.txt").write_text("a")
        raise OSError("disk full")
    assert list(tmp_path.iterdir()) == []
    with atomic_path(target, is_dir=True) as tmp:
        (tmp / "a.txt").write_text("a")
        assert not target.exists(), "not visible before the block ends"
    assert (target / "a.txt").read_text() == "a"
    with atomic_path(target, is_dir=True) as tmp:
        (tmp / "b.txt").write_text("b")
    assert sorted(p.name for p in target.iterdir()) == ["b.txt"], "a rerun replaces the old tree, never merges into it"
