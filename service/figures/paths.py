"""Training paths for display: finite, thinned to what can be seen, framed.

A job's path may hold millions of iterations and end at ±inf when it diverged. Whatever
shows it, a figure or a page, needs a few thousand points at most: ``picked`` chooses them
(evenly spread, both ends kept) and ``thinned`` applies that choice. This is the one home
of thinning: the figures (``MAX_DRAWN_POINTS``), a job's trajectory and ``POST /runs``
with ``max_points`` all use it, so a path looks the same wherever it is drawn. A figure's
two panels are framed around the paths: an overview that holds them, a zoom on where
they end.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from core.training import Trajectory
from core.window import Window

__all__ = ["MAX_DRAWN_POINTS", "Path", "drawable", "job_windows", "picked", "thinned"]

MAX_DRAWN_POINTS = 5000


class Path(Protocol):
    """`core.training.Trajectory`: the weights after each iteration."""

    @property
    def wx(self) -> NDArray[np.float64]: ...
    @property
    def wrec(self) -> NDArray[np.float64]: ...


def picked(size: int, max_points: int = MAX_DRAWN_POINTS) -> NDArray[np.int64]:
    """At most ``max_points`` indices of ``range(size)``, evenly spread, both ends kept.

    Index i is ``floor(i * (size - 1) / (max_points - 1))``: deterministic, so a client
    that knows ``size`` and ``max_points`` knows which iterations it was sent. All of
    ``range(size)`` when it is no longer than ``max_points``.
    """
    if max_points < 2:
        raise ValueError(f"max_points must be at least 2 (both ends), got {max_points}")
    if size <= max_points:
        return np.arange(size, dtype=np.int64)
    return np.linspace(0, size - 1, max_points).astype(np.int64)


def thinned(path: Trajectory, max_points: int = MAX_DRAWN_POINTS) -> Trajectory:
    """The path with at most ``max_points`` points: what a drawing can show, small enough
    to send to the process that draws it or to a browser."""
    if path.wx.size <= max_points:
        return path
    idx = picked(path.wx.size, max_points)
    return Trajectory(path.wx[idx], path.wrec[idx], path.loss[idx])


def drawable(path: Path) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The path's finite points, thinned: what a figure plots."""
    wx = np.asarray(path.wx, dtype=np.float64)
    wrec = np.asarray(path.wrec, dtype=np.float64)
    keep = np.isfinite(wx) & np.isfinite(wrec)
    wx, wrec = wx[keep], wrec[keep]
    if wx.size > MAX_DRAWN_POINTS:
        idx = picked(wx.size)
        wx, wrec = wx[idx], wrec[idx]
    return wx, wrec


def job_windows(trajectories: Sequence[Path], resolution: int) -> tuple[Window, Window]:
    """Overview and zoom windows for a job figure.

    Overview: the tutorial's [-3, 3] square grown to hold every path (capped at ±50).
    Zoom: the final points (held inside the overview) with a margin of at least 1, as the
    tutorial's [0, 2] around (1, 1). Each is sampled on resolution x resolution points.
    """
    n = resolution
    paths = [drawable(p) for p in trajectories]
    paths = [(wx, wrec) for wx, wrec in paths if wx.size]
    if not paths:
        return Window(-3, 3, -3, 3, n, n), Window(-0.1, 2.1, -0.1, 2.1, n, n)
    all_wx = np.concatenate([wx for wx, _ in paths])
    all_wrec = np.concatenate([wrec for _, wrec in paths])

    def grow(lo: float, hi: float) -> tuple[float, float]:
        lo, hi = max(min(lo, -3.0), -50.0), min(max(hi, 3.0), 50.0)
        margin = 0.03 * (hi - lo)
        return lo - margin if lo < -3 else lo, hi + margin if hi > 3 else hi

    ox = grow(float(all_wx.min()), float(all_wx.max()))
    oy = grow(float(all_wrec.min()), float(all_wrec.max()))
    # A run that diverged ends far outside the overview: zoom on where it left it.
    ends = [_last_inside(wx, wrec, ox, oy) for wx, wrec in paths]
    final_wx = np.array([x for x, _ in ends])
    final_wrec = np.array([y for _, y in ends])
    half = max(1.0, 0.6 * float(np.ptp(final_wx)), 0.6 * float(np.ptp(final_wrec)))
    cx = float(final_wx.min() + final_wx.max()) / 2
    cy = float(final_wrec.min() + final_wrec.max()) / 2
    return Window(*ox, *oy, n, n), Window(cx - half, cx + half, cy - half, cy + half, n, n)


def _last_inside(
    wx: NDArray[np.float64],
    wrec: NDArray[np.float64],
    wx_range: tuple[float, float],
    wrec_range: tuple[float, float],
) -> tuple[float, float]:
    """The last point of a path inside the window (its start if it never was)."""
    inside_wx = (wx >= wx_range[0]) & (wx <= wx_range[1])
    inside = inside_wx & (wrec >= wrec_range[0]) & (wrec <= wrec_range[1])
    index = int(np.flatnonzero(inside)[-1]) if inside.any() else 0
    return float(np.clip(wx[index], *wx_range)), float(np.clip(wrec[index], *wrec_range))
