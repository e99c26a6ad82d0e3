"""``AsyncClient``: ``Client``'s methods, to ``await`` (asyncio).

Requests and answers are described once in ``rnnlab_client._api``; this module sends them
with ``httpx.AsyncClient``. Each method's documentation is ``Client``'s, and a test keeps
the two classes' methods, signatures and docstrings the same. Its length is the public
surface: one documented method per operation, each a line or two of code.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from types import TracebackType
from typing import TypeVar, Unpack

import httpx
import numpy as np
from numpy.typing import NDArray

from rnnlab_client import _api, _http
from rnnlab_client._api import DatasetArgs, FigureFormat, Sequences, StartsGrid, WeightsLike
from rnnlab_client._http import AsyncHTTP, Retries, as_retries, default_headers
from rnnlab_client._job import IDLE_TIMEOUT, POLL_INTERVAL, Deadline, JobView
from rnnlab_client._progress import Bar, progress_bar
from rnnlab_client._sse import aevents
from rnnlab_client.errors import ProblemError
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
)

__all__ = ["AsyncClient", "AsyncJob"]

T = TypeVar("T")


class AsyncClient:
    """A connection to an rnnlab service for asyncio code: ``Client``'s methods, awaited.

    Args:
        base_url: The service's address; default ``RNNLAB_URL`` from the environment,
            else ``http://127.0.0.1:8000`` (where ``rnnlab serve`` listens).
        token: The bearer token of a service started with ``RNNLAB_API_TOKEN``; default
            that same variable from the environment (``""``: send none).
        timeout: Seconds to wait for a connection or for each read (or an
            ``httpx.Timeout`` for finer control).
        retries: How many times a call is retried after a 429 or 503 answer (waiting the
            ``Retry-After`` it asks for) or a failed connection, or a ``Retries`` policy;
            0 never retries. A training job is never submitted twice (see ``Retries``).
        headers: Extra headers sent with every request.
        transport: An httpx transport to use instead of the network (e.g.
            ``httpx.ASGITransport`` for an app in the same process, or a mock in tests).

    Use it as ``async with AsyncClient(...) as c:``, or ``await c.close()``, to release its
    connections. Every method raises ``ProblemError`` when the service answers an error,
    ``ConnectionFailedError`` when there is no answer, and ``ValueError`` for arguments that
    cannot be sent (before any request).
    """

    def __init__(
        self,
        base_url: str | None = None,
        token: str | None = None,
        *,
        timeout: float | httpx.Timeout = 60.0,
        retries: int | Retries = 3,
        headers: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = _http.base_url(base_url)
        client = httpx.AsyncClient(
            base_url=self.base_url,
            headers=default_headers(token, headers),
            timeout=timeout,
            transport=transport,
        )
        self._http = AsyncHTTP(client, as_retries(retries))

    async def close(self) -> None:
        """Close the connections (the client cannot be used afterwards)."""
        await self._http.client.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"AsyncClient({self.base_url!r})"

    async def _call(self, call: _api.Call[T]) -> T:
        return call.read(await self._http.send(call.request))

    async def _stored(self, dataset: DatasetArgs) -> DatasetArgs:
        """The dataset as a GET can name it: sequences are stored first (same data, same id)."""
        if _api.needs_upload(dataset):
            return {"dataset_id": (await self.create_dataset(**dataset)).id}
        return dataset

    # -- operations ------------------------------------------------------------------------

    async def health(self) -> Health:
        """Liveness: ``Health(status="ok")`` whenever the service process answers.

        Raises:
            ConnectionFailedError: nothing answers at ``base_url``.
        """
        return await self._call(_api.health())

    async def ready(self) -> Readiness:
        """Readiness: whether every component the service needs (datasets, job store and
        queue) answers. A 503 is not raised: it is ``Readiness(ready=False, ...)`` with
        ``components`` saying which part is broken and why.

        Raises:
            ConnectionFailedError: nothing answers at ``base_url``.
        """
        try:
            return await self._call(_api.ready())
        except ProblemError as exc:
            if exc.status != 503:
                raise
            return _not_ready(exc)

    async def optimizers(self) -> list[Optimizer]:
        """The optimizers ``train`` takes, with each hyperparameter's default and range."""
        return await self._call(_api.optimizers())

    # -- analysis --------------------------------------------------------------------------

    async def loss(self, wx: float, wrec: float, **dataset: Unpack[DatasetArgs]) -> float:
        """The loss ξ = mean over sequences of (t - y)², y = s_n, s_k = s_{k-1}·wrec + x_k·wx.

        Args:
            wx: Input weight.
            wrec: Recurrent weight.
            **dataset: Which dataset (``DatasetArgs``): ``dataset_id=``, a spec
                (``n_samples=``, ``length=``, ``seed=``, ...) or ``sequences=`` (and
                ``targets=``); none of them: the tutorial dataset.

        Returns:
            The loss; nan when it overflowed float64 (|wrec| > 1 on long sequences).

        Raises:
            ProblemError: 422 for invalid values, 404 for an unknown ``dataset_id``,
                413 for a dataset over the service's limits.
        """
        return await self._call(_api.loss(wx, wrec, dataset))

    async def outputs(self, wx: float, wrec: float, **dataset: Unpack[DatasetArgs]) -> Outputs:
        """The network's output y = s_n on every sequence of the dataset, and the loss.

        Args:
            wx: Input weight.
            wrec: Recurrent weight.
            **dataset: Which dataset (``DatasetArgs``); none: the tutorial dataset.

        Returns:
            ``Outputs``: ``.outputs`` (one float per sequence, nan where it overflowed),
            ``.loss`` and ``.overflow``.

        Raises:
            ProblemError: as ``loss``.
        """
        return await self._call(_api.outputs(wx, wrec, dataset))

    async def gradient(
        self,
        wx: float,
        wrec: float,
        *,
        sequence_trace: bool = False,
        **dataset: Unpack[DatasetArgs],
    ) -> Gradient:
        """The loss and its gradient by backpropagation through time (BPTT).

        Args:
            wx: Input weight.
            wrec: Recurrent weight.
            sequence_trace: Also return dξ/dS_k of every sequence (sequences x (n + 1)
                numbers, bounded by the service's ``max_include_elements``).
            **dataset: Which dataset (``DatasetArgs``); none: the tutorial dataset.

        Returns:
            ``Gradient``: ``.loss``, ``.wx`` = dξ/dwx, ``.wrec`` = dξ/dwrec, ``.trace``
            (dξ/dS_k summed over sequences, k = 0..n, a NumPy array), ``.sequence_trace``
            (when asked) and ``.overflow``; overflowed values are nan.

        Raises:
            ProblemError: as ``loss``; 413 when the sequence trace would be too large.
        """
        return await self._call(_api.gradient(wx, wrec, sequence_trace, dataset))

    async def gradient_check(
        self, wx: float, wrec: float, *, eps: float = 1e-7, **dataset: Unpack[DatasetArgs]
    ) -> GradientCheck:
        """BPTT's gradient next to central differences of the loss, and whether they agree.

        Args:
            wx: Input weight.
            wrec: Recurrent weight.
            eps: Step of the central differences, in (0, 1].
            **dataset: Which dataset (``DatasetArgs``); none: the tutorial dataset.

        Returns:
            ``GradientCheck``: ``.analytic`` and ``.numeric`` (``Weights`` pairs),
            ``.max_abs_error``, ``.max_rel_error``, ``.ok`` (numpy.isclose defaults).

        Raises:
            ProblemError: as ``loss``.
        """
        return await self._call(_api.gradient_check(wx, wrec, eps, dataset))

    async def loss_surface(
        self,
        *,
        wx_min: float = -3.0,
        wx_max: float = 3.0,
        wrec_min: float = -3.0,
        wrec_max: float = 3.0,
        resolution: int = 50,
        nx: int | None = None,
        ny: int | None = None,
        **dataset: Unpack[DatasetArgs],
    ) -> LossSurface:
        """The loss on an evenly spaced grid over a window of (wx, wrec).

        Fetched as a binary .npy matrix (about half the bytes of JSON, and no parsing);
        the grid values are ``numpy.linspace`` of the window, as the service makes them.
        A dataset given as ``sequences=`` is stored first (``create_dataset``), because
        this is a GET.

        Args:
            wx_min, wx_max: The window along wx (min <= max).
            wrec_min, wrec_max: The window along wrec.
            resolution: Grid points per axis, unless ``nx`` / ``ny`` say otherwise.
            nx: Grid points along wx.
            ny: Grid points along wrec.
            **dataset: Which dataset (``DatasetArgs``); none: the tutorial dataset.

        Returns:
            ``LossSurface``: ``.loss`` of shape (ny, nx), row i at ``.wrec[i]`` and
            column j at ``.wx[j]``, nan where the loss overflowed (``.overflow``);
            ``.min`` is the cell of smallest loss.

        Raises:
            ProblemError: 422 for an invalid window, 413 for a grid or computation over
                the service's limits, 429 (after the retries) when it is busy.
        """
        call = _api.loss_surface(
            wx_min,
            wx_max,
            wrec_min,
            wrec_max,
            resolution if nx is None else nx,
            resolution if ny is None else ny,
            await self._stored(dataset),
        )
        return await self._call(call)

    async def gradient_over_time(
        self, points: Sequence[WeightsLike] | None = None, **dataset: Unpack[DatasetArgs]
    ) -> GradientOverTime:
        """dξ/dS_k summed over sequences at each point, k = 0..n: how the gradient explodes
        (|wrec| > 1) or vanishes (|wrec| < 1) going back in time.

        Args:
            points: (wx, wrec) pairs; default the tutorial's six, (2, 1), (1, 2),
                (1, -2), (1, 0), (1, 0.5), (1, -0.5).
            **dataset: Which dataset (``DatasetArgs``); ``sequences=`` are stored first.

        Returns:
            ``GradientOverTime``: ``.timesteps`` (0..n), ``.series`` (one
            ``GradientSeries`` per point: ``.wx``, ``.wrec``, ``.grad``, ``.overflow``)
            and ``.grads``, all of them as one (points, n + 1) array.

        Raises:
            ProblemError: 422 for malformed points, 413 for too many.
        """
        return await self._call(_api.gradient_over_time(points, await self._stored(dataset)))

    async def predict(
        self,
        sequences: Sequences,
        *,
        weights: WeightsLike | None = None,
        job_id: str | None = None,
    ) -> NDArray[np.float64]:
        """The network's output for each sequence, with given weights or a trained job's.

        Args:
            sequences: Input rows of any lengths (longer than the training ones too) and
                any real values, e.g. ``[[0, 1, 1, 0, 0, 0, 0, 1, 0, 0, 1, 1]]``.
            weights: ``(wx, wrec)``, a ``Weights`` or ``{"wx", "wrec"}``.
            job_id: A succeeded training job whose trained weights to use (instead).

        Returns:
            One output per sequence (float64; nan where it overflowed).
            ``numpy.rint`` gives the count of ones the network predicts.

        Raises:
            ValueError: both or neither of ``weights`` and ``job_id``.
            ProblemError: 404 unknown job, 409 a job that has not succeeded, 413 over
                the service's limits.
        """
        return await self._call(_api.predict(sequences, weights, job_id))

    # -- datasets --------------------------------------------------------------------------

    async def create_dataset(self, **dataset: Unpack[DatasetArgs]) -> Dataset:
        """Store a dataset and get its id, to pass as ``dataset_id=`` later.

        Generated datasets store only their spec (their id is a hash of it); uploaded
        ones are kept on the server's disk. The same spec or the same data always gives
        the same id, so calling this twice is harmless.

        Args:
            **dataset: A spec (``n_samples=``, ``length=`` or ``min_length=`` and
                ``max_length=``, ``seed=``, ``p_one=``, ``generator=``) or
                ``sequences=`` (and ``targets=``, default the row sums); nothing: the
                tutorial dataset's spec.

        Returns:
            ``Dataset`` with ``.id``, ``.kind``, ``.n_samples``, ``.min_length``,
            ``.max_length``, ``.is_binary`` and ``.created_at``.

        Raises:
            ProblemError: 422 invalid spec or data, 413 over the service's limits, 507
                when the server's disk is full.
        """
        return await self._call(_api.create_dataset(dataset))

    async def get_dataset(self, dataset_id: str, *, include_data: bool = False) -> Dataset:
        """A stored dataset's description, and with ``include_data`` its data.

        Args:
            dataset_id: The id ``create_dataset`` returned.
            include_data: Also fetch ``.sequences`` (one array per row, unpadded) and
                ``.targets``.

        Raises:
            ProblemError: 404 unknown id; 413 data over ``max_include_elements``.
        """
        return await self._call(_api.get_dataset(dataset_id, include_data))

    def list_datasets(
        self, *, page_size: int = 100, limit: int | None = None
    ) -> AsyncIterator[Dataset]:
        """Every stored dataset, oldest first, fetched a page at a time as you iterate.

        Args:
            page_size: Datasets per request (1..1000).
            limit: Stop after this many (default: all).

        Returns:
            An iterator of ``Dataset`` (asynchronous from the asyncio client).
        """
        return _limited(self._dataset_pages(page_size), limit)

    async def _dataset_pages(self, page_size: int) -> AsyncIterator[Dataset]:
        cursor: str | None = None
        while True:
            items, cursor = await self._call(_api.dataset_page(page_size, cursor))
            for item in items:
                yield item
            if cursor is None:
                return

    async def delete_dataset(self, dataset_id: str) -> None:
        """Remove a stored dataset.

        Raises:
            ProblemError: 404 unknown id; 409 while queued or running jobs use it.
        """
        await self._call(_api.delete_dataset(dataset_id))

    # -- training --------------------------------------------------------------------------

    async def train(
        self,
        *,
        optimizer: str | None = None,
        hyperparameters: Mapping[str, float | bool | None] | None = None,
        iterations: int | None = None,
        initial: WeightsLike | None = None,
        tolerance: float | None = None,
        record_trajectory: bool | None = None,
        starts: Sequence[WeightsLike] | None = None,
        starts_grid: StartsGrid | None = None,
        **dataset: Unpack[DatasetArgs],
    ) -> AsyncJob:
        """Queue a training job and return its handle at once (the service answers 202).

        Every argument left out takes the service's default, which is the tutorial's run:
        ``rprop`` from (wx, wrec) = (-1.5, 2) for 500 iterations on the tutorial dataset.

        Args:
            optimizer: ``"rprop"`` (the tutorial's), ``"rprop-"``, ``"rprop+"``,
                ``"irprop-"``, ``"irprop+"`` or ``"sgd"`` (``optimizers()`` lists them).
            hyperparameters: The optimizer's settings, e.g. ``{"eta_plus": 1.2}`` or
                ``{"learning_rate": 1e-3, "momentum": 0.9}``; unset ones take defaults.
            iterations: Full-batch gradient steps (per start).
            initial: Where training starts, ``(wx, wrec)``.
            tolerance: Stop early once the loss is at or below this (``converged``).
            record_trajectory: Keep every iteration's weights and loss (default True),
                for ``Job.trajectory()`` and ``Job.figure()``.
            starts: Train from each of these (wx, wrec) instead of ``initial``; the result
                reports the best and lists all.
            starts_grid: Train from every point of a grid (``StartsGrid``) instead.
            **dataset: Which dataset (``DatasetArgs``); none: the tutorial dataset.
                Inline ``sequences=`` are stored by the service with the job.

        Returns:
            A ``Job`` (queued): ``job.wait()`` follows it to its end, ``job.result`` then
            holds the trained weights.

        Raises:
            ProblemError: 422 invalid request (unknown optimizer, bad hyperparameter),
                404 unknown dataset, 413 over the job limits, 429 queue full or 503 job
                backend down (each after the retries).
        """
        call = _api.train(
            initial=initial,
            optimizer=optimizer,
            hyperparameters=hyperparameters,
            iterations=iterations,
            tolerance=tolerance,
            record_trajectory=record_trajectory,
            starts=starts,
            starts_grid=starts_grid,
            args=dataset,
        )
        return AsyncJob(self, await self._call(call))

    async def job(self, job_id: str) -> AsyncJob:
        """The handle of an existing job, with its current state.

        Raises:
            ProblemError: 404 unknown (or expired) job.
        """
        return AsyncJob(self, await self._call(_api.get_job(job_id)))

    def list_jobs(
        self, *, status: str | None = None, page_size: int = 50, limit: int | None = None
    ) -> AsyncIterator[AsyncJob]:
        """Jobs, newest first, fetched a page at a time as you iterate.

        Args:
            status: Only jobs in this status (``queued``, ``running``, ``succeeded``,
                ``failed``, ``cancelled``).
            page_size: Jobs per request (1..500).
            limit: Stop after this many (default: all).

        Returns:
            An iterator of job handles (asynchronous from the asyncio client).

        Raises:
            ProblemError: 422 for an unknown status.
        """
        return _limited(self._job_pages(status, page_size), limit)

    async def _job_pages(self, status: str | None, page_size: int) -> AsyncIterator[AsyncJob]:
        cursor: str | None = None
        while True:
            states, cursor = await self._call(_api.job_page(status, page_size, cursor))
            for state in states:
                yield AsyncJob(self, state)
            if cursor is None:
                return

    # -- figures ---------------------------------------------------------------------------

    async def figure_loss_surface(
        self,
        fmt: FigureFormat = "png",
        *,
        wx_min: float | None = None,
        wx_max: float | None = None,
        wrec_min: float | None = None,
        wrec_max: float | None = None,
        resolution: int | None = None,
        zoom: bool | None = None,
        zoom_wx_min: float | None = None,
        zoom_wx_max: float | None = None,
        zoom_wrec_min: float | None = None,
        zoom_wrec_max: float | None = None,
        points: Sequence[WeightsLike] | None = None,
        width: int | None = None,
        height: int | None = None,
        dpi: int | None = None,
        **dataset: Unpack[DatasetArgs],
    ) -> bytes:
        """The tutorial's loss-surface figure (overview and zoom, log colours) as an image.

        Args:
            fmt: ``"png"`` or ``"svg"``.
            wx_min, wx_max, wrec_min, wrec_max: The overview window (default [-3, 3]²).
            resolution: Grid points per axis (default 50).
            zoom: Draw the zoom panel (default True).
            zoom_wx_min, zoom_wx_max, zoom_wrec_min, zoom_wrec_max: The zoom window
                (default [-0.1, 2.1]²).
            points: (wx, wrec) points to annotate (default the tutorial's six).
            width, height: Pixels (default 1000 x 400); dpi: dots per inch (default 100).
            **dataset: Which dataset (``DatasetArgs``); ``sequences=`` are stored first.

        Returns:
            The image file's bytes (write them to a ``.png`` / ``.svg`` file).

        Raises:
            ProblemError: 422 invalid window, 413 over the figure limits.
        """
        params = {
            "wx_min": wx_min,
            "wx_max": wx_max,
            "wrec_min": wrec_min,
            "wrec_max": wrec_max,
            "resolution": resolution,
            "zoom": zoom,
            "zoom_wx_min": zoom_wx_min,
            "zoom_wx_max": zoom_wx_max,
            "zoom_wrec_min": zoom_wrec_min,
            "zoom_wrec_max": zoom_wrec_max,
            "points": points,
            "width": width,
            "height": height,
            "dpi": dpi,
        }
        return await self._call(_api.figure_loss_surface(fmt, params, await self._stored(dataset)))

    async def figure_gradient_over_time(
        self,
        fmt: FigureFormat = "png",
        *,
        points: Sequence[WeightsLike] | None = None,
        width: int | None = None,
        height: int | None = None,
        dpi: int | None = None,
        **dataset: Unpack[DatasetArgs],
    ) -> bytes:
        """The tutorial's gradient-over-time figure: dξ/dS_k at each point, symlog axis.

        Args:
            fmt: ``"png"`` or ``"svg"``.
            points: (wx, wrec) points, one line each (default the tutorial's six).
            width, height: Pixels (default 800 x 450); dpi: dots per inch (default 100).
            **dataset: Which dataset (``DatasetArgs``); ``sequences=`` are stored first.

        Returns:
            The image file's bytes.

        Raises:
            ProblemError: 422 malformed points, 413 over the figure limits.
        """
        params = {"points": points, "width": width, "height": height, "dpi": dpi}
        return await self._call(
            _api.figure_gradient_over_time(fmt, params, await self._stored(dataset))
        )

    async def figure_job(
        self,
        job_id: str,
        fmt: FigureFormat = "png",
        *,
        resolution: int | None = None,
        width: int | None = None,
        height: int | None = None,
        dpi: int | None = None,
    ) -> bytes:
        """A finished job's path (every start) on the loss surface of its dataset.

        Args:
            job_id: The job.
            fmt: ``"png"`` or ``"svg"``.
            resolution: Grid points per axis of the surface (default 50).
            width, height: Pixels (default 1000 x 400); dpi: dots per inch (default 100).

        Returns:
            The image file's bytes.

        Raises:
            ProblemError: 404 unknown job or no recorded trajectory, 409 while it runs.
        """
        params = {"resolution": resolution, "width": width, "height": height, "dpi": dpi}
        return await self._call(_api.figure_job(job_id, fmt, params))


