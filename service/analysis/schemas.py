"""Loss, gradient, gradient check, loss surface and gradient over time."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from service.datasets.schemas import DatasetRef
from service.web.models import FiniteFloat, RequestModel, ResponseModel

__all__ = [
    "GradientCheckRequest",
    "GradientCheckResponse",
    "GradientOverTimeResponse",
    "GradientRequest",
    "GradientResponse",
    "GradientSeries",
    "LossRequest",
    "LossResponse",
    "LossSurfaceResponse",
    "SurfaceMinimum",
    "Weights",
    "WeightsOut",
]


class Weights(RequestModel):
    """The two weights of the linear RNN: s_k = s_{k-1} * wrec + x_k * wx."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"wx": 1.0, "wrec": 1.0}]})

    wx: FiniteFloat = Field(description="Input weight.", examples=[1.0])
    wrec: FiniteFloat = Field(description="Recurrent weight.", examples=[1.0])


class WeightsOut(ResponseModel):
    """A pair of weights (or of derivatives with respect to them) in a response."""

    wx: float | None = Field(description="Value for wx (null when it overflowed).")
    wrec: float | None = Field(description="Value for wrec (null when it overflowed).")


_OVERFLOW = "Whether any value overflowed float64 (those values are null)."


class LossRequest(DatasetRef):
    """Loss at one point of weight space."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"weights": {"wx": 2.0, "wrec": 1.0}}]}
    )

    weights: Weights
    include_outputs: bool = Field(default=False, description="Also return each sequence's output.")


class LossResponse(ResponseModel):
    """Mean squared error of the outputs against the targets."""

    sometimes = frozenset({"outputs"})

    loss: float | None = Field(description="mean over sequences of (t - y)^2.", examples=[28.35])
    outputs: list[float | None] | None = Field(
        default=None, description="y = s_n of each sequence (with include_outputs)."
    )
    overflow: bool = Field(description=_OVERFLOW)


class GradientRequest(DatasetRef):
    """Gradient of the loss by backpropagation through time."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"weights": {"wx": 2.0, "wrec": 1.0}, "include_trace": True}]
        }
    )

    weights: Weights
    include_trace: bool = Field(
        default=False, description="Also return dξ/dS_k summed over sequences, k = 0..n."
    )
    include_sequence_trace: bool = Field(
        default=False,
        description=(
            "Also return dξ/dS_k of each sequence, k = 0..n: sequences x (n + 1) values, "
            "at most the server's max_include_elements (else 413)."
        ),
    )


class GradientResponse(ResponseModel):
    """The loss and its derivatives with respect to wx and wrec."""

    sometimes = frozenset({"trace", "sequence_trace"})

    loss: float | None = Field(description="The loss at the weights.")
    gradient: WeightsOut = Field(description="dξ/dwx and dξ/dwrec.")
    trace: list[float | None] | None = Field(
        default=None,
        description="trace[k] = dξ/dS_k summed over sequences, k = 0..n (with include_trace).",
    )
    sequence_trace: list[list[float | None]] | None = Field(
        default=None,
        description=(
            "sequence_trace[i][k] = dξ/dS_k of sequence i, k = 0..n over the padded width "
            "(shorter sequences are left-padded with zeros); its columns sum to `trace` "
            "(with include_sequence_trace)."
        ),
    )
    overflow: bool = Field(description=_OVERFLOW)


class GradientCheckRequest(DatasetRef):
    """Compare BPTT with central differences."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"weights": {"wx": 1.2, "wrec": 1.2}, "eps": 1e-7}]}
    )

    weights: Weights
    eps: float = Field(
        default=1e-7,
        gt=0.0,
        le=1.0,
        allow_inf_nan=False,
        description="Step of the central differences.",
    )


class GradientCheckResponse(ResponseModel):
    """Analytic (BPTT) and numeric (central differences) gradients side by side."""

    analytic: WeightsOut
    numeric: WeightsOut
    max_abs_error: float | None = Field(description="Largest |analytic - numeric|.")
    max_rel_error: float | None = Field(description="Largest relative difference.")
    ok: bool = Field(description="Whether they agree (numpy.isclose defaults).")
    overflow: bool = Field(description=_OVERFLOW)


class SurfaceMinimum(ResponseModel):
    """The grid cell with the smallest finite loss (all null if every cell overflowed)."""

    wx: float | None
    wrec: float | None
    loss: float | None


class LossSurfaceResponse(ResponseModel):
    """The loss on a grid; row i of `loss` is wrec[i], column j is wx[j]."""

    wx: list[float] = Field(description="Grid values of wx (nx).")
    wrec: list[float] = Field(description="Grid values of wrec (ny).")
    loss: list[list[float | None]] = Field(description="ny rows of nx losses (null: overflow).")
    min: SurfaceMinimum
    overflow: bool = Field(description=_OVERFLOW)


class GradientSeries(ResponseModel):
    """dξ/dS_k summed over sequences at one point, for each timestep."""

    wx: float
    wrec: float
    grad: list[float | None] = Field(description="grad[i] belongs to timesteps[i].")
    overflow: bool = Field(description=_OVERFLOW)


class GradientOverTimeResponse(ResponseModel):
    """How the gradient flows back through time at each point."""

    timesteps: list[int] = Field(description="k = 0..n.")
    series: list[GradientSeries]
    overflow: bool = Field(description=_OVERFLOW)
