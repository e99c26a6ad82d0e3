"""Liveness and readiness: answered on the event loop, never behind computations."""

from __future__ import annotations

from typing import Literal

import anyio.to_thread
from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from service.problems import problem_responses

router = APIRouter(tags=["operations"])


class Health(BaseModel):
    """The process answers."""

    status: Literal["ok"] = Field(description="Always `ok` when the process answers.")


class Readiness(BaseModel):
    """The process and the backends it needs answer."""

    status: Literal["ready"] = Field(description="Always `ready` (else a 503 problem).")


@router.get("/health", response_model=Health)
async def health() -> Health:
    """Liveness: the process is up."""
    return Health(status="ok")


@router.get("/ready", response_model=Readiness, responses=problem_responses(503))
async def ready(request: Request) -> Readiness:
    """Readiness: the dataset store is writable and the job backend answers (else 503)."""
    await anyio.to_thread.run_sync(request.app.state.datasets.ensure_writable)
    await request.app.state.ready_check()
    return Readiness(status="ready")
