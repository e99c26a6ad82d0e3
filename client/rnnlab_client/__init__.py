"""rnnlab_client: the official Python client of rnnlab, the tutorial's linear RNN over HTTP.

    from rnnlab_client import Client
    with Client("http://127.0.0.1:8000") as c:
        c.loss(wx=1, wrec=2)                       # 265551.15 on the tutorial dataset
        job = c.train(optimizer="irprop-", iterations=300)
        job.wait(progress=True)
        job.result.wx, job.trajectory().loss

``AsyncClient`` has the same methods, to ``await``. Errors are ``ProblemError`` (the
service's RFC 9457 answer), ``ConnectionFailedError`` (no answer) and the job errors, all
``RnnlabError``s. Results are dataclasses of floats and NumPy arrays, nan where a value
overflowed float64.
"""

from __future__ import annotations

__version__ = "0.1.0"

# The version is set before these imports: the HTTP layer names it in its User-Agent.
from rnnlab_client._api import DatasetArgs, StartsGrid
from rnnlab_client._http import Retries
from rnnlab_client.aio import AsyncClient, AsyncJob
from rnnlab_client.client import Client, Job
from rnnlab_client.errors import (
    ConnectionFailedError,
    FieldError,
    JobFailedError,
    JobNotFinishedError,
    Problem,
    ProblemError,
    RnnlabError,
    UnexpectedResponseError,
    WaitTimeoutError,
)
from rnnlab_client.models import (
    Dataset,
    Gradient,
    GradientCheck,
    GradientOverTime,
    GradientSeries,
    Health,
    Hyperparameter,
    JobResult,
    JobState,
    LossSurface,
    Optimizer,
    Outputs,
    Progress,
    Readiness,
    StartResult,
    SurfaceMinimum,
    Trajectory,
    Weights,
)

__all__ = [
    "AsyncClient",
    "AsyncJob",
    "Client",
    "ConnectionFailedError",
    "Dataset",
    "DatasetArgs",
    "FieldError",
    "Gradient",
    "GradientCheck",
    "GradientOverTime",
    "GradientSeries",
    "Health",
    "Hyperparameter",
    "Job",
    "JobFailedError",
    "JobNotFinishedError",
    "JobResult",
    "JobState",
    "LossSurface",
    "Optimizer",
    "Outputs",
    "Problem",
    "ProblemError",
    "Progress",
    "Readiness",
    "Retries",
    "RnnlabError",
    "StartResult",
    "StartsGrid",
    "SurfaceMinimum",
    "Trajectory",
    "UnexpectedResponseError",
    "WaitTimeoutError",
    "Weights",
    "__version__",
]
