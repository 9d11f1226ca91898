"""DIGIT's training batches, the next one decoded in threads while the device runs the current step.

Why not torch's `DataLoader` with workers: the batch indices come from the trainer's
generator, which checkpoints save, and a loader that draws ahead would change what a resumed
run sees. Here the next batch's indices are read from a copy of the generator (the generator
itself advances only when the step draws them), a sample is a function of (seed, epoch,
index) alone (`DigitSamples.sample`), and OpenCV's decode and warp release the GIL, so
threads decode in parallel without handing LMDB handles to worker processes. The batches are
the same for any thread count, so the trained bytes are too; on cuda they are copied from
pinned memory without blocking.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

import torch

from handflow.papers.digit.dataset import DigitSamples


class BatchLoader:
    """Batches of `batch_size` samples drawn with replacement; `threads` 0 decodes in the training loop itself."""

    def __init__(self, data: DigitSamples, batch_size: int, steps: int, threads: int, device: torch.device) -> None:
        self.data, self.batch, self.steps, self.device = data, min(batch_size, len(data)), steps, device
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="digit-loader") if threads else None
        self.pin = device.type == "cuda"
        self.ahead: tuple[int, list[int], list[Future]] | None = None

    def _epoch(self, step: int) -> int:
        """The pass over the data that step `step` is in: each pass draws its own augmentations."""
        return step * self.batch // len(self.data)

    def _draw(self, generator: torch.Generator) -> list[int]:
        return torch.randint(0, len(self.data), (self.batch,), generator=generator).tolist()

    def _submit(self, step: int, idx: list[int]) -> list[Future]:
        assert self.pool is not None
        epoch = self._epoch(step)
        return [self.pool.submit(self.data.sample, i, epoch) for i in idx]

    def batch_at(self, step: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
        """The batch of step `step` (steps done so far), its indices drawn from `generator`, on the device."""
        idx = self._draw(generator)
        if self.ahead is not None and self.ahead[:2] == (step, idx):
            samples = [f.result() for f in self.ahead[2]]
        elif self.pool is not None:
            samples = [f.result() for f in self._submit(step, idx)]
        else:
            samples = [self.data.sample(i, self._epoch(step)) for i in idx]
        self.ahead = None
        if self.pool is not None and step + 1 < self.steps:
            peek = torch.Generator()
            peek.set_state(generator.get_state())
            following = self._draw(peek)
            self.ahead = (step + 1, following, self._submit(step + 1, following))
        batch = torch.utils.data.default_collate(samples)
        return {k: (v.pin_memory() if self.pin else v).to(self.device, non_blocking=self.pin) for k, v in batch.items()}
