"""Draining: from the first shutdown signal, /ready answers 503 ``{"draining": true}`` while requests are still
served, so a load balancer stops sending new ones before the server stops accepting them.

Under ``gateway serve`` (uvicorn) with ``shutdown_drain_s`` > 0, the lifespan wraps uvicorn's SIGTERM / SIGINT
handlers: the first signal starts the drain, and uvicorn's own handler runs ``shutdown_drain_s`` later (stop
accepting, wait up to ``shutdown_timeout_s`` for requests in flight, then the lifespan's exit closes the store
clients). A second signal hands over at once. Each worker process drains on its own (uvicorn's supervisor sends
each one SIGTERM). Whatever the setting, the lifespan's exit marks the app draining too.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

log = logging.getLogger(__name__)

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Drain:
    """Whether this process is draining (``/ready`` answers 503); set once by the first shutdown signal."""

    def __init__(self) -> None:
        self.active = False

    def begin(self) -> None:
        self.active = True


def hook_signals(drain: Drain, seconds: float) -> Callable[[], None]:
    """Put the drain in front of the current SIGINT / SIGTERM handlers (the server's); returns the undo.

    Does nothing off the main thread (signals are delivered there only) or when ``seconds`` is 0.
    """
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        return lambda: None
    loop = asyncio.get_running_loop()
    previous: dict[int, Any] = {sig: signal.getsignal(sig) for sig in SIGNALS}
    handed_over = False

    def hand_over(sig: int) -> None:
        nonlocal handed_over
        if handed_over:
            return
        handed_over = True
        handler = previous[sig]
        if callable(handler):
            handler(sig, None)
        else:  # no server handler (SIG_DFL): behave as if the drain had not been there
            signal.signal(sig, handler)
            signal.raise_signal(sig)

    def on_signal(sig: int, frame: FrameType | None) -> None:
        if drain.active:  # the second signal: stop draining now
            loop.call_soon_threadsafe(hand_over, sig)
            return
        drain.begin()
        loop.call_soon_threadsafe(_started, seconds)
        loop.call_soon_threadsafe(loop.call_later, seconds, hand_over, sig)

    for sig in SIGNALS:
        signal.signal(sig, on_signal)

    def undo() -> None:
        for sig, handler in previous.items():
            if signal.getsignal(sig) is on_signal:
                signal.signal(sig, handler)

    return undo


def _started(seconds: float) -> None:  # logged from the loop, not from inside the signal handler
    log.info("draining: /ready answers 503 for %gs, then the server stops accepting connections", seconds)
