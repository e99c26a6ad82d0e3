"""/predict: outputs of the network for new sequences of any length."""

from __future__ import annotations

import anyio.to_thread
from fastapi import APIRouter
from starlette.responses import Response

from core.cost import forward_seconds
from service.config import Settings
from service.deps import ComputeDep, JobsDep, SettingsDep
from service.errors import LimitExceeded
from service.predict.compute import predict_payload
from service.predict.schemas import PredictRequest, PredictResponse
from service.web.body import BodyRoute
from service.web.encoding import json_response
from service.web.problems import problem_responses

router = APIRouter(tags=["predict"], route_class=BodyRoute)


@router.post(
    "/predict",
    summary="Outputs for new sequences",
    response_model=PredictResponse,
    responses=problem_responses(404, 409, 413, 422, 429),
)
async def predict(
    body: PredictRequest, settings: SettingsDep, compute: ComputeDep, jobs: JobsDep
) -> Response:
    """Outputs (and rounded counts) for each sequence, with given weights or a job's."""
    _check_limits(body, settings)
    if body.weights is not None:
        wx, wrec = body.weights.wx, body.weights.wrec
    else:
        assert body.job_id is not None  # the schema asks for exactly one of the two
        wx, wrec = await anyio.to_thread.run_sync(jobs.trained_weights, body.job_id)
    width = max(len(row) for row in body.sequences)
    seconds = forward_seconds(len(body.sequences), width)
    return json_response(
        await compute.run_estimated(seconds, predict_payload, body.sequences, wx, wrec)
    )


def _check_limits(body: PredictRequest, settings: Settings) -> None:
    n = len(body.sequences)
    if n > settings.max_predict_sequences:
        raise LimitExceeded(
            "max_predict_sequences",
            settings.max_predict_sequences,
            n,
            "sequences",
            ("body", "sequences"),
        )
    lengths = [len(row) for row in body.sequences]
    longest = max(lengths)
    if longest > settings.max_sequence_length:
        raise LimitExceeded(
            "max_sequence_length",
            settings.max_sequence_length,
            longest,
            "the longest sequence",
            ("body", "sequences", lengths.index(longest)),
        )
    padded = n * longest  # sequences are computed side by side, left-padded to the longest
    if padded > settings.max_predict_elements:
        raise LimitExceeded(
            "max_predict_elements",
            settings.max_predict_elements,
            padded,
            "sequences x longest sequence",
            ("body", "sequences"),
        )