class AsyncJob(JobView):
    """A training job of an ``AsyncClient``: its last known state, and what can be done with it.

    Properties (``status``, ``progress``, ``finished``, ``result``, ``error``, ...) read
    the state the service last reported; ``refresh()``, ``wait()`` and ``cancel()``
    update it.
    """

    def __init__(self, client: AsyncClient, state: JobState) -> None:
        super().__init__(state)
        self._client = client

    async def refresh(self) -> AsyncJob:
        """Read the job's current state from the service; returns the job itself.

        Raises:
            ProblemError: 404 when the job no longer exists (expired).
        """
        self._state = await self._client._call(_api.get_job(self.id))
        return self

    async def cancel(self) -> AsyncJob:
        """Cancel the job: a queued one at once, a running one within about a second.

        Returns:
            The job itself, its state as the DELETE left it (``cancelled``, or still
            ``running`` with the cancel requested if it had not stopped yet).

        Raises:
            ProblemError: 409 when the job had already ended.
        """
        self._state = await self._client._call(_api.cancel_job(self.id))
        return self

    async def wait(self, *, progress: bool = False, timeout: float | None = None) -> AsyncJob:
        """Follow the job until it ends, by its event stream (``GET /jobs/{id}/events``).

        A broken stream is resumed; when the service refuses another stream (429/503)
        the job is polled instead. The job's state is updated as events arrive.

        Args:
            progress: Show a tqdm progress bar (iterations, status, loss) on stderr, or
                as a widget in a notebook; needs ``rnnlab-client[progress]``.
            timeout: Give up after this many seconds (default: wait as long as it runs).

        Returns:
            The job itself, ended: read ``.result`` (raises ``JobFailedError`` if the job
            failed or was cancelled) or ``.status``.

        Raises:
            WaitTimeoutError: ``timeout`` ran out first (the job goes on; a ``TimeoutError``).
            ConnectionFailedError: the service stopped answering.
            ImportError: ``progress=True`` without tqdm installed.
        """
        deadline = Deadline(timeout)
        if self.finished:
            return self
        bar = progress_bar(progress, self._state)
        try:
            while not self.finished:
                deadline.check(self._state)
                if not await self._follow(deadline, bar):  # refused another stream: poll
                    await self._client._http.sleep(deadline.bound(POLL_INTERVAL))
                    await self.refresh()
                bar.show(self._state)
            return self
        finally:
            bar.close()

    async def _follow(self, deadline: Deadline, bar: Bar) -> bool:
        """Apply the stream's events until the job ends or the stream stops; False when the
        service refused the stream."""
        heard = False
        request = _api.job_events(self.id, deadline.bound(IDLE_TIMEOUT))
        try:
            async with self._client._http.stream(request) as response:
                async for event in aevents(response.aiter_lines()):
                    heard = True
                    self._apply(event)
                    bar.show(self._state)
                    if self.finished:
                        return True
                    deadline.check(self._state)
        except ProblemError as exc:
            if exc.status in (429, 503):
                return False
            raise
        except httpx.TransportError:
            pass  # the stream broke or went silent: the job's state says what next
        if not heard:  # an empty stream: do not come straight back
            await self._client._http.sleep(deadline.bound(POLL_INTERVAL))
        await self.refresh()
        return True

    async def trajectory(self, start: int | None = None) -> Trajectory:
        """The path training took: weights and loss before the first and after every
        iteration, as NumPy arrays (fetched as .npy).

        Args:
            start: For a multi-start job, which start (default: the reported, best one).

        Returns:
            ``Trajectory`` with ``.wx``, ``.wrec``, ``.loss`` (``iterations + 1`` values
            each, nan where they overflowed).

        Raises:
            ProblemError: 409 while the job runs, 404 when it recorded no trajectory.
        """
        return await self._client._call(_api.trajectory(self.id, start))

    async def figure(
        self,
        fmt: FigureFormat = "png",
        *,
        resolution: int | None = None,
        width: int | None = None,
        height: int | None = None,
        dpi: int | None = None,
    ) -> bytes:
        """The job's path on the loss surface as an image (see ``Client.figure_job``)."""
        return await self._client.figure_job(
            self.id, fmt, resolution=resolution, width=width, height=height, dpi=dpi
        )


def _not_ready(exc: ProblemError) -> Readiness:
    """``/ready``'s 503 problem as a Readiness (its extensions hold the components)."""
    return Readiness.from_json(exc.problem.extensions, ready=False)


def _limited(items: AsyncIterator[T], limit: int | None) -> AsyncIterator[T]:
    """The first ``limit`` items (all of them for None); pages past them are never fetched."""
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit}")
    return _islice(items, limit)


async def _islice(items: AsyncIterator[T], limit: int | None) -> AsyncIterator[T]:
    if limit == 0:
        return
    count = 0
    async for item in items:
        yield item
        count += 1
        if count == limit:
            return
