"""service.figures.paths: what of a training path a figure draws, and the windows around it."""

from __future__ import annotations

import numpy as np
import pytest

from core.training import Trajectory
from core.window import Window
from service.figures.paths import MAX_DRAWN_POINTS, drawable, job_windows, picked, thinned


def tutorial_like_path(start: tuple[float, float], end: tuple[float, float]) -> Trajectory:
    t = np.linspace(0, 1, 200)[:, None]
    points = (1 - t) * np.array(start) + t * np.array(end) + 0.1 * np.sin(9 * t)
    return Trajectory(points[:, 0], points[:, 1], np.zeros(200))


def test_job_windows_hold_the_paths_and_zoom_on_the_final_points() -> None:
    paths = [tutorial_like_path((-1.5, 2), (1.0, 1.0)), tutorial_like_path((4, -5), (1.0, 1.0))]
    overview, zoom = job_windows(paths, 50)
    assert overview.wx_min == -3
    assert overview.wx_max > 4
    assert overview.wrec_min < -5
    assert overview.wrec_max == 3
    final = paths[0].wx[-1], paths[0].wrec[-1]
    assert zoom.wx_min < final[0] < zoom.wx_max
    assert zoom.wrec_min < final[1] < zoom.wrec_max
    assert zoom.wx_max - zoom.wx_min == pytest.approx(2.0)


def test_job_windows_ignore_non_finite_steps_and_cap_the_overview() -> None:
    path = Trajectory(np.array([0.0, 1e9, np.nan]), np.array([0.0, -1e9, np.inf]), np.zeros(3))
    overview, _ = job_windows([path], 50)
    assert overview.wx_max <= 50 * 1.1
    assert overview.wrec_min >= -50 * 1.1
    assert job_windows([], 50)[0] == Window(-3, 3, -3, 3, 50, 50)


def test_a_diverged_path_zooms_inside_the_overview() -> None:
    path = Trajectory(np.array([0.0, 1e3, 1e30]), np.array([0.0, -1e3, -1e30]), np.zeros(3))
    overview, zoom = job_windows([path], 50)
    assert overview.wx_min <= zoom.wx_min < zoom.wx_max <= overview.wx_max + 1
    assert zoom.wx_max - zoom.wx_min == pytest.approx(2.0)


def test_long_paths_are_thinned_evenly_with_both_ends_kept() -> None:
    n = 1_000_003
    path = Trajectory(np.arange(n, dtype=float), -np.arange(n, dtype=float), np.ones(n))
    short = thinned(path)
    assert short.wx.size == MAX_DRAWN_POINTS
    assert (short.wx[0], short.wx[-1]) == (0.0, n - 1)
    assert np.all(np.diff(short.wx) > 0)
    assert np.array_equal(short.wrec, -short.wx)
    small = Trajectory(np.zeros(3), np.zeros(3), np.zeros(3))
    assert thinned(small) is small


def test_what_is_drawn_is_finite_and_thinned() -> None:
    wx = np.r_[np.arange(10_000.0), np.inf]
    wrec = np.r_[np.nan, np.arange(10_000.0)]
    x, y = drawable(Trajectory(wx, wrec, np.zeros(10_001)))
    assert x.size == MAX_DRAWN_POINTS
    assert np.isfinite(x).all()
    assert np.isfinite(y).all()
    assert (x[0], x[-1]) == (1.0, 9_999.0)


def test_picked_points_are_spread_evenly_and_keep_both_ends() -> None:
    assert picked(5, 10).tolist() == [0, 1, 2, 3, 4]
    assert picked(1_000_001, 11).tolist() == list(range(0, 1_000_001, 100_000))
    many = picked(10**7, 1000)
    assert many.size == 1000
    assert (many[0], many[-1]) == (0, 10**7 - 1)
    assert np.all(np.diff(many) > 0)
    with pytest.raises(ValueError, match="max_points"):
        picked(10, 1)
    path = Trajectory(np.arange(100.0), np.arange(100.0), np.arange(100.0))
    assert thinned(path, 2).wx.tolist() == [0.0, 99.0]
