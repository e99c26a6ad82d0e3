"""The results the client returns: frozen dataclasses of floats and NumPy arrays.

The service writes a value that overflowed float64 as JSON ``null`` and says so in an
``overflow`` flag. Here every such value is ``nan`` (scalars and arrays alike), and the
flag is kept, so ``numpy.isnan`` finds the cells and ``.overflow`` says whether to look.
Parsing is tolerant of members the client does not know and of optional members left
out, so a newer service does not break an older client. One module for every result
type (each a dataclass and its ``from_json``), so that they read alike.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, NamedTuple

import numpy as np
from numpy.typing import NDArray

from rnnlab_client.errors import JobFailedError, JobNotFinishedError, Problem

__all__ = [
    "FINISHED",
    "Dataset",
    "Gradient",
    "GradientCheck",
    "GradientOverTime",
    "GradientSeries",
    "Health",
    "Hyperparameter",
    "JobResult",
    "JobState",
    "JobStatus",
    "LossSurface",
    "Optimizer",
    "Outputs",
    "Progress",
    "Readiness",
    "StartResult",
    "SurfaceMinimum",
    "Trajectory",
    "Weights",
]

FloatArray = NDArray[np.float64]
JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]
FINISHED: frozenset[str] = frozenset({"succeeded", "failed", "cancelled"})


def _float(value: Any) -> float:
    """A JSON number as a float; null (an overflow) as nan."""
    return math.nan if value is None else float(value)


def _array(values: Any) -> FloatArray:
    """A JSON array (of any depth) as float64; nulls become nan."""
    return np.asarray(values if values is not None else [], dtype=np.float64)


def _time(value: Any) -> datetime | None:
    """An ISO 8601 timestamp (``Z`` or ``+00:00``) as an aware datetime; None stays None."""
    return None if value is None else datetime.fromisoformat(str(value))


class Weights(NamedTuple):
    """The two weights of the network (or two derivatives with respect to them).

    A tuple, so ``wx, wrec = weights`` works, and any ``(wx, wrec)`` pair can be passed
    where the client takes weights.
    """

    wx: float
    wrec: float

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Weights:
        return cls(_float(body.get("wx")), _float(body.get("wrec")))


@dataclass(frozen=True)
class Outputs:
    """The network's output y = s_n on every sequence of a dataset, and the loss.

    ``outputs[i]`` belongs to sequence i (nan where it overflowed); ``overflow`` is True
    when the loss or any output did.
    """

    loss: float
    outputs: FloatArray
    overflow: bool

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Outputs:
        return cls(_float(body["loss"]), _array(body.get("outputs")), bool(body["overflow"]))


@dataclass(frozen=True)
class Gradient:
    """The loss and its gradient by backpropagation through time.

    ``wx`` and ``wrec`` are dξ/dwx and dξ/dwrec; ``trace[k]`` is dξ/dS_k summed over the
    sequences, k = 0..n (it grows or shrinks geometrically in wrec going back in time);
    ``sequence_trace[i, k]`` is the same for sequence i alone (only when asked for).
    Overflowed values are nan and ``overflow`` is True.
    """

    loss: float
    wx: float
    wrec: float
    trace: FloatArray
    overflow: bool
    sequence_trace: FloatArray | None = None

    @property
    def weights(self) -> Weights:
        """The gradient as a (wx, wrec) pair."""
        return Weights(self.wx, self.wrec)

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Gradient:
        gradient = body["gradient"]
        per_sequence = body.get("sequence_trace")
        return cls(
            loss=_float(body["loss"]),
            wx=_float(gradient["wx"]),
            wrec=_float(gradient["wrec"]),
            trace=_array(body.get("trace")),
            overflow=bool(body["overflow"]),
            sequence_trace=None if per_sequence is None else _array(per_sequence),
        )


@dataclass(frozen=True)
class GradientCheck:
    """BPTT's gradient (``analytic``) next to central differences (``numeric``).

    ``ok`` is whether they agree by ``numpy.isclose``'s defaults; the errors are the
    largest absolute and relative differences of the two weights.
    """

    analytic: Weights
    numeric: Weights
    max_abs_error: float
    max_rel_error: float
    ok: bool
    overflow: bool

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> GradientCheck:
        return cls(
            analytic=Weights.from_json(body["analytic"]),
            numeric=Weights.from_json(body["numeric"]),
            max_abs_error=_float(body["max_abs_error"]),
            max_rel_error=_float(body["max_rel_error"]),
            ok=bool(body["ok"]),
            overflow=bool(body["overflow"]),
        )


class SurfaceMinimum(NamedTuple):
    """The grid cell with the smallest finite loss (all nan when every cell overflowed)."""

    wx: float
    wrec: float
    loss: float


@dataclass(frozen=True)
class LossSurface:
    """The loss on an evenly spaced grid: ``loss[i, j]`` is at (``wx[j]``, ``wrec[i]``).

    ``loss`` has shape (ny, nx), rows along wrec as in the service's answer (so
    ``matplotlib``'s ``pcolormesh(s.wx, s.wrec, s.loss)`` draws it the right way up);
    cells that overflowed float64 are nan and ``overflow`` is True.
    """

    wx: FloatArray
    wrec: FloatArray
    loss: FloatArray
    overflow: bool

    @property
    def min(self) -> SurfaceMinimum:
        """The cell of smallest finite loss (the first one, row by row, on a tie)."""
        finite = np.isfinite(self.loss)
        if not finite.any():
            return SurfaceMinimum(math.nan, math.nan, math.nan)
        i, j = np.unravel_index(int(np.argmin(np.where(finite, self.loss, np.inf))), finite.shape)
        return SurfaceMinimum(float(self.wx[j]), float(self.wrec[i]), float(self.loss[i, j]))

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> LossSurface:
        wx, wrec = _array(body["wx"]), _array(body["wrec"])
        loss = _array(body["loss"]).reshape(len(wrec), len(wx))
        return cls(wx, wrec, loss, bool(body["overflow"]))


@dataclass(frozen=True)
class GradientSeries:
    """dξ/dS_k summed over sequences at one point (wx, wrec): ``grad[i]`` at ``timesteps[i]``."""

    wx: float
    wrec: float
    grad: FloatArray
    overflow: bool


@dataclass(frozen=True)
class GradientOverTime:
    """How the gradient travels back through time at each point, k = 0..n."""

    timesteps: NDArray[np.int64]
    series: tuple[GradientSeries, ...]
    overflow: bool

    @property
    def grads(self) -> FloatArray:
        """Every series as one (points, n + 1) array, rows in the order of ``series``."""
        return np.array([s.grad for s in self.series], dtype=np.float64).reshape(
            len(self.series), len(self.timesteps)
        )

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> GradientOverTime:
        series = tuple(
            GradientSeries(
                wx=_float(item["wx"]),
                wrec=_float(item["wrec"]),
                grad=_array(item["grad"]),
                overflow=bool(item.get("overflow", False)),
            )
            for item in body["series"]
        )
        overflow = bool(body.get("overflow", any(s.overflow for s in series)))
        return cls(np.asarray(body["timesteps"], dtype=np.int64), series, overflow)


@dataclass(frozen=True)
class Dataset:
    """A stored dataset: its id (pass it as ``dataset_id=``) and its shape.

    ``kind`` is ``"generated"`` (from ``spec``, regenerated on demand) or ``"uploaded"``.
    ``sequences`` (one array per sequence, unpadded) and ``targets`` are only there when
    the data was asked for (``get_dataset(..., include_data=True)``).
    """

    id: str
    kind: str
    n_samples: int
    min_length: int
    max_length: int
    is_binary: bool
    created_at: datetime | None
    spec: Mapping[str, Any] | None = None
    sequences: tuple[FloatArray, ...] | None = None
    targets: FloatArray | None = None

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Dataset:
        sequences = body.get("sequences")
        targets = body.get("targets")
        return cls(
            id=str(body["id"]),
            kind=str(body.get("kind", "")),
            n_samples=int(body["n_samples"]),
            min_length=int(body["min_length"]),
            max_length=int(body["max_length"]),
            is_binary=bool(body.get("is_binary", False)),
            created_at=_time(body.get("created_at")),
            spec=body.get("spec"),
            sequences=None if sequences is None else tuple(_array(row) for row in sequences),
            targets=None if targets is None else _array(targets),
        )


@dataclass(frozen=True)
class Progress:
    """Where a job is: ``iteration`` of ``iterations`` done, the current loss and weights.

    ``start`` is, for a multi-start job, the start these numbers belong to.
    """

    iteration: int
    iterations: int
    loss: float
    wx: float
    wrec: float
    start: int | None = None

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Progress:
        weights = body.get("weights") or {}
        return cls(
            iteration=int(body.get("iteration", 0)),
            iterations=int(body.get("iterations", 0)),
            loss=_float(body.get("loss")),
            wx=_float(weights.get("wx")),
            wrec=_float(weights.get("wrec")),
            start=body.get("start"),
        )


@dataclass(frozen=True)
class StartResult:
    """Where one start of a multi-start job began (``initial``) and ended."""

    initial: Weights
    wx: float
    wrec: float
    loss: float
    iterations: int
    converged: bool
    diverged: bool
    overflow: bool

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> StartResult:
        weights = Weights.from_json(body["weights"])
        return cls(
            initial=Weights.from_json(body["initial"]),
            wx=weights.wx,
            wrec=weights.wrec,
            loss=_float(body.get("loss")),
            iterations=int(body["iterations"]),
            converged=bool(body.get("converged", False)),
            diverged=bool(body.get("diverged", False)),
            overflow=bool(body.get("overflow", False)),
        )


@dataclass(frozen=True)
class JobResult:
    """The outcome of a succeeded job: the trained weights and the loss there.

    ``converged``: the loss reached the request's tolerance (or the gradient was exactly
    zero); ``diverged``: the weights stopped being finite (they are nan then). For a
    multi-start job ``starts`` holds every start's outcome and ``best_start`` the index
    of the one reported here.
    """

    wx: float
    wrec: float
    loss: float
    iterations: int
    converged: bool
    diverged: bool
    overflow: bool
    best_start: int | None = None
    starts: tuple[StartResult, ...] | None = None

    @property
    def weights(self) -> Weights:
        """The trained weights as a (wx, wrec) pair, e.g. for ``predict(weights=...)``."""
        return Weights(self.wx, self.wrec)

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> JobResult:
        weights = Weights.from_json(body["weights"])
        starts = body.get("starts")
        return cls(
            wx=weights.wx,
            wrec=weights.wrec,
            loss=_float(body.get("loss")),
            iterations=int(body["iterations"]),
            converged=bool(body.get("converged", False)),
            diverged=bool(body.get("diverged", False)),
            overflow=bool(body.get("overflow", False)),
            best_start=body.get("best_start"),
            starts=None if starts is None else tuple(StartResult.from_json(s) for s in starts),
        )


@dataclass(frozen=True)
class JobState:
    """A training job as the service last reported it.

    ``status`` goes ``queued`` -> ``running`` -> ``succeeded``, ``failed`` or
    ``cancelled``. ``result`` is set once it succeeded, ``error`` (a ``Problem``) once
    it failed or was cancelled. Times are timezone-aware UTC datetimes.
    """

    id: str
    status: JobStatus
    created_at: datetime | None
    progress: Progress
    started_at: datetime | None = None
    finished_at: datetime | None = None
    result: JobResult | None = None
    error: Problem | None = None
    cancel_requested: bool = False
    worker: str | None = None

    @property
    def finished(self) -> bool:
        """Whether the job has ended (succeeded, failed or cancelled)."""
        return self.status in FINISHED

    def outcome(self) -> JobResult:
        """The result; JobFailedError if it failed or was cancelled, JobNotFinishedError before."""
        if self.status == "succeeded" and self.result is not None:
            return self.result
        if self.finished:
            raise JobFailedError(self)
        raise JobNotFinishedError(self)

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> JobState:
        result, error = body.get("result"), body.get("error")
        return cls(
            id=str(body["id"]),
            status=body["status"],
            created_at=_time(body.get("created_at")),
            progress=Progress.from_json(body.get("progress") or {}),
            started_at=_time(body.get("started_at")),
            finished_at=_time(body.get("finished_at")),
            result=None if result is None else JobResult.from_json(result),
            error=None if error is None else Problem.from_json(error),
            cancel_requested=bool(body.get("cancel_requested", False)),
            worker=body.get("worker"),
        )


@dataclass(frozen=True)
class Trajectory:
    """The path training took: the weights and the loss before the first iteration and
    after each one (``iterations + 1`` values each; nan where they overflowed)."""

    wx: FloatArray
    wrec: FloatArray
    loss: FloatArray

    @property
    def iterations(self) -> int:
        return len(self.wx) - 1

    @property
    def overflow(self) -> bool:
        """Whether any recorded value is non-finite."""
        return not bool(
            np.isfinite(self.wx).all()
            and np.isfinite(self.wrec).all()
            and np.isfinite(self.loss).all()
        )

    @classmethod
    def from_table(cls, table: FloatArray) -> Trajectory:
        """From the service's npy table: one row per point, columns wx, wrec, loss."""
        table = np.where(np.isfinite(table), table, np.nan).reshape(-1, 3)
        return cls(table[:, 0].copy(), table[:, 1].copy(), table[:, 2].copy())

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Trajectory:
        return cls(_array(body["wx"]), _array(body["wrec"]), _array(body["loss"]))


