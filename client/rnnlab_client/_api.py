"""The API's operations as data: the request each client method sends, and how its answer
is read. ``Client`` and ``AsyncClient`` share every line here and differ only in how
they send (``rnnlab_client._http``), so the two cannot drift apart. Its length is one
short function per operation of the API, kept together so that they read alike.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypedDict, TypeVar

import httpx
import numpy as np
from numpy.typing import ArrayLike, NDArray

from rnnlab_client._http import Request
from rnnlab_client.errors import UnexpectedResponseError
from rnnlab_client.models import (
    Dataset,
    Gradient,
    GradientCheck,
    GradientOverTime,
    Health,
    JobState,
    LossSurface,
    Optimizer,
    Outputs,
    Readiness,
    Trajectory,
    Weights,
    as_weights,
)

T = TypeVar("T")

NPY = "application/x-npy"
FigureFormat = Literal["png", "svg"]
Generator = Literal["pcg64", "legacy"]
WeightsLike = Weights | Sequence[float] | Mapping[str, float]
Sequences = Sequence[ArrayLike] | NDArray[Any]

_SPEC_FIELDS = ("n_samples", "length", "min_length", "max_length", "seed", "p_one", "generator")
_DATA_FIELDS = ("sequences", "targets")


class DatasetArgs(TypedDict, total=False):
    """Which dataset a call works on, given the way the API takes it (at most one form):

    - ``dataset_id``: a stored dataset (from ``create_dataset``);
    - a generation spec: ``n_samples`` with ``length`` (or ``min_length`` and
      ``max_length``), and optionally ``seed`` (default 0), ``p_one`` (probability of a
      one, default 0.5) and ``generator`` (``"pcg64"``, default, or ``"legacy"``, the
      tutorial's NumPy stream); deterministic, so the same spec is the same data;
    - ``sequences`` (rows of numbers, lengths may differ) and optionally ``targets``
      (default: each row's sum);
    - nothing: the tutorial's dataset (20 sequences of 10 bits, seed 1, legacy).
    """

    dataset_id: str
    n_samples: int
    length: int
    min_length: int
    max_length: int
    seed: int
    p_one: float
    generator: Generator
    sequences: Sequences
    targets: ArrayLike | None


class StartsGrid(TypedDict):
    """An evenly spaced nx x ny grid of starting points over a window of weight space.

    Start ``i * nx + j`` begins at (wx[j], wrec[i]) with wx, wrec ``numpy.linspace`` over
    [wx_min, wx_max] and [wrec_min, wrec_max]: the cell ``loss[i, j]`` of ``loss_surface``
    on the same window.
    """

    wx_min: float
    wx_max: float
    wrec_min: float
    wrec_max: float
    nx: int
    ny: int


@dataclass(frozen=True)
class Call(Generic[T]):
    """A request and the function that reads its successful answer."""

    request: Request
    parse: Callable[[httpx.Response], T]

    def read(self, response: httpx.Response) -> T:
        """The parsed answer; UnexpectedResponseError when it is not what the API documents."""
        try:
            return self.parse(response)
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise UnexpectedResponseError(
                f"{self.request.method} {self.request.path}: unexpected answer "
                f"({response.headers.get('content-type', 'no content type')}): {exc!r}",
                status=response.status_code,
                request_id=response.headers.get("x-request-id"),
            ) from exc


# -- datasets as arguments ----------------------------------------------------------------


def _rows(sequences: Sequences) -> list[list[float]]:
    """Sequences as JSON-ready rows of floats (a 2-D array converts in one step)."""
    array = sequences if isinstance(sequences, np.ndarray) else None
    if array is not None and array.ndim == 2:
        return array.astype(np.float64).tolist()  # type: ignore[no-any-return]
    return [np.asarray(row, dtype=np.float64).reshape(-1).tolist() for row in sequences]


def _values(values: ArrayLike) -> list[float]:
    floats: list[float] = np.asarray(values, dtype=np.float64).reshape(-1).tolist()
    return floats


def _form(args: DatasetArgs) -> Literal["id", "spec", "data", "tutorial"]:
    """Which of the API's dataset forms ``args`` is; ValueError when it mixes them."""
    given = [name for name, value in args.items() if value is not None]
    unknown = set(given) - {"dataset_id", *_SPEC_FIELDS, *_DATA_FIELDS}
    if unknown:
        raise ValueError(f"unknown dataset arguments: {', '.join(sorted(unknown))}")
    forms = {
        "id": "dataset_id" in given,
        "spec": any(name in _SPEC_FIELDS for name in given),
        "data": any(name in _DATA_FIELDS for name in given),
    }
    chosen = [form for form, present in forms.items() if present]
    if len(chosen) > 1:
        raise ValueError(
            "give one dataset: dataset_id=, a spec (n_samples=, length=, ...) or "
            f"sequences= (and targets=), not {' and '.join(chosen)}"
        )
    if forms["data"] and args.get("sequences") is None:
        raise ValueError("targets= needs sequences=")
    if forms["spec"] and args.get("n_samples") is None:
        raise ValueError("a dataset spec needs n_samples= (and length=, or min/max_length=)")
    return chosen[0] if chosen else "tutorial"  # type: ignore[return-value]


def _spec(args: DatasetArgs) -> dict[str, Any]:
    return {name: args[name] for name in _SPEC_FIELDS if args.get(name) is not None}  # type: ignore[literal-required]


def _data(args: DatasetArgs) -> dict[str, Any]:
    targets = args.get("targets")
    return {
        "sequences": _rows(args["sequences"]),
        "targets": None if targets is None else _values(targets),
    }


def dataset_source(args: DatasetArgs) -> dict[str, Any]:
    """The body of ``POST /datasets``: a spec or the data (the tutorial spec for nothing)."""
    form = _form(args)
    if form == "id":
        raise ValueError("create_dataset takes a spec or sequences, not dataset_id")
    if form == "data":
        return _data(args)
    if form == "spec":
        return _spec(args)
    return {"n_samples": 20, "length": 10, "seed": 1, "generator": "legacy"}


def dataset_body(args: DatasetArgs) -> dict[str, Any]:
    """The dataset members of a JSON body: ``dataset_id``, ``dataset`` or nothing."""
    form = _form(args)
    if form == "id":
        return {"dataset_id": args["dataset_id"]}
    if form == "spec":
        return {"dataset": _spec(args)}
    if form == "data":
        return {"dataset": _data(args)}
    return {}


def needs_upload(args: DatasetArgs) -> bool:
    """Whether a query-string call must store ``sequences`` first (a GET has no body)."""
    return _form(args) == "data"


def dataset_params(args: DatasetArgs) -> dict[str, Any]:
    """The dataset query parameters of a GET: ``dataset_id=`` or the spec's fields."""
    form = _form(args)
    if form == "data":
        raise AssertionError("sequences are stored first (needs_upload)")
    if form == "id":
        return {"dataset_id": args["dataset_id"]}
    return _spec(args)


# -- answers -------------------------------------------------------------------------------


def _json(response: httpx.Response) -> Any:
    return response.json()


def _load_npy(response: httpx.Response) -> NDArray[np.float64]:
    """A float64 .npy answer (never unpickled), non-finite cells (overflow) as nan."""
    array = np.load(io.BytesIO(response.content), allow_pickle=False).astype(np.float64)
    return np.where(np.isfinite(array), array, np.nan)


def _is_npy(response: httpx.Response) -> bool:
    media_type = str(response.headers.get("content-type", "")).split(";")[0].strip()
    return media_type == NPY


def _points(points: Sequence[WeightsLike] | None) -> str | None:
    """``[(1, 2), (1, -2)]`` as the API's ``1.0:2.0,1.0:-2.0`` (exact decimal round trip)."""
    if points is None:
        return None
    pairs = [as_weights(point) for point in points]
    if not pairs:
        raise ValueError("points must hold at least one (wx, wrec) pair")
    return ",".join(f"{p['wx']!r}:{p['wrec']!r}" for p in pairs)


def _given(**params: Any) -> dict[str, Any]:
    """Query parameters without the ones left to the service's defaults (None)."""
    return {name: value for name, value in params.items() if value is not None}


# -- operations ----------------------------------------------------------------------------


def health() -> Call[Health]:
    return Call(Request("GET", "/health"), lambda r: Health(str(r.json()["status"])))


def ready() -> Call[Readiness]:
    # A 503 here is the answer (not ready), not a reason to wait: see Client.ready.
    request = Request("GET", "/ready", retry_statuses=False)
    return Call(request, lambda r: Readiness.from_json(r.json(), ready=True))


def optimizers() -> Call[list[Optimizer]]:
    return Call(Request("GET", "/optimizers"), lambda r: [Optimizer.from_json(o) for o in r.json()])


def _weights_body(wx: float, wrec: float) -> dict[str, float]:
    return {"wx": float(wx), "wrec": float(wrec)}


def loss(wx: float, wrec: float, args: DatasetArgs) -> Call[float]:
    body = {"weights": _weights_body(wx, wrec), **dataset_body(args)}
    return Call(Request("POST", "/loss", json=body), lambda r: Outputs.from_json(r.json()).loss)


def outputs(wx: float, wrec: float, args: DatasetArgs) -> Call[Outputs]:
    body = {"weights": _weights_body(wx, wrec), "include_outputs": True, **dataset_body(args)}
    return Call(Request("POST", "/loss", json=body), lambda r: Outputs.from_json(r.json()))


def gradient(wx: float, wrec: float, sequence_trace: bool, args: DatasetArgs) -> Call[Gradient]:
    body = {
        "weights": _weights_body(wx, wrec),
        "include_trace": True,  # BPTT computes it anyway: n + 1 numbers
        "include_sequence_trace": sequence_trace,
        **dataset_body(args),
    }
    return Call(Request("POST", "/gradient", json=body), lambda r: Gradient.from_json(r.json()))


def gradient_check(wx: float, wrec: float, eps: float, args: DatasetArgs) -> Call[GradientCheck]:
    body = {"weights": _weights_body(wx, wrec), "eps": eps, **dataset_body(args)}
    return Call(
        Request("POST", "/gradient-check", json=body),
        lambda r: GradientCheck.from_json(r.json()),
    )


def loss_surface(
    wx_min: float,
    wx_max: float,
    wrec_min: float,
    wrec_max: float,
    nx: int,
    ny: int,
    args: DatasetArgs,
) -> Call[LossSurface]:
    """The surface as npy (the loss matrix only: the grid is numpy.linspace of the window,
    as the service makes it, from the same floats sent here); JSON if a server answers it."""
    params = {
        "wx_min": float(wx_min),
        "wx_max": float(wx_max),
        "wrec_min": float(wrec_min),
        "wrec_max": float(wrec_max),
        "nx": nx,
        "ny": ny,
        **dataset_params(args),
    }

    def parse(response: httpx.Response) -> LossSurface:
        if not _is_npy(response):
            return LossSurface.from_json(response.json())
        loss = _load_npy(response)
        if loss.shape != (ny, nx):
            raise ValueError(f"npy of shape {loss.shape}, expected {(ny, nx)}")
        overflow = response.headers.get("x-overflow")
        return LossSurface(
            wx=np.linspace(float(wx_min), float(wx_max), nx),
            wrec=np.linspace(float(wrec_min), float(wrec_max), ny),
            loss=loss,
            overflow=overflow == "true" if overflow else bool(np.isnan(loss).any()),
        )

    return Call(Request("GET", "/loss-surface", params=params, headers={"Accept": NPY}), parse)


def gradient_over_time(
    points: Sequence[WeightsLike] | None, args: DatasetArgs
) -> Call[GradientOverTime]:
    params = _given(points=_points(points), **dataset_params(args))
    return Call(
        Request("GET", "/gradient-over-time", params=params),
        lambda r: GradientOverTime.from_json(r.json()),
    )


def predict(
    sequences: Sequences, weights: WeightsLike | None, job_id: str | None
) -> Call[NDArray[np.float64]]:
    if (weights is None) == (job_id is None):
        raise ValueError("give exactly one of weights= or job_id=")
    body: dict[str, Any] = {"sequences": _rows(sequences)}
    if weights is not None:
        body["weights"] = as_weights(weights)
    else:
        body["job_id"] = job_id
    return Call(
        Request("POST", "/predict", json=body),
        lambda r: np.asarray(r.json()["outputs"], dtype=np.float64),
    )


# datasets


def create_dataset(args: DatasetArgs) -> Call[Dataset]:
    # Content-addressed: posting the same spec or data again gives the same id, so a
    # repeated POST after a broken connection is harmless.
    return Call(
        Request("POST", "/datasets", json=dataset_source(args)),
        lambda r: Dataset.from_json(r.json()),
    )


def get_dataset(dataset_id: str, include_data: bool) -> Call[Dataset]:
    params = {"include": "data"} if include_data else None
    return Call(
        Request("GET", f"/datasets/{_segment(dataset_id)}", params=params),
        lambda r: Dataset.from_json(r.json()),
    )


def dataset_page(page_size: int, cursor: str | None) -> Call[tuple[list[Dataset], str | None]]:
    return Call(
        Request("GET", "/datasets", params=_given(limit=page_size, cursor=cursor)),
        lambda r: _page(r, Dataset.from_json),
    )


def delete_dataset(dataset_id: str) -> Call[None]:
    return Call(
        Request("DELETE", f"/datasets/{_segment(dataset_id)}", idempotent=False), lambda r: None
    )


def _page(
    response: httpx.Response, item: Callable[[Mapping[str, Any]], T]
) -> tuple[list[T], str | None]:
    body = response.json()
    return [item(entry) for entry in body["items"]], body.get("next_cursor")


def _segment(identifier: str) -> str:
    """An id as one path segment (ValueError for one that would change the path)."""
    if not identifier or any(c in identifier for c in "/?#%") or identifier in {".", ".."}:
        raise ValueError(f"not an id: {identifier!r}")
    return identifier


# jobs


def train(
    *,
    initial: WeightsLike | None,
    optimizer: str | None,
    hyperparameters: Mapping[str, float | bool | None] | None,
    iterations: int | None,
    tolerance: float | None,
    record_trajectory: bool | None,
    starts: Sequence[WeightsLike] | None,
    starts_grid: StartsGrid | None,
    args: DatasetArgs,
) -> Call[JobState]:
    """POST /train with only what was given: the service's defaults are the tutorial's run."""
    if starts is not None and starts_grid is not None:
        raise ValueError("give starts= or starts_grid=, not both")
    body: dict[str, Any] = dataset_body(args)
    if initial is not None:
        body["initial"] = as_weights(initial)
    if optimizer is not None or hyperparameters:
        body["optimizer"] = {"name": optimizer or "rprop", **(hyperparameters or {})}
    if iterations is not None:
        body["iterations"] = iterations
    if tolerance is not None:
        body["tolerance"] = tolerance
    if record_trajectory is not None:
        body["record_trajectory"] = record_trajectory
    if starts is not None:
        body["starts"] = [as_weights(start) for start in starts]
    if starts_grid is not None:
        body["starts_grid"] = dict(starts_grid)
    # Not idempotent: a failure after sending is not retried (see rnnlab_client._http).
    request = Request("POST", "/train", json=body, idempotent=False)
    return Call(request, lambda r: JobState.from_json(r.json()))


def get_job(job_id: str) -> Call[JobState]:
    return Call(Request("GET", f"/jobs/{_segment(job_id)}"), lambda r: JobState.from_json(r.json()))


def cancel_job(job_id: str) -> Call[JobState]:
    return Call(
        Request("DELETE", f"/jobs/{_segment(job_id)}", idempotent=False),
        lambda r: JobState.from_json(r.json()),
    )


def job_page(
    status: str | None, page_size: int, cursor: str | None
) -> Call[tuple[list[JobState], str | None]]:
    params = _given(status=status, limit=page_size, cursor=cursor)
    return Call(Request("GET", "/jobs", params=params), lambda r: _page(r, JobState.from_json))


def job_events(job_id: str, idle_timeout: float) -> Request:
    """The event stream; 429/503 (too many streams) are not waited for: ``wait`` polls then.

    ``idle_timeout`` bounds the wait for the next line (the server pings every 15 s)."""
    return Request(
        "GET",
        f"/jobs/{_segment(job_id)}/events",
        headers={"Accept": "text/event-stream"},
        retry_statuses=False,
        timeout=httpx.Timeout(30.0, read=idle_timeout),
    )


def trajectory(job_id: str, start: int | None) -> Call[Trajectory]:
    def parse(response: httpx.Response) -> Trajectory:
        if _is_npy(response):
            return Trajectory.from_table(_load_npy(response))
        return Trajectory.from_json(response.json())

    return Call(
        Request(
            "GET",
            f"/jobs/{_segment(job_id)}/trajectory",
            params=_given(start=start),
            headers={"Accept": NPY},
        ),
        parse,
    )


# figures


def _format(fmt: str) -> FigureFormat:
    if fmt not in ("png", "svg"):
        raise ValueError(f"fmt must be 'png' or 'svg', got {fmt!r}")
    return fmt  # type: ignore[return-value]


def _content(response: httpx.Response) -> bytes:
    return response.content


def figure_loss_surface(fmt: str, params: Mapping[str, Any], args: DatasetArgs) -> Call[bytes]:
    query = _given(**params, **dataset_params(args))
    if "points" in query:
        query["points"] = _points(query["points"])
    if "zoom" in query:
        query["zoom"] = "true" if query["zoom"] else "false"
    return Call(Request("GET", f"/figures/loss-surface.{_format(fmt)}", params=query), _content)


def figure_gradient_over_time(
    fmt: str, params: Mapping[str, Any], args: DatasetArgs
) -> Call[bytes]:
    query = _given(**params, **dataset_params(args))
    if "points" in query:
        query["points"] = _points(query["points"])
    return Call(
        Request("GET", f"/figures/gradient-over-time.{_format(fmt)}", params=query), _content
    )


def figure_job(job_id: str, fmt: str, params: Mapping[str, Any]) -> Call[bytes]:
    return Call(
        Request("GET", f"/jobs/{_segment(job_id)}/figure.{_format(fmt)}", params=_given(**params)),
        _content,
    )
