"""Per-request bookkeeping that must outlive the handler: callbacks run once it is all sent.

An admission (``service.web.compute``) or an event-stream slot belongs to a request until its
response has been sent or abandoned, which only the outermost middleware knows; handlers
register what to release with ``on_request_end`` and ``RequestContextMiddleware`` runs it.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import Scope

__all__ = ["on_request_end", "run_request_end"]

_KEY = "on_request_end"


def on_request_end(scope: Scope, callback: Callable[[], None]) -> None:
    """Run ``callback`` when the request is over (response sent, failed or abandoned)."""
    scope.setdefault("state", {}).setdefault(_KEY, []).append(callback)


def run_request_end(scope: Scope) -> None:
    """Run the request's end callbacks, newest first; called once by the middleware."""
    callbacks: list[Callable[[], None]] = scope.get("state", {}).pop(_KEY, [])
    for callback in reversed(callbacks):
        callback()
