"""Every router of the service, in the order ``create_app`` includes them."""

from __future__ import annotations

from fastapi import APIRouter

from service.routes import analysis, datasets, explorer, figures, health, jobs, predict

__all__ = ["ROUTERS"]

ROUTERS: list[APIRouter] = [
    health.router,
    datasets.router,
    analysis.router,
    predict.router,
    jobs.router,
    figures.router,
    explorer.router,
]
