"""``max_points``: the thinning a client asks for, shared by POST /runs and a job's trajectory.

The points kept are ``service.figures.paths.picked`` (evenly spread, both ends kept); the
largest value a client may ask for is the setting ``max_path_points`` (413 above), so no
answer carries more than that many points of one path whatever the run's length.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from service.config import Settings
from service.errors import LimitExceeded
from service.web.models import limited_by

__all__ = ["MaxPointsQuery", "check_max_points"]

MaxPointsQuery = Annotated[
    int | None,
    Query(
        ge=2,
        description="Send at most this many points of each path, evenly spread with both "
        "ends kept (point i is iteration floor(i * (n - 1) / (max_points - 1)) of n); "
        "at most the server's max_path_points (413 above). Default: every point.",
        json_schema_extra=limited_by("max_path_points"),
    ),
]


def check_max_points(settings: Settings, max_points: int | None) -> None:
    """LimitExceeded (413) when ``max_points`` is over the server's ``max_path_points``."""
    if max_points is not None and max_points > settings.max_path_points:
        raise LimitExceeded(
            "max_path_points",
            settings.max_path_points,
            max_points,
            "max_points",
            ("query", "max_points"),
        )
