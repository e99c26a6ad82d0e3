"""The app factory: settings in, a FastAPI app out.

Importing this module does no work. ``create_app()`` builds the shared state
(``service.deps.AppState``) and wires the routers of every resource (``ROUTERS``), the
error handlers, the middleware and /metrics; the lifespan starts what needs I/O (the job
backend) and stops it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi_offline import FastAPIOffline

from service import __version__
from service.analysis.routes import router as analysis_router
from service.config import Settings
from service.datasets.routes import router as datasets_router
from service.deps import AppState, app_state
from service.explorer.routes import router as explorer_router
from service.figures.routes import router as figures_router
from service.jobs.lifecycle import jobs_lifespan
from service.jobs.routes import router as jobs_router
from service.operations.routes import router as operations_router
from service.predict.routes import router as predict_router
from service.runs.routes import router as runs_router
from service.web.auth import DOCS_ASSETS
from service.web.compute import tune_allocator
from service.web.metrics import install_metrics
from service.web.middleware import install_middleware
from service.web.negotiation import require_acceptable
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
    runs_router,
    figures_router,
    explorer_router,
)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Start what needs I/O (the job backend, the figure renderer's pool) and stop it after."""
    state = app_state(app)
    tune_allocator()
    state.ready_checks["datasets"] = state.datasets.readiness
    try:
        async with jobs_lifespan(state.settings, state.datasets, state.live_metrics) as runtime:
            state.jobs, state.watcher = runtime.jobs, runtime.watcher
            state.ready_checks["jobs"] = runtime.ready
            yield
    finally:
        state.renderer.close()


def create_app(settings: Settings | None = None) -> FastAPI:
    """A configured app; ``settings`` defaults to the ``RNNLAB_*`` environment."""
    settings = settings or Settings()
    app = FastAPIOffline(  # FastAPI, with /docs and /redoc served without a CDN
        static_url=DOCS_ASSETS,
        title="rnnlab",
        version=__version__,
        summary="The minimal linear RNN of the tutorial, over HTTP.",
        description=DESCRIPTION,
        lifespan=lifespan,
        separate_input_output_schemas=False,
        dependencies=[Depends(strict_query), Depends(require_acceptable)],
        # A route's function name is its operationId (and a generated client's function
        # name): short, stable, snake_case; renaming one is a change of the API.
        generate_unique_id_function=lambda route: route.name,
    )
    state = AppState.build(settings)
    app.state.rnnlab = state
    for router in ROUTERS:
        app.include_router(router)
    install_problem_handlers(app)
    install_openapi(app, settings)
    install_metrics(app, state.metrics, state.live_metrics, state.compute)
    install_middleware(app, settings)
    return app
