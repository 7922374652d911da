"""The training data stream: step i's batch of emoji-world scenes, rendered inline or ahead in worker processes.

A batch is a pure function of (stage, step, seed) (`common.batch_seed`), so rendering it in another process, ahead
of time, changes nothing: `workers=2` gives exactly the tensors `workers=0` gives, and a resumed run replays the
same stream. On 2 CPU cores the model's own step dominates (rendering 16 scenes at 64 px is about 3% of a decoder
step), so the default there is inline. On a GPU the step takes tens of milliseconds and rendering 128 scenes on one
core takes about as long again, so the loop would wait for the CPU: there `workers` processes render ahead.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from unclip.images import to_tensor
from unclip.train.common import TrainArgs, batch_seed
from unclip.world import EmojiWorld


def auto_workers(device: torch.device) -> int:
    """0 on CPU (the step itself needs the cores); on an accelerator all but two cores, at most 8."""
    return 0 if device.type == "cpu" else max(0, min(8, (os.cpu_count() or 1) - 2))


class _Steps(Dataset):
    """Item k = the uint8 batch of step start + k: (step, images (B, size, size, 3), captions)."""

    def __init__(self, world: EmojiWorld, args: TrainArgs, size: int, start: int):
        self.world, self.args, self.size, self.start = world, args, size, start

    def __len__(self) -> int:
        return max(0, self.args.steps - self.start)

    def __getitem__(self, k: int) -> tuple[int, Tensor, list[str]]:
        step = self.start + k
        images, captions, _ = self.world.batch(self.args.batch, batch_seed(self.args.stage, step, self.args.seed),
                                               size=self.size)
        return step, torch.from_numpy(images), list(captions)


def _ignore_interrupts(worker: int) -> None:
    """A rendering process leaves Ctrl-C to the trainer, which finishes its step and saves a checkpoint (the
    batches it will still ask for must keep coming: a worker that quit on the signal broke the stream)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class Scenes:
    """`scenes(step) -> (images (B, 3, size, size) in [-1, 1] on device, captions)` for one stage.

    With workers > 0 the steps from the first one asked for are rendered ahead, in order; asking for any other
    step than the next (a resume, a test replaying one batch) starts the stream again from there.
    """

    def __init__(self, world: EmojiWorld, args: TrainArgs, size: int, device: torch.device):
        self.world, self.args, self.size, self.device = world, args, size, device
        self.workers = auto_workers(device) if args.workers < 0 else args.workers
        self._stream: Iterator | None = None
        self._next = -1

    def __call__(self, step: int) -> tuple[Tensor, list[str]]:
        if self.workers == 0:
            _, images, captions = _Steps(self.world, self.args, self.size, step)[0]
        else:
            if self._stream is None or step != self._next:
                self._stream = iter(DataLoader(_Steps(self.world, self.args, self.size, step), batch_size=None,
                                               num_workers=self.workers, prefetch_factor=4,
                                               pin_memory=self.device.type == "cuda",
                                               worker_init_fn=_ignore_interrupts))
            got, images, captions = next(self._stream)
            assert got == step, f"data stream out of order: wanted step {step}, got {got}"  # internal invariant
            self._next = step + 1
        return to_tensor(images.numpy()).to(self.device, non_blocking=True), captions
