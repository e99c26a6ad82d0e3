"""Liveness and readiness: answered on the event loop, never behind computations."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import Field

from service.deps import StateDep
from service.errors import NotReady
from service.web.models import ResponseModel
from service.web.problems import problem_responses

router = APIRouter(tags=["operations"])


class Health(ResponseModel):
    """The process answers."""

    status: Literal["ok"] = Field(description="Always `ok` when the process answers.")


class Readiness(ResponseModel):
    """The process and every component it needs answer."""

    status: Literal["ready"] = Field(description="Always `ready` (else a 503 problem).")
    components: dict[str, str] = Field(
        description="Each component (datasets, job_store, job_queue) and its state: `ok`."
    )
    warnings: list[str] = Field(
        description="What works but may lose data, e.g. a Redis that persists nothing."
    )


@router.get("/health", summary="Liveness", response_model=Health)
async def get_health() -> Health:
    """Liveness: the process is up."""
    return Health(status="ok")


@router.get(
    "/ready", summary="Readiness", response_model=Readiness, responses=problem_responses(503)
)
async def get_readiness(state: StateDep) -> Readiness:
    """Readiness: every component answers (else a 503 problem naming the broken ones)."""
    components: dict[str, str] = {}
    warnings: list[str] = []
    for check in state.ready_checks.values():
        states, notes = await check()
        components.update(states)
        warnings.extend(notes)
    if any(state != "ok" for state in components.values()):
        raise NotReady(components, warnings)
    return Readiness(status="ready", components=components, warnings=warnings)
