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
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from handflow.errors import InputError

SCALES = ("smoke", "demo", "cpu", "gpu", "paper")  # params/scales/<scale>.yaml; the global schema's enum (tests/test_params.py)
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser when PyYAML has it: same result, faster


def schema_dir(project_root: Path) -> Path:
    return project_root / "workflow" / "schemas"


@functools.cache
def _load_schema(path: Path) -> dict:
    return yaml.load(path.read_text(), Loader=_LOADER)


def _partial(schema: Any) -> Any:
    """The schema with every `required` dropped: what a scale file may override."""
    if isinstance(schema, dict):
        return {k: _partial(v) for k, v in schema.items() if k not in ("required", "oneOf")}
    if isinstance(schema, list):
        return [_partial(v) for v in schema]
    return schema


def _read_yaml(path: Path) -> dict:
    try:
        data = yaml.load(path.read_text(), Loader=_LOADER)
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
    import jsonschema  # imported when needed: a no-op run with unchanged params never validates

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
    # Every dotted key `get` was asked for: a stage may read only what its rule declares (see handflow.stage).
    reads: set[str] = field(default_factory=set, compare=False)

    @property
    def scale(self) -> str:
        return self.values["global"]["scale"]

    def peek(self, dotted: str) -> Any:
        """The value at `dotted`, not recorded as read (run metadata such as MLflow tags)."""
        node: Any = self.values
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                raise KeyError(f"no params key {dotted!r}")
            node = node[part]
        return node

    def get(self, dotted: str) -> Any:
        value = self.peek(dotted)
        self.reads.add(dotted)
        return value

    def source_of(self, dotted: str) -> Path:
        """The params file a key lives in (the scale file may override it: both are named in errors by this one)."""
        return self.files[dotted.partition(".")[0]]

    def subset(self, *dotted: str) -> dict[str, Any]:
        return {key: self.get(key) for key in dotted}


class DeclaredParams(dict):
    """The params keys a rule declares (`par(...)` in the rules): dotted key -> canonical JSON value.

    A type of its own so that `handflow pipeline dvc-yaml` turns exactly these, and no other
    dict-valued rule param, into DVC `params:`.
    """


def load_params(root: Path | str = ".", valid_cache: Path | None = None) -> Params:
    """Load and validate params/ under the project root `root`.

    `valid_cache`: a file remembering the digest of the last params and schemas that
    validated, so an unchanged tree is not validated again (the Snakefile passes one: with
    jsonschema's import, validation is a tenth of a no-op run). The digest covers every file
    read and this module's own source, so any change validates afresh.
    """
    root = Path(root)
    pdir, sdir = root / "params", schema_dir(root)
    files = {p.stem.removesuffix(".schema"): p for p in sorted(sdir.glob("*.schema.yaml"))}
    if "global" not in files:
        raise InputError(sdir, None, "no global.schema.yaml")
    for extra in sorted(pdir.glob("*.yaml")):
        if extra.stem not in files:
            raise InputError(extra, None, f"no schema for this params file (expected {sdir}/{extra.stem}.schema.yaml)")
    values, sources, checks = {}, {}, []
    for stem, schema_path in files.items():
        path = pdir / f"{stem}.yaml"
        if not path.exists() and stem != "global":
            continue
        values[stem], sources[stem] = _read_yaml(path), path
        checks.append((values[stem], schema_path, False, path))
    scale = values["global"].get("scale")
    scale_path = pdir / "scales" / f"{scale}.yaml"
    overrides = _read_yaml(scale_path) if scale in SCALES else {}
    for stem, tree in overrides.items():
        if stem in files and stem != "global":
            checks.append((tree, files[stem], True, scale_path))
    digest = _digest([Path(__file__), *files.values(), *sources.values(), scale_path])
    if valid_cache is None or not valid_cache.is_file() or valid_cache.read_text() != digest:
        for data, schema_path, _, path in checks[: len(sources)]:
            _validate(data, _load_schema(schema_path), path)
        for stem in overrides:
            if stem not in values:
                raise InputError(scale_path, stem, "unknown key (not a params file)")
            if stem == "global":
                raise InputError(scale_path, stem, "a scale may not override global switches")
        for data, schema_path, _, path in checks[len(sources) :]:
            _validate(data, _partial(_load_schema(schema_path)), path)
        if valid_cache is not None:
            valid_cache.parent.mkdir(parents=True, exist_ok=True)
            valid_cache.write_text(digest)
    for stem, tree in overrides.items():
        values[stem] = _deep_merge(values[stem], tree)
    return Params(values, root, sources)


def scale_keys(root: Path | str = ".") -> dict[Path, frozenset[str]]:
    """Each scale file in params/scales/ -> the dotted leaf keys it sets, whichever scale is in use.

    For dvc.yaml (handflow.pipeline.dvcgen), which must name every scale's file: one generated at one scale would not
    see a later edit of another's.
    """
    sdir = Path(root) / "params" / "scales"
    return {sdir / f"{s}.yaml": frozenset(_leaf_keys(_read_yaml(sdir / f"{s}.yaml"))) for s in SCALES if (sdir / f"{s}.yaml").is_file()}


def _digest(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for path in paths:
        h.update(str(path).encode() + b"\0" + (path.read_bytes() if path.is_file() else b"<missing>") + b"\0")
    return h.hexdigest()
