"""Bearer-token auth: checked before anything else of a request, and documented.

When the server runs with ``RNNLAB_API_TOKEN``, every request but the public ones needs
``Authorization: Bearer <token>`` (compared in constant time), else a 401 problem with
``WWW-Authenticate``. Public: liveness and readiness, the explorer page and its files,
and the API's documentation (its schema holds no secret, and Swagger UI must read it).

It is ASGI middleware rather than FastAPI's ``HTTPBearer`` dependency on purpose: FastAPI
resolves dependencies only after it has read and parsed the request body, which would let
anyone without the token make the server take in up to ``max_body_bytes``. The OpenAPI
document declares the scheme on every operation that is not public (``web.openapi``).
"""

from __future__ import annotations

import hmac

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from service.errors import Unauthorized
from service.web.problems import service_problem

__all__ = ["DOCS_ASSETS", "PUBLIC_PATHS", "SCHEME", "BearerAuthMiddleware", "is_public"]

SCHEME = "bearerAuth"  # its name in the OpenAPI document
PUBLIC_PATHS = frozenset({"/health", "/ready"})
"""Open to every method; GET (and HEAD) is also open on the page, its files and the docs."""
_PUBLIC_PAGES = frozenset({"/", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"})
DOCS_ASSETS = "/docs/assets"  # Swagger UI's and ReDoc's files, served from the package


def is_public(method: str, path: str) -> bool:
    """Whether a request needs no token."""
    if path in PUBLIC_PATHS:
        return True
    reading = method in {"GET", "HEAD"}
    return reading and (path in _PUBLIC_PAGES or path.startswith(("/static/", DOCS_ASSETS + "/")))


class BearerAuthMiddleware:
    """401 problem (with WWW-Authenticate) unless the request carries the bearer token."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self._token = token.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_public(scope["method"], scope["path"]):
            await self.app(scope, receive, send)
            return
        scheme, _, credentials = Headers(scope=scope).get("authorization", "").partition(" ")
        bearer = scheme.lower() == "bearer"
        if bearer and hmac.compare_digest(credentials.strip().encode(), self._token):
            await self.app(scope, receive, send)
            return
        error = (
            Unauthorized("the bearer token is not valid", invalid=True)
            if bearer
            else Unauthorized("this endpoint needs Authorization: Bearer <token>")
        )
        await service_problem(error, scope["path"])(scope, receive, send)
