"""The gradient the plain optimiser loops take: BPTT on the tutorial's dataset."""

from __future__ import annotations

from core.bptt import gradient
from core.datasets import tutorial_dataset

_TUTORIAL = tutorial_dataset()


def bptt_grad(wx: float, wrec: float) -> tuple[float, float]:
    """(dξ/dwx, dξ/dwrec) at (wx, wrec), by the reference path."""
    g = gradient(_TUTORIAL, wx, wrec)
    return g.wx, g.wrec
