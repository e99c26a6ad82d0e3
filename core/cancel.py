"""Cooperative cancellation: long loops ask ``checkpoint()`` whether their caller gave up.

Core knows nothing of HTTP clients or signals; a caller that may lose interest (a client
that disconnected, a server shutting down) runs the computation inside
``stop_when(should_stop)``, and the loops of the forward pass, BPTT, the exact fallback
and training call ``checkpoint()``, which raises ``Cancelled`` once ``should_stop()`` is
true. Outside ``stop_when`` a checkpoint costs one context-variable read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from core.errors import RnnlabError

__all__ = ["Cancelled", "checkpoint", "stop_when"]

_should_stop: ContextVar[Callable[[], bool] | None] = ContextVar("should_stop", default=None)


class Cancelled(RnnlabError):  # noqa: N818 - reads as what happened, like QueueFull
    """The caller no longer wants the result."""


def checkpoint() -> None:
    """Raise Cancelled if the computation's caller asked it to stop."""
    should_stop = _should_stop.get()
    if should_stop is not None and should_stop():
        raise Cancelled("the computation was cancelled by its caller")


@contextmanager
def stop_when(should_stop: Callable[[], bool]) -> Iterator[None]:
    """Make every ``checkpoint()`` in this context (and this thread) obey ``should_stop``."""
    token = _should_stop.set(should_stop)
    try:
        yield
    finally:
        _should_stop.reset(token)
