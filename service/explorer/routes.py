"""The explorer page: ``GET /`` and its static assets under ``/static`` (public, like /health)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

__all__ = ["STATIC_DIR", "router"]

STATIC_DIR = Path(__file__).resolve().parent / "static"

router = APIRouter(tags=["explorer"])
router.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")


@router.get("/", response_class=FileResponse, include_in_schema=False)
async def explorer_page() -> FileResponse:
    """The explorer: loss surface, gradients and training jobs in the browser."""
    return FileResponse(
        STATIC_DIR / "index.html",
        media_type="text/html; charset=utf-8",
        headers={"Cache-Control": "no-cache"},
    )
