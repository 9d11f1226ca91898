"""The one error type a stage reports to the user: which file, which field, what is wrong."""

from __future__ import annotations

from pathlib import Path


class InputError(Exception):
    """Bad input. `str(err)` is the single line the CLI prints before exiting non-zero."""

    def __init__(self, source: Path | str, field: str | None, problem: str) -> None:
        self.source = str(source)
        self.field = field
        self.problem = problem
        where = f"{self.source}: {field}" if field else self.source
        super().__init__(f"{where}: {problem}")


class ComputationError(RuntimeError):
    """A stage's computation cannot give a valid result (NaN samples, a failed mesh boolean); never reported as a number."""
