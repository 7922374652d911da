"""Shared fixtures: ONE tiny-random backend per session, and one launched app over it (CPU, seconds)."""

from __future__ import annotations

import os
import socket
from collections.abc import Generator, Iterator
from typing import Any

import pytest

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
