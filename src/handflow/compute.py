"""Where a stage's torch work runs and how: params `global.device`, `global.precision` and `global.compile`.

One small value passed down from the stage frame (`Stage.compute`), not a process global, so a
function that samples or trains says in its signature that it honours both. Precision is
autocast, torch's own mixed precision: matrix products and convolutions in bfloat16,
reductions, losses and everything in float64 (APG's hand geometry) untouched. It wraps forward
passes and losses only (torch's advice: never the backward pass). fp32 enters no context at all,
so fp32 results are the bytes they were before precision existed.

`Compute.prepare` is what every stage does to a network before it trains or samples with it:
the device; channels-last memory on a GPU for networks with 2-D convolutions (cuDNN's
tensor-core kernels take NHWC, and PyTorch's and diffusers' performance guides advise it;
`benchmarks/bench_gpu.py` measures DIGIT both ways, so a GPU session can confirm it pays);
and, with `global.compile`, `torch.compile` in place (`nn.Module.compile`, so the state dict
keeps its keys and checkpoints stay interchangeable). Every paper's training network compiles
as one graph (tests/test_trainer_contract.py); compiling costs start-up time and changes rounding, so it
is off unless asked for. On the CPU without compile, `prepare` only moves the network: bytes
never change.
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
    compile: bool = False

    def autocast(self) -> contextlib.AbstractContextManager:
        """bf16: `torch.autocast` on this device's type; fp32: nothing (so fp32 bytes never change)."""
        if self.precision == "fp32":
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=torch.bfloat16)

    @property
    def channels_last(self) -> bool:
        """NHWC for convolutional networks: on a GPU only (on the CPU it would change the bytes for no measured gain)."""
        return self.device.type == "cuda"

    def prepare(self, model: torch.nn.Module) -> torch.nn.Module:
        """`model` on the device, channels-last if it convolves there, compiled in place if asked; the same module, returned."""
        model.to(self.device)
        if self.channels_last and any(isinstance(m, torch.nn.Conv2d) for m in model.modules()):
            model.to(memory_format=torch.channels_last)
        if self.compile:
            model.compile()
        return model

    def describe(self) -> str:
        return f"{self.device} {self.precision}{' compiled' if self.compile else ''}"


CPU = Compute()
