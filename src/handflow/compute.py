"""Where a stage's torch work runs and at what precision: params `global.device` and `global.precision`.

One small value passed down from the stage frame (`Stage.compute`), not a process global, so a
function that samples or trains says in its signature that it honours both. Precision is
autocast, torch's own mixed precision: matrix products and convolutions in bfloat16,
reductions, losses and everything in float64 (APG's hand geometry) untouched. It wraps forward
passes and losses only (torch's advice: never the backward pass). fp32 enters no context at all,
so fp32 results are the bytes they were before precision existed.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Literal

import torch

Precision = Literal["fp32", "bf16"]


@dataclass(frozen=True)
class Compute:
    """A torch device and a precision; `autocast()` is the context forward passes run in."""

    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    precision: Precision = "fp32"

    def autocast(self) -> contextlib.AbstractContextManager:
        """bf16: `torch.autocast` on this device's type; fp32: nothing (so fp32 bytes never change)."""
        if self.precision == "fp32":
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=torch.bfloat16)

    def describe(self) -> str:
        return f"{self.device} {self.precision}"


CPU = Compute()
