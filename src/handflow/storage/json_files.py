"""JSON files one stage writes and another reads: written whole without NaN, read with one clear error, gathered by a key field."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from handflow.errors import InputError
from handflow.storage.atomic import atomic_write_text


def write_json(path: Path | str, data: Any) -> None:
    """Every JSON file a stage writes: indented, atomic, and never a NaN or inf (`allow_nan=False`: a missing value is null)."""
    atomic_write_text(path, json.dumps(data, indent=2, allow_nan=False))


def read_json(path: Path | str) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise InputError(path, None, "file not found") from None
    except json.JSONDecodeError as exc:
        raise InputError(path, f"line {exc.lineno}", f"invalid JSON: {exc.msg}") from None


def gather(paths: Iterable[Path | str], key: str, required: Iterable[str]) -> dict[str, dict]:
    """JSON objects by the value of their field `key` (e.g. evaluations by variant); each of `required` must be there."""
    paths = list(paths)
    found = {}
    for path in paths:
        data = read_json(path)
        if not isinstance(data, dict) or key not in data:
            raise InputError(path, key, "missing")
        found[data[key]] = data
    missing = sorted(set(required) - set(found))
    if missing:
        raise InputError(paths[0] if paths else "<no inputs>", key, f"no file for {', '.join(missing)} among the inputs")
    return found
