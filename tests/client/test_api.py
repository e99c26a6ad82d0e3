"""The requests the clients send: dataset references, points, and only what was given."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from rnnlab_client import _api

TUTORIAL_SPEC = {"n_samples": 20, "length": 10, "seed": 1, "generator": "legacy"}


def test_each_dataset_form_becomes_the_api_member_that_names_it() -> None:
    assert _api.dataset_body({}) == {}
    assert _api.dataset_body({"dataset_id": "g-1"}) == {"dataset_id": "g-1"}
    assert _api.dataset_body({"n_samples": 5, "length": 3}) == {
        "dataset": {"n_samples": 5, "length": 3}
    }
    rows = np.array([[0, 1], [1, 1]], dtype=np.int64)
    assert _api.dataset_body({"sequences": rows}) == {
        "dataset": {"sequences": [[0.0, 1.0], [1.0, 1.0]], "targets": None}
    }
    ragged = _api.dataset_body({"sequences": [[0.5], np.array([1, 2])], "targets": (1, 3)})
    assert ragged == {"dataset": {"sequences": [[0.5], [1.0, 2.0]], "targets": [1.0, 3.0]}}


def test_query_parameters_name_a_dataset_by_id_or_spec() -> None:
    assert _api.dataset_params({}) == {}
    assert _api.dataset_params({"n_samples": 5, "length": 3, "seed": 2}) == {
        "n_samples": 5,
        "length": 3,
        "seed": 2,
    }
    assert _api.needs_upload({"sequences": [[1.0]]})
    assert not _api.needs_upload({"dataset_id": "g-1"})


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"dataset_id": "g-1", "n_samples": 5}, "not id and spec"),
        ({"n_samples": 5, "sequences": [[1.0]]}, "not spec and data"),
        ({"targets": [1.0]}, "targets= needs sequences="),
        ({"length": 3}, "needs n_samples="),
        ({"rows": 3}, "unknown dataset arguments: rows"),
    ],
)
def test_mixed_or_incomplete_dataset_arguments_are_refused_before_sending(
    args: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        _api.dataset_body(args)  # type: ignore[arg-type]


def test_create_dataset_sends_a_source_and_nothing_means_the_tutorial_spec() -> None:
    assert _api.dataset_source({}) == TUTORIAL_SPEC
    assert _api.dataset_source({"n_samples": 2, "length": 2}) == {"n_samples": 2, "length": 2}
    with pytest.raises(ValueError, match="not dataset_id"):
        _api.dataset_source({"dataset_id": "g-1"})


def _train_body(**given: Any) -> Any:
    """The JSON ``_api.train`` sends for these arguments (the others None, as the clients')."""
    names = ("initial", "optimizer", "hyperparameters", "iterations", "tolerance")
    more = ("record_trajectory", "starts", "starts_grid")
    arguments: dict[str, Any] = {**dict.fromkeys(names + more), **given}
    return _api.train(**arguments, args={}).request.json


def test_train_sends_only_what_was_given() -> None:
    assert _train_body() == {}
    assert _train_body(optimizer="sgd", hyperparameters={"learning_rate": 0.01}, iterations=3) == {
        "optimizer": {"name": "sgd", "learning_rate": 0.01},
        "iterations": 3,
    }
    assert _train_body(initial=(1, 2), starts=[(0, 0)], record_trajectory=False) == {
        "initial": {"wx": 1.0, "wrec": 2.0},
        "starts": [{"wx": 0.0, "wrec": 0.0}],
        "record_trajectory": False,
    }
    grid = {"wx_min": 0, "wx_max": 1, "wrec_min": 0, "wrec_max": 1, "nx": 2, "ny": 2}
    assert _train_body(starts_grid=grid) == {"starts_grid": grid}
    with pytest.raises(ValueError, match="starts= or starts_grid="):
        _train_body(starts=[(0, 0)], starts_grid=grid)


def test_points_are_sent_as_exact_decimal_pairs() -> None:
    call = _api.gradient_over_time([(1, 2), (0.1, -1e-300)], {})
    assert call.request.params == {"points": "1.0:2.0,0.1:-1e-300"}
    with pytest.raises(ValueError, match="at least one"):
        _api.gradient_over_time([], {})


def test_predict_wants_exactly_one_source_of_weights() -> None:
    for weights, job_id in ((None, None), ((1, 1), "j")):
        with pytest.raises(ValueError, match="exactly one"):
            _api.predict([[1.0]], weights, job_id)


def test_ids_must_be_one_path_segment() -> None:
    for bad in ("", "..", "a/b", "a?b", "a%2F"):
        with pytest.raises(ValueError, match="not an id"):
            _api.get_job(bad)


def test_figures_are_png_or_svg() -> None:
    with pytest.raises(ValueError, match="'png' or 'svg'"):
        _api.figure_job("j", "gif", {})
