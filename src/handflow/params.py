"""The params/ tree: loading, validation against workflow/schemas, scale overrides.

Layout: `params/global.yaml` (switches), one `params/<name>.yaml` per stage family
(`data`, later one per paper), and `params/scales/<scale>.yaml` whose top-level keys
name those files and override sizes and counts only. Values are addressed by
dotted paths whose first part is the file: `data.embedded.n_cameras`.

Both drivers go through here: the Snakefile validates at load time, and every
`python -m handflow` command loads the same files, so `dvc repro` validates too.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from handflow.errors import InputError

SCALES = ("smoke", "demo", "paper")


def schema_dir(project_root: Path) -> Path:
    return project_root / "workflow" / "schemas"


@functools.cache
def _load_schema(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def _partial(schema: Any) -> Any:
    """The schema with every `required` dropped: what a scale file may override."""
    if isinstance(schema, dict):
        return {k: _partial(v) for k, v in schema.items() if k not in ("required", "oneOf")}
    if isinstance(schema, list):
        return [_partial(v) for v in schema]
    return schema


def _read_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise InputError(path, None, "file not found") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else None
        raise InputError(path, where, f"invalid YAML: {getattr(exc, 'problem', exc)}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError(path, None, f"expected a mapping at the top level, got {type(data).__name__}")
    return data


def _validate(data: dict, schema: dict, source: Path) -> None:
    """Raise one InputError naming the first offending key (unknown keys first)."""
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(data), key=lambda e: (e.validator != "additionalProperties", list(e.path)))
    if not errors:
        return
    err = errors[0]
    path = ".".join(str(p) for p in err.absolute_path)
    if err.validator == "additionalProperties":
        extra = sorted(set(err.instance) - set(err.schema.get("properties", {})))
        key = ".".join(filter(None, [path, extra[0] if extra else ""]))
        raise InputError(source, key, "unknown key")
    if err.validator == "required":
        missing = err.message.split("'")[1] if "'" in err.message else err.message
        raise InputError(source, ".".join(filter(None, [path, missing])), "missing")
    raise InputError(source, path or None, err.message)


def _deep_merge(base: dict, override: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _leaf_keys(tree: dict, prefix: str = "") -> set[str]:
    keys = set()
    for key, value in tree.items():
        path = f"{prefix}{key}"
        keys |= _leaf_keys(value, path + ".") if isinstance(value, dict) and value else {path}
    return keys


@dataclass(frozen=True)
class Params:
    """Validated, merged values plus where each value came from (for DVC's `params:`)."""

    values: dict
    root: Path
    files: dict[str, Path]  # file stem -> params file
    scale_file: Path
    scale_keys: frozenset[str] = field(default_factory=frozenset)  # dotted leaf keys the scale file sets

    @property
    def scale(self) -> str:
        return self.values["global"]["scale"]

    def get(self, dotted: str) -> Any:
        node: Any = self.values
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                raise KeyError(f"no params key {dotted!r}")
            node = node[part]
        return node

    def subset(self, *dotted: str) -> dict[str, Any]:
        return {key: self.get(key) for key in dotted}

    def dvc_params(self, *dotted: str) -> list[dict[str, list[str]]]:
        """DVC `params:` entries for the given keys: the base file and, where set, the scale file."""
        per_file: dict[str, list[str]] = {}
        for key in dotted:
            stem, _, rest = key.partition(".")
            rel = str(self.files[stem].relative_to(self.root))
            per_file.setdefault(rel, []).append(rest or stem)
            if any(k == key or k.startswith(key + ".") for k in self.scale_keys):
                per_file.setdefault(str(self.scale_file.relative_to(self.root)), []).append(key)
        return [{f: sorted(set(keys))} for f, keys in per_file.items()]


def load_params(root: Path | str = ".") -> Params:
    """Load and validate params/ under the project root `root`."""
    root = Path(root)
    pdir, sdir = root / "params", schema_dir(root)
    files = {p.stem.removesuffix(".schema"): p for p in sorted(sdir.glob("*.schema.yaml"))}
    if "global" not in files:
        raise InputError(sdir, None, "no global.schema.yaml")
    values, sources = {}, {}
    for stem, schema_path in files.items():
        path = pdir / f"{stem}.yaml"
        if not path.exists() and stem != "global":
            continue
        data = _read_yaml(path)
        _validate(data, _load_schema(schema_path), path)
        values[stem], sources[stem] = data, path
    for extra in sorted(pdir.glob("*.yaml")):
        if extra.stem not in files:
            raise InputError(extra, None, f"no schema for this params file (expected {sdir}/{extra.stem}.schema.yaml)")
    scale = values["global"]["scale"]
    scale_path = pdir / "scales" / f"{scale}.yaml"
    overrides = _read_yaml(scale_path)
    for stem, tree in overrides.items():
        if stem not in values:
            raise InputError(scale_path, stem, "unknown key (not a params file)")
        if stem == "global":
            raise InputError(scale_path, stem, "a scale may not override global switches")
        _validate(tree, _partial(_load_schema(files[stem])), scale_path)
        values[stem] = _deep_merge(values[stem], tree)
    return Params(values, root, sources, scale_path, frozenset(_leaf_keys(overrides)))


def package_root() -> Path:
    """The project root when running from a source checkout (src/handflow -> ..)."""
    return Path(str(resources.files("handflow"))).parents[1]
