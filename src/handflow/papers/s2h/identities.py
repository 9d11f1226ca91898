"""The MixHand tree's `identities.json`: every character and MANO subject, with its domain, split and folder.

`build_tree` writes it; packing the tree and `s2h retarget`'s defaults read it back,
checked here, so a damaged or hand-edited file is one line naming the entry.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from handflow.errors import InputError
from handflow.storage.json_files import read_json

FILE = "identities.json"
DOMAINS = ("mixamo", "mano")
TEXT_FIELDS = ("name", "domain", "split", "folder")
N_BETAS = 10


def checked_identities(value: Any, source: Path | str, field: str = "identities") -> list[dict]:
    """`value` if it is a list of identities: text name, domain (`DOMAINS`), split and folder (inside the tree), and
    for a MANO subject its 10 betas."""
    if not isinstance(value, list):
        raise InputError(source, field, "expected a list of identities")
    for i, ident in enumerate(value):
        where = f"{field}[{i}]"
        if not isinstance(ident, dict) or not all(isinstance(ident.get(k), str) for k in TEXT_FIELDS):
            raise InputError(source, where, f"expected an object with text {', '.join(TEXT_FIELDS)}")
        if ident["domain"] not in DOMAINS:
            raise InputError(source, f"{where}.domain", f"{ident['domain']!r}, expected one of {DOMAINS}")
        folder = Path(ident["folder"])
        if folder.is_absolute() or ".." in folder.parts or not folder.parts:
            raise InputError(source, f"{where}.folder", f"{ident['folder']!r} is not a folder inside the tree")
        betas = ident.get("betas")
        if ident["domain"] == "mano" and not _numbers(betas, N_BETAS):
            raise InputError(source, f"{where}.betas", f"expected {N_BETAS} finite numbers")
    return value


def _numbers(value: Any, n: int) -> bool:
    return (
        isinstance(value, list)
        and len(value) == n
        and all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in value)
    )


def read_identities(tree: Path) -> list[dict]:
    """The checked identities of a MixHand tree."""
    return checked_identities(read_json(tree / FILE), tree / FILE)
