"""Shared fixtures: ONE tiny-random backend per session, and one launched app over it (CPU, seconds)."""

from __future__ import annotations

import os
import socket
from collections.abc import Generator, Iterator
from typing import Any

import pytest
import torch

from unclip import UnCLIP, load_backend

# The suite's arithmetic is the same on every host: load_backend's "auto" would pick bf16 on CPUs with AMX. This
# reaches the CLI and app subprocesses too. `UNCLIP_PRECISION=bf16 pytest` runs the suite in bf16 instead.
os.environ.setdefault("UNCLIP_PRECISION", "fp32")

# Sampling settings small enough for a request to take well under a second on 2 CPU cores.
FAST: dict[str, Any] = {"prior_steps": 2, "decoder_steps": 2, "upsampler_steps": 1}


@pytest.fixture(scope="session")
def backend() -> UnCLIP:
    return load_backend("tiny-random", device="cpu")


def events_and_result(stream: Generator[Any, None, Any]) -> tuple[list[Any], Any]:
    """Everything a stream (`generate_stream`, a stage) yields, and the value it returns."""
    events = []
    while True:
        try:
            events.append(next(stream))
        except StopIteration as stop:
            return events, stop.value


class OnMPS(torch.Tensor):
    """Stands in for a tensor on a device this machine lacks, with Apple MPS's limits: no float64, and no op that
    mixes it with a CPU tensor of more than one value (`x.as_subclass(OnMPS)`). `.to("cpu", ...)` and `.cpu()` hand
    back a plain CPU tensor, as leaving the device does."""

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):  # type: ignore[override]
        kwargs = kwargs or {}
        leaves = torch.utils._pytree.tree_leaves((args, kwargs))  # torch.cat's list too
        if func is torch.Tensor.cpu or (func is torch.Tensor.to and "cpu" in [str(v) for v in leaves[1:]]):
            with torch._C.DisableTorchFunctionSubclass():
                return func(*args, **kwargs).as_subclass(torch.Tensor)  # (a no-op .to returns self)
        tensors = [v for v in leaves if isinstance(v, torch.Tensor)]
        if any(type(v) is torch.Tensor and v.ndim > 0 for v in tensors) and any(isinstance(v, cls) for v in tensors):
            raise RuntimeError(f"{func.__name__}: expected all tensors to be on the same device, found mps and cpu")
        out = super().__torch_function__(func, types, args, kwargs)
        if any(isinstance(v, torch.Tensor) and v.dtype == torch.float64 for v in (out if isinstance(out, tuple)
                                                                                   else (out,))):  # fmt: skip
            raise TypeError(f"{func.__name__}: cannot convert a tensor to float64 on MPS (it has no float64)")
        return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def demo(backend: UnCLIP) -> Iterator[Any]:
    """The real app (app.build_demo + app.launch, same safety settings) on a free local port."""
    from app import build_demo, launch

    blocks = build_demo(backend)
    launch(blocks, host="127.0.0.1", port=free_port(), prevent_thread_lock=True, quiet=True)
    yield blocks
    blocks.close()


@pytest.fixture(scope="session")
def app_url(demo: Any) -> str:
    return demo.local_url


@pytest.fixture(scope="session")
def client(app_url: str) -> Any:
    from gradio_client import Client

    return Client(app_url, verbose=False)
