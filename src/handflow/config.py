"""Typed config sections: one style for every params block and every checkpoint's saved config.

A section is a frozen dataclass that also derives from `Section`. It is built from a
params subtree (`TrainConfig.from_params(params, "interhandgen.train")`) or from the
dict a checkpoint saved (`DenoiserConfig.from_dict(ckpt["config"], source=path)`), and
`to_dict()` gives back plain JSON values. Types come from the annotations, so YAML lists
become tuples, nested sections and `dict[str, Section]` are built recursively, and an
unknown or missing key is one `InputError` naming the source and the dotted key.

Why not `dacite` or pydantic: the conversions needed are these few, and an error must
name the params file and key in our one-line format; the schema already validated the
values' types when params were loaded.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from pathlib import Path
from typing import Any, ClassVar, Protocol, Self, TypeVar

from handflow.errors import InputError

S = TypeVar("S", bound="Section")


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _convert(tp: Any, value: Any, source: str, key: str) -> Any:  # noqa: PLR0911 (one return per kind of type)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        return _convert(next(a for a in args if a is not type(None)), value, source, key)
    if isinstance(tp, type) and issubclass(tp, Section):
        if not isinstance(value, dict):
            raise InputError(source, key, f"expected a mapping, got {type(value).__name__}")
        return tp.from_dict(value, source, key)
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise InputError(source, key, f"expected a list, got {type(value).__name__}")
        item = args[0] if args else Any
        return tuple(_convert(item, v, source, f"{key}[{i}]") for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            raise InputError(source, key, f"expected a mapping, got {type(value).__name__}")
        return {k: _convert(args[1], v, source, f"{key}.{k}") for k, v in value.items()}
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, Section):
        return value.to_dict()
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


class Section:
    """Mixin for frozen dataclasses built from params or a checkpoint (see the module docstring)."""

    __dataclass_fields__: ClassVar[dict]

    @classmethod
    def from_dict(cls, data: dict, source: Path | str = "<config>", prefix: str = "", **extra: Any) -> Self:
        """The section of `data` plus `extra` fields (those not in params, e.g. a network's input size)."""
        fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
        where = lambda name: f"{prefix}.{name}" if prefix else name  # noqa: E731
        unknown = sorted(set(data) - set(fields))
        if unknown:
            raise InputError(source, where(unknown[0]), f"unknown key for {cls.__name__}")
        values = {}
        hints = _hints(cls)
        for name, f in fields.items():
            if name in extra:
                values[name] = extra[name]
            elif name in data:
                values[name] = _convert(hints[name], data[name], str(source), where(name))
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise InputError(source, where(name), f"missing (needed by {cls.__name__})")
        return cls(**values)

    @classmethod
    def from_params(cls, params: Any, key: str, **extra: Any) -> Self:
        """The section at dotted `key` of a `handflow.params.Params` (the read is recorded there)."""
        return cls.from_dict(params.get(key), params.source_of(key), key.partition(".")[2], **extra)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}  # type: ignore[arg-type]


class ParamsReader(Protocol):
    """How a paper's module reads params when a command hands it the choice of sections (the stage: every read recorded)."""

    def get(self, key: str) -> Any: ...

    def section(self, cls: type[S], key: str, **extra: Any) -> S: ...

    def source_of(self, key: str) -> Path | str: ...
