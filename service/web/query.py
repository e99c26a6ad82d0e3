"""Query strings are held to the same rule as bodies: unknown or repeated names are a 422.

FastAPI ignores query parameters a route does not declare and takes the last value of a
repeated one, so ``?resoluton=512`` silently computed the default and ``?nx=10&nx=20``
one of the two. Bodies forbid unknown fields (``extra="forbid"``); this dependency, on
every documented route, does the same for queries, naming the route's parameters.
"""

from __future__ import annotations

from collections import Counter

from fastapi import Request
from fastapi.routing import APIRoute

from service.errors import InvalidInput

__all__ = ["strict_query"]


def _declared(route: APIRoute) -> set[str]:
    """The query parameter names ``route`` takes, its dependencies' included (a few dozen
    attribute reads: cheaper than keeping a cache right for apps that come and go)."""
    names: set[str] = set()
    pending = [route.dependant]
    while pending:
        dependant = pending.pop()
        names.update(param.alias for param in dependant.query_params)
        pending.extend(dependant.dependencies)
    return names


async def strict_query(request: Request) -> None:
    """422 for a query parameter the route does not take, or one given more than once."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not route.include_in_schema:
        return  # the explorer page keeps its own state in the URL; /docs is FastAPI's
    names = [name for name, _ in request.query_params.multi_items()]
    if not names:
        return
    declared = _declared(route)
    for name, count in Counter(names).items():
        if name not in declared:
            takes = ", ".join(sorted(declared)) or "none"
            raise InvalidInput(
                ("query", name), f"is not a parameter of this endpoint (it takes: {takes})"
            )
        if count > 1:
            raise InvalidInput(("query", name), f"is given {count} times; give it once")
