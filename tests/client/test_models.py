"""Results from the service's JSON: nulls (overflow) as nan, tolerance of absent members."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pytest

from rnnlab_client.errors import JobFailedError, JobNotFinishedError
from rnnlab_client.models import (
    Dataset,
    Gradient,
    GradientOverTime,
    JobState,
    LossSurface,
    Trajectory,
    Weights,
    as_weights,
)

JOB = {
    "id": "01J",
    "status": "succeeded",
    "created_at": "2026-11-30T04:15:15.168211Z",
    "started_at": "2026-11-30T04:15:15.242552+00:00",
    "finished_at": None,
    "progress": {"iteration": 3, "iterations": 3, "loss": None, "weights": {"wx": 1, "wrec": None}},
    "result": {
        "weights": {"wx": 1.5, "wrec": None},
        "loss": None,
        "iterations": 3,
        "converged": False,
        "diverged": True,
        "overflow": True,
    },
    "error": None,
}


def test_null_scalars_and_array_cells_are_nan() -> None:
    gradient = Gradient.from_json(
        {"loss": None, "gradient": {"wx": 2.0, "wrec": None}, "trace": [1, None], "overflow": True}
    )
    assert math.isnan(gradient.loss)
    assert gradient.weights[0] == 2.0
    assert math.isnan(gradient.wrec)
    assert np.isnan(gradient.trace[1])
    assert gradient.trace.dtype == np.float64
    assert gradient.sequence_trace is None


def test_a_surface_keeps_rows_along_wrec_and_finds_its_smallest_finite_cell() -> None:
    surface = LossSurface.from_json(
        {"wx": [0, 1, 2], "wrec": [5, 6], "loss": [[3, None, 2], [1, 4, None]], "overflow": True}
    )
    assert surface.loss.shape == (2, 3)
    assert surface.min == (0.0, 6.0, 1.0)
    empty = LossSurface(surface.wx, surface.wrec, np.full((2, 3), np.nan), True)
    assert all(math.isnan(value) for value in empty.min)


def test_gradient_over_time_stacks_its_series() -> None:
    body = {
        "timesteps": [0, 1],
        "series": [
            {"wx": 1, "wrec": 2, "grad": [4, 2], "overflow": False},
            {"wx": 1, "wrec": 9, "grad": [None, 1], "overflow": True},
        ],
    }
    result = GradientOverTime.from_json(body)
    assert result.overflow  # derived from the series when the member is absent
    assert result.grads.shape == (2, 2)
    assert np.isnan(result.grads[1, 0])
    assert result.timesteps.dtype == np.int64


def test_job_times_parse_with_z_or_offset_and_absent_members_take_defaults() -> None:
    state = JobState.from_json({**JOB, "unknown_member": 1})
    assert state.created_at == datetime(2026, 11, 30, 4, 15, 15, 168211, tzinfo=UTC)
    assert state.started_at is not None
    assert state.started_at.tzinfo is not None
    assert state.finished_at is None
    assert state.worker is None
    assert state.result is not None
    assert state.result.diverged
    assert math.isnan(state.result.wrec)
    trimmed = {k: v for k, v in JOB.items() if k not in ("started_at", "finished_at", "error")}
    assert JobState.from_json(trimmed).error is None


def test_a_result_is_only_there_for_a_succeeded_job() -> None:
    queued = JobState.from_json({**JOB, "status": "queued", "result": None})
    with pytest.raises(JobNotFinishedError, match="wait"):
        queued.outcome()
    problem = {"type": "urn:rnnlab:problem:cancelled", "title": "Cancelled", "status": 409,
               "detail": "the job was cancelled by a DELETE request"}  # fmt: skip
    cancelled = JobState.from_json({**JOB, "status": "cancelled", "result": None, "error": problem})
    with pytest.raises(JobFailedError) as raised:
        cancelled.outcome()
    assert raised.value.problem is not None
    assert raised.value.problem.type == "urn:rnnlab:problem:cancelled"
    assert "cancelled by a DELETE" in str(raised.value)


def test_a_trajectory_table_maps_non_finite_values_to_nan() -> None:
    table = np.array([[-1.5, 2.0, np.inf], [1.0, 1.0, 0.5]])
    trajectory = Trajectory.from_table(table)
    assert trajectory.iterations == 1
    assert np.isnan(trajectory.loss[0])
    assert trajectory.overflow
    assert not Trajectory.from_table(table[1:]).overflow


def test_a_dataset_with_its_data_has_one_array_per_row() -> None:
    dataset = Dataset.from_json(
        {
            "id": "u-1",
            "kind": "uploaded",
            "n_samples": 2,
            "min_length": 1,
            "max_length": 2,
            "is_binary": False,
            "created_at": "2026-11-30T04:15:15Z",
            "sequences": [[0.5, 1], [3]],
            "targets": [1, 3],
        }
    )
    assert dataset.sequences is not None
    assert [row.tolist() for row in dataset.sequences] == [[0.5, 1.0], [3.0]]
    assert dataset.targets is not None
    assert dataset.targets.tolist() == [1.0, 3.0]


def test_weights_are_taken_as_pairs_named_tuples_or_mappings() -> None:
    expected = {"wx": 1.0, "wrec": 2.0}
    assert as_weights((1, 2)) == as_weights(Weights(1, 2)) == as_weights(expected) == expected
