"""core.cost: surface estimates follow the path loss_grid takes, no step up past the statistics."""

from __future__ import annotations

import pytest

from core.cost import forward_seconds, rows_surface_seconds, surface_seconds
from core.fastpath import MAX_FAST_WIDTH


def test_a_surface_from_the_rows_is_estimated_as_the_rows() -> None:
    assert surface_seconds(100, 1500, 128, 128) == rows_surface_seconds(100, 1500, 128, 128)
    # Far below the forward pass at every point, which is what wide datasets used to cost.
    assert surface_seconds(100, 1500, 512, 512) < forward_seconds(100, 1500, 512 * 512) / 20


@pytest.mark.parametrize("size", [128, 512, 2048])
def test_no_step_across_the_widest_statistics(size: int) -> None:
    # Past the statistics the rows take over: no step up in the estimate.
    below = surface_seconds(100, MAX_FAST_WIDTH, size, size)
    above = surface_seconds(100, MAX_FAST_WIDTH + 1, size, size)
    assert above <= 1.1 * below


def test_estimates_grow_with_every_size() -> None:
    base = surface_seconds(100, 1000, 128, 128)
    assert surface_seconds(200, 1000, 128, 128) > base
    assert surface_seconds(100, 2000, 128, 128) > base
    assert surface_seconds(100, 1000, 256, 128) > base
    assert surface_seconds(100, 1000, 128, 256) > base
