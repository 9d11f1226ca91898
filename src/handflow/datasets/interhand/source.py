"""Where the InterHand2.6M tree of a data source lives: one answer for the rules and the commands."""

from __future__ import annotations

EMBEDDED_ROOT = "data/raw/embedded/InterHand2.6M"
DOWNLOAD_ROOT = "data/raw/interhand26m"
# The params keys that decide it: a rule reading the tree declares them, so changing them reruns it.
SOURCE_KEYS = ("global.data_source", "global.interhand26m_root")


def raw_root(data_source: str, interhand26m_root: str | None) -> str:
    """The tree the data stages read: generated, downloaded, or the user's own copy."""
    if data_source == "embedded":
        return EMBEDDED_ROOT
    return interhand26m_root or DOWNLOAD_ROOT
