"""Where the InterHand2.6M tree of a data source lives: one answer for the rules and the commands."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from handflow.stage import Stage

EMBEDDED_ROOT = "data/raw/embedded/InterHand2.6M"
DOWNLOAD_ROOT = "data/raw/interhand26m"
# The params keys that decide it: a rule reading the tree declares them, so changing them reruns it.
SOURCE_KEYS = ("global.data_source", "global.interhand26m_root")


def raw_root(data_source: str, interhand26m_root: str | None) -> str:
    """The tree the data stages read: generated, downloaded, or the user's own copy."""
    if data_source == "embedded":
        return EMBEDDED_ROOT
    return interhand26m_root or DOWNLOAD_ROOT


def checked_root(stage: Stage, given: str) -> Path:
    """A command's `--root`, which must be the tree params name: dvc.yaml freezes the path when it is generated,
    and a stage run after a data-source switch would otherwise read one tree while its provenance names another."""
    stage.expect_path(given, raw_root(*(stage.get(k) for k in SOURCE_KEYS)), SOURCE_KEYS[0])
    return Path(given)
