"""The app factory: settings in, a FastAPI app out; state is built in the lifespan.

Importing this module does no work; ``create_app()`` wires routers, error handlers,
middleware and metrics, and the lifespan builds what requests share (dataset registry,
compute limiter, readiness check). Other parts extend it in the same places: routers in
``service.routes.ROUTERS``, shared state in ``lifespan``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from importlib.metadata import PackageNotFoundError, version

from fastapi import Depends, FastAPI
from prometheus_client import CollectorRegistry, GCCollector, PlatformCollector, ProcessCollector
from prometheus_fastapi_instrumentator import Instrumentator

from service.analysis.routes import router as analysis_router
from service.config import Settings
from service.datasets.routes import router as datasets_router
from service.datasets.store import DatasetRegistry
from service.explorer.routes import router as explorer_router
from service.figures.routes import router as figures_router
from service.jobs.lifecycle import jobs_lifespan
from service.jobs.routes import router as jobs_router
from service.operations.routes import router as operations_router
from service.predict.routes import router as predict_router
from service.web.body import BodyBudget
from service.web.compute import ComputeLimiter, ComputeMetrics, tune_allocator
from service.web.headers import SecurityHeadersMiddleware
from service.web.middleware import (
    BearerAuthMiddleware,
    BodyLimitMiddleware,
    RequestContextMiddleware,
)
from service.web.openapi import install_openapi
from service.web.problems import install_problem_handlers
from service.web.query import strict_query

__all__ = ["create_app"]

DESCRIPTION = """\
Explore and train the minimal linear RNN of the tutorial *How to implement an RNN (1/2)*:
s_k = s_{k-1} * wrec + x_k * wx, output y = s_n, loss = mean (t - y)^2.

Every endpoint that needs data takes a dataset reference: `dataset_id` (from
`POST /datasets`), an inline `dataset` (a generation spec or the sequences), or nothing
(the tutorial's 20 sequences of 10 bits). Errors are RFC 9457 problem details.
Overflowed results (|wrec| > 1 on long sequences) are `null` with an `overflow` flag.
"""


# Every resource's router, in the order of the API's documentation.
ROUTERS = (
    operations_router,
    datasets_router,
    analysis_router,
    predict_router,
    jobs_router,
    figures_router,
    explorer_router,
)


def _version() -> str:
    try:
        return version("rnnlab")
    except PackageNotFoundError:  # running from a source tree without installing
        return "0.0.0"


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Build the shared state; anything entered on ``stack`` is closed at shutdown."""
    settings: Settings = app.state.settings
    tune_allocator()
    async with AsyncExitStack() as stack:
        app.state.stack = stack
        app.state.datasets = DatasetRegistry(settings)
        app.state.body_budget = BodyBudget(settings.max_body_memory)
        app.state.compute = ComputeLimiter(
            settings.max_concurrent_computations,
            settings.max_pending_computations,
            budget=settings.max_compute_seconds,
        )
        # name -> async check returning ({component: "ok" or what is wrong}, warnings)
        app.state.ready_checks = {"datasets": app.state.datasets.readiness}
        # Set by the jobs backend: job id -> (wx, wrec) of its trained weights.
        app.state.resolve_job_weights = None
        # Training jobs: sets app.state.jobs, the readiness check and the job_id hook.
        await stack.enter_async_context(jobs_lifespan(app))
        yield


def _instrument(app: FastAPI) -> None:
    """/metrics: request counts and latencies per route, in a registry of this app's own
    (several apps in one process, as in tests, would otherwise share and lose series).

    The registry is ``app.state.metrics_registry``: the jobs lifespan adds the job series.
    """
    registry = CollectorRegistry()
    app.state.metrics_registry = registry
    for collector in (ProcessCollector, PlatformCollector, GCCollector):
        collector(registry=registry)
    registry.register(ComputeMetrics(app))
    Instrumentator(excluded_handlers=["/metrics"], registry=registry).instrument(app).expose(
        app, include_in_schema=False
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    """A configured app; ``settings`` defaults to the ``RNNLAB_*`` environment."""
    settings = settings or Settings()
    app = FastAPI(
        title="rnnlab",
        version=_version(),
        summary="The minimal linear RNN of the tutorial, over HTTP.",
        description=DESCRIPTION,
        lifespan=lifespan,
        separate_input_output_schemas=False,
        dependencies=[Depends(strict_query)],
    )
    app.state.settings = settings
    for router in ROUTERS:
        app.include_router(router)
    install_problem_handlers(app)
    install_openapi(app)
    _instrument(app)
    # Each add wraps the previous ones: request id/log, then auth, then the body limit.
    app.add_middleware(
        BodyLimitMiddleware,
        max_body_bytes=settings.max_body_bytes,
        body_timeout=settings.body_timeout,
    )
    if settings.api_token is not None:
        app.add_middleware(BearerAuthMiddleware, token=settings.api_token.get_secret_value())
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(RequestContextMiddleware, send_timeout=settings.send_timeout)
    return app
