"""What requests share, typed: the application state and the dependencies routes ask for.

``create_app`` builds an ``AppState`` (settings, dataset store, compute limiter, body
budget, metrics registries); the lifespan adds what needs I/O to start (the job service and
watcher, the figure renderer) and the readiness checks. Routes never touch ``app.state``:
they name what they need by its ``...Dep`` alias, so a route's signature says what it
uses and tests can hand it substitutes. Every dependency is ``async def``: FastAPI runs a
plain ``def`` one in a worker thread, a round trip that costs more than the lookup.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from prometheus_client import CollectorRegistry

from service.config import Settings
from service.datasets.registry import DatasetRegistry
from service.errors import BackendUnavailable
from service.figures.renderer import FigureRenderer
from service.jobs.service import JobService
from service.jobs.watch import JobWatcher
from service.web.body import BodyBudget
from service.web.compute import ComputeLimiter, RequestCompute

__all__ = [
    "AppState",
    "ComputeDep",
    "DatasetsDep",
    "JobsDep",
    "ReadyCheck",
    "RendererDep",
    "SettingsDep",
    "StateDep",
    "WatcherDep",
    "app_state",
]

ReadyCheck = Callable[[], Awaitable[tuple[dict[str, str], list[str]]]]
"""A component's readiness: ({component: "ok" or what is wrong}, warnings)."""


@dataclass
class AppState:
    """Everything the requests of one app share (``app.state.rnnlab``)."""

    settings: Settings
    datasets: DatasetRegistry
    compute: ComputeLimiter
    body_budget: BodyBudget
    metrics: CollectorRegistry  # series this process updates
    live_metrics: CollectorRegistry  # collectors read when scraped (the job store's)
    renderer: FigureRenderer
    ready_checks: dict[str, ReadyCheck] = field(default_factory=dict)
    jobs: JobService | None = None  # set by the jobs lifespan
    watcher: JobWatcher | None = None  # set by the jobs lifespan

    @classmethod
    def build(cls, settings: Settings) -> AppState:
        """The state that needs no I/O: made with the app, before its lifespan."""
        return cls(
            settings=settings,
            datasets=DatasetRegistry(settings),
            compute=ComputeLimiter(
                settings.max_concurrent_computations,
                settings.max_pending_computations,
                budget=settings.max_compute_seconds,
            ),
            body_budget=BodyBudget(settings.max_body_memory, settings.max_body_numbers),
            metrics=CollectorRegistry(),
            live_metrics=CollectorRegistry(),
            renderer=FigureRenderer(settings.figure_processes),
        )


def app_state(app: FastAPI) -> AppState:
    state: AppState = app.state.rnnlab
    return state


async def _state(request: Request) -> AppState:
    return app_state(request.app)


async def _settings(request: Request) -> Settings:
    return app_state(request.app).settings


async def _datasets(request: Request) -> DatasetRegistry:
    return app_state(request.app).datasets


async def _compute(request: Request) -> RequestCompute:
    return RequestCompute(app_state(request.app).compute, request)


async def _jobs(request: Request) -> JobService:
    jobs = app_state(request.app).jobs
    if jobs is None:
        raise BackendUnavailable("the job service is not running", retry_after=5)
    return jobs


async def _watcher(request: Request) -> JobWatcher:
    watcher = app_state(request.app).watcher
    if watcher is None:
        raise BackendUnavailable("the job service is not running", retry_after=5)
    return watcher


async def _renderer(request: Request) -> FigureRenderer:
    return app_state(request.app).renderer


StateDep = Annotated[AppState, Depends(_state)]
SettingsDep = Annotated[Settings, Depends(_settings)]
DatasetsDep = Annotated[DatasetRegistry, Depends(_datasets)]
ComputeDep = Annotated[RequestCompute, Depends(_compute)]
JobsDep = Annotated[JobService, Depends(_jobs)]
WatcherDep = Annotated[JobWatcher, Depends(_watcher)]
RendererDep = Annotated[FigureRenderer, Depends(_renderer)]
