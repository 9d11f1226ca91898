"""JSON files one stage writes and another reads: written whole without NaN, read with one clear error, gathered by a key field."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from handflow.errors import InputError
from handflow.storage.atomic import atomic_write_text

# JSON Schema pieces for what a reader of results files declares (`check_schema`)
NUMBER = {"type": "number"}
NUMBER_OR_NULL = {"type": ["number", "null"]}  # a value that does not exist is null (`write_json`)
COUNT = {"type": "integer", "minimum": 0}  # an integer-valued float counts too (JSON Schema's integer)
POSITIVE = {"type": "integer", "minimum": 1}
RATE = {"type": "number", "minimum": 0, "maximum": 1}  # a share
TEXT = {"type": "string"}


def record(optional: dict | None = None, **properties: dict) -> dict:
    """An object with these properties, each required, and those of `optional` where present (others may be there)."""
    return {"type": "object", "required": list(properties), "properties": {**(optional or {}), **properties}}


def listing(items: dict, min_items: int = 1) -> dict:
    """An array of `items`, at least `min_items` of them."""
    return {"type": "array", "items": items, "minItems": min_items}


def mapping(values: dict) -> dict:
    """An object whose every value is one of `values`."""
    return {"type": "object", "additionalProperties": values}


def when(key: str, value: str, then: dict) -> dict:
    """`then` applies to an object whose `key` is `value` (a row's own fields)."""
    return {"if": {"properties": {key: {"const": value}}, "required": [key]}, "then": then}


JUDGE = record(judge=TEXT, package=TEXT, version=TEXT)  # what `handflow.judges` records of a judge


def write_json(path: Path | str, data: Any) -> None:
    """Every JSON file a stage writes: indented, atomic, and never a NaN or inf (`allow_nan=False`: a missing value is null)."""
    atomic_write_text(path, json.dumps(data, indent=2, allow_nan=False))


def read_json(path: Path | str, schema: dict | None = None) -> Any:
    """A JSON file's value; with `schema` (JSON Schema), only one in the form it declares (`check_schema`) and without
    NaN or Infinity."""
    try:
        data = json.loads(Path(path).read_text(), parse_constant=_refused if schema is not None else None)
    except FileNotFoundError:
        raise InputError(path, None, "file not found") from None
    except json.JSONDecodeError as exc:
        raise InputError(path, f"line {exc.lineno}", f"invalid JSON: {exc.msg}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, None, f"unreadable ({exc.__class__.__name__})") from None
    except ValueError as exc:  # `_refused`
        raise InputError(path, None, str(exc)) from None
    if schema is not None:
        check_schema(data, schema, path)
    return data


def _refused(constant: str) -> None:
    """NaN and Infinity, which Python's JSON reads but `write_json` never writes (a missing value is null)."""
    raise ValueError(f"{constant} in a results file (a value that does not exist is null)")


def check_schema(data: Any, schema: dict, source: Path | str) -> None:
    """`data` must have the form `schema` declares (what the reader goes on to read: the stage reading a results file
    declares the fields it uses); the most relevant departure is one line naming its place in the document."""
    import jsonschema  # imported when needed: most stages read no results file

    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(data))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or None
        message = " ".join(error.message.split())
        raise InputError(source, where, message if len(message) <= 200 else message[:197] + "...")


def gather(paths: Iterable[Path | str], key: str, required: Iterable[str], schema: dict | None = None) -> dict[str, dict]:
    """JSON objects by the value of their field `key` (e.g. evaluations by variant), each in the form `schema` declares;
    each of `required` must be there."""
    paths = list(paths)
    found = {}
    for path in paths:
        data = read_json(path, schema)
        if not isinstance(data, dict) or not isinstance(data.get(key), str):
            raise InputError(path, key, "missing (or not text)")
        found[data[key]] = data
    missing = sorted(set(required) - set(found))
    if missing:
        raise InputError(paths[0] if paths else "<no inputs>", key, f"no file for {', '.join(missing)} among the inputs")
    return found
