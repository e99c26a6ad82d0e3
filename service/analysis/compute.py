"""From a dataset and parameters to response payloads: the core calls behind the routes.

Blocking functions (run them through ``service.web.compute``). Payloads are plain dicts of
floats and NumPy arrays for ``service.encoding``: non-finite values become null there,
and every payload says whether something overflowed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from starlette.responses import Response

from core.bptt import gradient
from core.datasets import Dataset
from core.gradcheck import check_gradient
from core.model import loss, outputs
from core.point import point_gradient, point_loss
from core.surface import LossSurface, gradient_over_time, loss_surface_on
from core.window import Window
from service.web.encoding import (
    Format,
    csv_response,
    finite_or_none,
    json_response,
    npy_response,
)

__all__ = [
    "gradient_check_payload",
    "gradient_over_time_payload",
    "gradient_payload",
    "loss_payload",
    "surface",
    "surface_response",
]


def _finite(*values: float | NDArray[np.float64]) -> bool:
    return all(bool(np.isfinite(value).all()) for value in values)


def loss_payload(dataset: Dataset, wx: float, wrec: float, include_outputs: bool) -> dict[str, Any]:
    """The loss, from the statistics where they pay (``core.point``), by the forward pass
    when the outputs are asked for too (they come from that pass anyway)."""
    if not include_outputs:
        value = point_loss(dataset, wx, wrec)
        return {"loss": finite_or_none(value), "overflow": not _finite(value)}
    value = loss(dataset, wx, wrec)
    y = outputs(dataset, wx, wrec)
    return {"loss": finite_or_none(value), "outputs": y, "overflow": not _finite(value, y)}


def gradient_payload(
    dataset: Dataset,
    wx: float,
    wrec: float,
    include_trace: bool,
    include_sequence_trace: bool = False,
) -> dict[str, Any]:
    """Loss and gradient, from the statistics where they pay (``core.point``), by BPTT when
    a trace is asked for (the trace is BPTT's own intermediate)."""
    if not (include_trace or include_sequence_trace):
        point = point_gradient(dataset, wx, wrec)
        return {
            "loss": finite_or_none(point.loss),
            "gradient": {"wx": finite_or_none(point.wx), "wrec": finite_or_none(point.wrec)},
            "overflow": not _finite(point.loss, point.wx, point.wrec),
        }
    g = gradient(dataset, wx, wrec, per_sequence=include_sequence_trace)
    payload: dict[str, Any] = {
        "loss": finite_or_none(g.loss),
        "gradient": {"wx": finite_or_none(g.wx), "wrec": finite_or_none(g.wrec)},
    }
    overflow = not _finite(g.loss, g.wx, g.wrec)
    if include_trace:
        payload["trace"] = np.ascontiguousarray(g.trace, dtype=np.float64)
        overflow = overflow or not _finite(g.trace)
    if include_sequence_trace and g.per_sequence is not None:
        payload["sequence_trace"] = np.ascontiguousarray(g.per_sequence, dtype=np.float64)
        overflow = overflow or not _finite(g.per_sequence)
    payload["overflow"] = overflow
    return payload


def gradient_check_payload(dataset: Dataset, wx: float, wrec: float, eps: float) -> dict[str, Any]:
    check = check_gradient(dataset, wx, wrec, eps=eps)
    values = (*check.analytic, *check.numeric, check.max_abs_error, check.max_rel_error)
    return {
        "analytic": {
            "wx": finite_or_none(check.analytic[0]),
            "wrec": finite_or_none(check.analytic[1]),
        },
        "numeric": {
            "wx": finite_or_none(check.numeric[0]),
            "wrec": finite_or_none(check.numeric[1]),
        },
        "max_abs_error": finite_or_none(check.max_abs_error),
        "max_rel_error": finite_or_none(check.max_rel_error),
        "ok": bool(check.ok),
        "overflow": not _finite(*values),
    }


def surface(dataset: Dataset, window: Window) -> LossSurface:
    """The loss surface on ``window``'s grid (see ``surface_response`` for its answer)."""
    return loss_surface_on(dataset, window)


def surface_response(result: LossSurface, fmt: Format) -> Response:
    """The loss surface as JSON, npy (the loss matrix) or CSV, with ``X-Overflow``."""
    headers = {"X-Overflow": "true" if result.overflow else "false"}
    if fmt == "npy":
        headers["Content-Disposition"] = 'attachment; filename="loss-surface.npy"'
        return npy_response(result.loss, headers)
    if fmt == "csv":
        headers["Content-Disposition"] = 'attachment; filename="loss-surface.csv"'
        return csv_response("wrec/wx", result.wrec, result.loss, columns=result.wx, headers=headers)
    payload = {
        "wx": result.wx,
        "wrec": result.wrec,
        "loss": np.ascontiguousarray(result.loss, dtype=np.float64),
        "min": {
            "wx": finite_or_none(result.min_wx),
            "wrec": finite_or_none(result.min_wrec),
            "loss": finite_or_none(result.min_loss),
        },
        "overflow": result.overflow,
    }
    return json_response(payload, headers=headers)


def gradient_over_time_payload(
    dataset: Dataset, points: Sequence[tuple[float, float]]
) -> dict[str, Any]:
    result = gradient_over_time(dataset, points)
    finite_rows = [bool(np.isfinite(row).all()) for row in result.grads]
    series = [
        {"wx": wx, "wrec": wrec, "grad": np.ascontiguousarray(row), "overflow": not ok}
        for (wx, wrec), row, ok in zip(
            result.points.tolist(), result.grads, finite_rows, strict=True
        )
    ]
    return {
        "timesteps": np.ascontiguousarray(result.timesteps, dtype=np.int64),
        "series": series,
        "overflow": not all(finite_rows),
    }
