"""Loss and gradients at many weights: the fast path where it vouches, the reference elsewhere.

The training loop's source of numbers: every value it gets is the value BPTT (or the
forward pass) would give, to RTOL or better, whichever path computed it.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from core.bptt import gradient
from core.datasets import Dataset
from core.fastpath.bounds import RTOL
from core.fastpath.cache import fast_width, statistics
from core.fastpath.evaluate import evaluate, gradient_at
from core.fastpath.rows import settle_cheapest
from core.model import losses_at

__all__ = ["SIGN_RTOL", "Oracle"]

Array = NDArray[np.float64]

# Enough for a gradient's sign: a relative error below 1 cannot flip it.
SIGN_RTOL = 0.25


class Oracle:
    """Loss and gradients of one dataset at (k, 2) weights (columns wx, wrec).

    ``gradient_rtol`` is how close a fast gradient must be to count: RTOL for optimisers
    that use its size, SIGN_RTOL for those that use only its sign. ``evaluations`` is how
    many gradients the caller expects to ask for: past MAX_FAST_WIDTH the statistics are
    built only when those would cost more by BPTT (``fast_width``).
    """

    def __init__(self, dataset: Dataset, gradient_rtol: float = RTOL, evaluations: int = 1) -> None:
        self.dataset = dataset
        self.stats = statistics(dataset, max_width=fast_width(evaluations))
        self.rtol = gradient_rtol

    def gradients(self, w: Array, with_loss: bool = False) -> tuple[Array, Array | None]:
        """Gradients (k, 2) at each row of w, and the losses there if asked for."""
        if self.stats is not None and not with_loss and w.shape[0] == 1:  # the hot path
            wx, wrec = w[0].tolist()
            fast = gradient_at(self.stats, wx, wrec, self.rtol)
            if fast is not None:
                return np.array([fast]), None
        grad = np.empty_like(w)
        loss = np.empty(w.shape[0]) if with_loss else None
        unsure = np.ones(w.shape[0], dtype=bool)
        if self.stats is not None:
            ev = evaluate(self.stats, w[:, 0], w[:, 1])
            grad[:, 0], grad[:, 1] = ev.grad_wx, ev.grad_wrec
            if loss is not None:
                loss[:] = ev.loss
            unsure = ~ev.sure
        # Unsure to RTOL may still be sure to this caller's tolerance, as for one point.
        retry = self.stats if loss is None and w.shape[0] > 1 else None
        for i in np.flatnonzero(unsure):
            wx, wrec = float(w[i, 0]), float(w[i, 1])
            if retry is not None:
                fast = gradient_at(retry, wx, wrec, self.rtol)
                if fast is not None:
                    grad[i] = fast
                    continue
            g = gradient(self.dataset, wx, wrec)
            grad[i] = g.wx, g.wrec
            if loss is not None:
                loss[i] = g.loss
        return grad, loss

    def losses(self, w: Array) -> Array:
        """Loss at each row of w."""
        if self.stats is None:
            return losses_at(self.dataset, w[:, 0], w[:, 1])
        ev = evaluate(self.stats, w[:, 0], w[:, 1], with_gradient=False)
        loss = np.array(ev.loss, dtype=np.float64)
        unsure = ~ev.sure
        if unsure.any():  # exact where cheap, else the rows: O(T^2) against O(n T) a point
            loss[unsure] = settle_cheapest(self.stats, self.dataset, w[unsure, 0], w[unsure, 1])
        return loss