@dataclass(frozen=True)
class Hyperparameter:
    """One hyperparameter of an optimizer: its type, default, range and meaning.

    ``minimum``/``maximum`` are None when unbounded; ``*_inclusive`` says whether the
    bound itself is allowed.
    """

    name: str
    type: str
    default: Any
    description: str = ""
    minimum: float | None = None
    minimum_inclusive: bool = False
    maximum: float | None = None
    maximum_inclusive: bool = False

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Hyperparameter:
        return cls(
            name=str(body["name"]),
            type=str(body.get("type", "")),
            default=body.get("default"),
            description=str(body.get("description", "")),
            minimum=body.get("minimum"),
            minimum_inclusive=bool(body.get("minimum_inclusive", False)),
            maximum=body.get("maximum"),
            maximum_inclusive=bool(body.get("maximum_inclusive", False)),
        )


@dataclass(frozen=True)
class Optimizer:
    """An optimizer ``train`` takes (``optimizer=name``) and its hyperparameters.

    ``sign_based`` optimizers (the RProp family) use only the gradient's sign.
    """

    name: str
    summary: str
    sign_based: bool
    hyperparameters: tuple[Hyperparameter, ...]

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Optimizer:
        return cls(
            name=str(body["name"]),
            summary=str(body.get("summary", "")),
            sign_based=bool(body.get("sign_based", False)),
            hyperparameters=tuple(
                Hyperparameter.from_json(h) for h in body.get("hyperparameters", ())
            ),
        )


@dataclass(frozen=True)
class Health:
    """Liveness: ``status`` is ``"ok"`` whenever the process answers."""

    status: str


@dataclass(frozen=True)
class Readiness:
    """Readiness: whether every component the service needs answers.

    ``components`` maps each (``datasets``, ``job_store``, ``job_queue``) to ``"ok"`` or
    what is wrong with it; ``warnings`` name what works but may lose data.
    """

    ready: bool
    components: Mapping[str, str]
    warnings: tuple[str, ...]

    @classmethod
    def from_json(cls, body: Mapping[str, Any], ready: bool) -> Readiness:
        return cls(
            ready=ready,
            components=dict(body.get("components") or {}),
            warnings=tuple(str(w) for w in body.get("warnings") or ()),
        )


def as_weights(value: Weights | Sequence[float] | Mapping[str, float]) -> dict[str, float]:
    """``(wx, wrec)``, a ``Weights`` or ``{"wx", "wrec"}`` as the API's Weights object."""
    if isinstance(value, Mapping):
        return {"wx": float(value["wx"]), "wrec": float(value["wrec"])}
    wx, wrec = value
    return {"wx": float(wx), "wrec": float(wrec)}
