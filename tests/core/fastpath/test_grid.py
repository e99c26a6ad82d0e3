"""core.fastpath.grid: grid losses, vouched a row at a time, exact to RTOL where vouched."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings

from core.datasets import from_sequences, generate, tutorial_dataset
from core.fastpath import RTOL, Statistics, evaluate, grid_losses
from tests.core._reference import (
    UNDERFLOW,
    datasets,
    default_targets,
    exact,
    grid_axis,
    rel_close,
    tutorial_rows,
)

Data = tuple[list[list[float]], list[float] | None]


def test_the_tutorials_overview_is_vouched_for_row_by_row() -> None:
    stats = Statistics(tutorial_dataset())
    axis = np.linspace(-3.0, 3.0, 50)
    grid, unsure = grid_losses(stats, axis, axis)
    assert grid.shape == (50, 50)
    ev = evaluate(stats, axis[None, :], axis[:, None], with_gradient=False)
    sure = np.ones(grid.shape, dtype=bool) if unsure is None else ~unsure
    assert sure.all()
    np.testing.assert_allclose(grid, ev.loss, rtol=4 * RTOL)


def test_zoomed_cells_are_exact_where_vouched_for() -> None:
    ds = tutorial_dataset()
    rows, tg = tutorial_rows(), ds.targets.tolist()
    wx = np.linspace(0.999, 1.001, 21)
    wrec = np.linspace(0.9995, 1.0005, 19)
    grid, unsure = grid_losses(Statistics(ds), wx, wrec)
    sure = np.ones(grid.shape, dtype=bool) if unsure is None else ~unsure
    assert sure.mean() > 0.5
    cells = np.argwhere(sure)
    for i, j in cells[:: max(1, len(cells) // 60)]:
        ref = exact(rows, tg, float(wx[j]), float(wrec[i]))
        assert rel_close(float(grid[i, j]), ref.loss, RTOL, 1e-300), (wx[j], wrec[i])
    # The cell at the optimum is exactly zero.
    axis = np.linspace(0.0, 2.0, 5)
    assert grid_losses(Statistics(ds), axis, axis)[0][2, 2] == 0.0


@settings(max_examples=60, deadline=None)
@given(datasets(max_n=5, max_width=8, exact_sums=True), grid_axis, grid_axis)
def test_vouched_cells_are_exact_to_rtol(data: Data, wx: np.ndarray, wrec: np.ndarray) -> None:
    rows, targets = data
    tg = default_targets(rows, targets)
    grid, unsure = grid_losses(Statistics(from_sequences(rows, tg)), wx, wrec)
    assert grid.shape == (wrec.size, wx.size)
    for i in range(wrec.size):
        for j in range(wx.size):
            if unsure is not None and unsure[i, j]:
                continue
            ref = exact(rows, tg, float(wx[j]), float(wrec[i]))
            if np.isinf(grid[i, j]):  # called overflow without asking BPTT: it must be
                assert ref.loss * len(rows) > np.finfo(np.float64).max
            else:
                assert rel_close(float(grid[i, j]), ref.loss, RTOL, UNDERFLOW), (wx[j], wrec[i])


def test_rows_not_vouched_for_are_checked_cell_by_cell() -> None:
    # Long sequences in the valley: some rows fail as a whole, their cells go one by one.
    ds = generate(2_000, 100, seed=1)
    stats = Statistics(ds)
    axis = np.linspace(0.9, 1.1, 257)
    grid, unsure = grid_losses(stats, axis, axis)
    assert unsure is not None
    assert 0 < unsure.sum() < unsure.size
    rows = np.flatnonzero(unsure.any(axis=1))
    ev = evaluate(stats, axis[None, :], axis[rows, None], with_gradient=False)
    np.testing.assert_array_equal(unsure[rows], ~ev.sure)
    # Equal up to the BLAS products' summation order, which depends on the batch.
    np.testing.assert_allclose(grid[rows][ev.sure], ev.loss[ev.sure], rtol=2 * RTOL)


def test_certain_overflow_is_inf_and_not_left_unsure() -> None:
    ds = generate(60, 120, seed=2)
    wx = np.linspace(-3.0, 3.0, 13)
    wrec = np.array([1e3, -1e3, 1e40])
    grid, unsure = grid_losses(Statistics(ds), wx, wrec)
    overflow = np.isinf(grid)
    assert overflow.any()
    assert unsure is None or not (unsure & overflow).any()


def test_without_cell_checks_every_cell_of_a_row_not_vouched_for_is_unsure() -> None:
    # For callers that answer whole rows more cheaply than checking their cells.
    stats = Statistics(generate(2_000, 100, seed=1))
    axis = np.linspace(0.9, 1.1, 65)
    grid, checked = grid_losses(stats, axis, axis)
    whole, unsure = grid_losses(stats, axis, axis, cells=False)
    assert unsure is not None
    rows = unsure.any(axis=1)
    assert 0 < rows.sum() < rows.size
    assert unsure[rows].all()
    if checked is not None:  # cells left unsure after checking lie in those rows
        assert not checked[~rows].any()
    np.testing.assert_array_equal(whole[~rows], grid[~rows])
