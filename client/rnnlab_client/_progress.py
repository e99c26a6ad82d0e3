"""The progress bar of ``wait(progress=True)``: tqdm, imported only when a bar is asked for.

tqdm is an optional extra (``pip install 'rnnlab-client[progress]'``), so importing the
client never needs it, and ``tqdm.auto`` draws a widget in a notebook and text on a
terminal (on stderr, out of the way of anything printed on stdout).
"""

from __future__ import annotations

import math
from typing import Any, Protocol

from rnnlab_client.models import JobState

__all__ = ["Bar", "progress_bar"]


class Bar(Protocol):
    def show(self, state: JobState) -> None: ...

    def close(self) -> None: ...


class _NoBar:
    def show(self, state: JobState) -> None:
        pass

    def close(self) -> None:
        pass


class _TqdmBar:
    """A bar whose total is the job's iterations and whose postfix is its status and loss."""

    def __init__(self, state: JobState, tqdm: Any) -> None:
        self._bar = tqdm(
            total=state.progress.iterations or None,
            desc=f"job {state.id}",
            unit="it",
            dynamic_ncols=True,
        )
        self.show(state)

    def show(self, state: JobState) -> None:
        progress = state.progress
        if progress.iterations and self._bar.total != progress.iterations:
            self._bar.total = progress.iterations
        loss = "" if math.isnan(progress.loss) else f"{progress.loss:.4g}"
        postfix = f"{state.status} loss={loss}" if loss else state.status
        # Events come about five times a second: each one is drawn (tqdm's own rate limit
        # would hide a short job's progress and its final status).
        self._bar.n = progress.iteration
        self._bar.set_postfix_str(postfix, refresh=True)

    def close(self) -> None:
        self._bar.close()


def progress_bar(enabled: bool, state: JobState) -> Bar:
    """A tqdm bar for ``state``'s job when ``enabled``, else one that shows nothing.

    ImportError, saying what to install, when a bar is asked for without tqdm.
    """
    if not enabled:
        return _NoBar()
    try:
        from tqdm.auto import tqdm
    except ImportError as exc:
        raise ImportError(
            "progress=True draws a tqdm bar: pip install 'rnnlab-client[progress]'"
        ) from exc
    return _TqdmBar(state, tqdm)
