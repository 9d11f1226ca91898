"""What every results file and every MLflow run of a paper records about how it was made, defined once per paper.

A paper's vocabulary module (`papers/<paper>/variants.py`, torch-free) holds its
`Provenance`; the stage frame writes it into the results (`Stage.provenance`) and tags the
paper's MLflow runs with the same fields, and the paper's rules declare its `params()` on
every rule that writes a results file, so a changed value reruns them. Shared stages and
the papers that read InterHand2.6M use `GLOBAL`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Field:
    """One recorded field: the value of params `key` (shown by `show`), or a `fixed` text when nothing in params decides it."""

    name: str
    key: str | None = None
    fixed: str | None = None
    show: Callable[[Any], str] = str


@dataclass(frozen=True)
class Provenance:
    fields: tuple[Field, ...]

    def params(self) -> tuple[str, ...]:
        """The params keys the fields read (what a rule writing a results file declares)."""
        return tuple(f.key for f in self.fields if f.key is not None)

    def of(self, get: Callable[[str], Any]) -> dict[str, str]:
        """The fields' values, reading params through `get` (the stage's recorded read, or an unrecorded peek for tags)."""
        return {f.name: f.fixed if f.key is None else f.show(get(f.key)) for f in self.fields}


GLOBAL = Provenance(
    (
        Field("data_source", "global.data_source"),
        Field("scale", "global.scale"),
        Field("seed", "global.seed"),
        Field("hand_model", "global.hand_model"),
    )
)
