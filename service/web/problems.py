"""RFC 9457 problem details for every error the service answers.

One handler per kind of failure: our domain errors (``service.errors``), core's
``InvalidInputError``, FastAPI's request validation, Starlette's HTTP errors (404, 405,
413 from the body limit) and, last, anything unexpected (500). Echoed inputs are never
copied into a problem, so NaN or Infinity in a request cannot break the error answer.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match

from core.errors import InvalidInputError
from service.errors import ServiceError, from_core, problem_type
from service.web.body import BodyInvalid, BodyRejected
from service.web.models import ResponseModel

__all__ = [
    "PROBLEM_MEDIA_TYPE",
    "ErrorItem",
    "LimitInfo",
    "Problem",
    "install_problem_handlers",
    "problem_response",
    "problem_type",
    "service_problem",
]

PROBLEM_MEDIA_TYPE = "application/problem+json"

logger = logging.getLogger("rnnlab.errors")
_METHODS = ("DELETE", "GET", "HEAD", "PATCH", "POST", "PUT")


def problem_response(
    status: int,
    detail: str,
    *,
    slug: str | None = None,
    title: str | None = None,
    instance: str | None = None,
    headers: Mapping[str, str] | None = None,
    extensions: Mapping[str, Any] | None = None,
) -> Response:
    """A problem+json response; ``type`` is about:blank when the status says it all."""
    phrase = _phrase(status)
    body: dict[str, Any] = {
        "type": problem_type(slug) if slug else "about:blank",
        "title": title or phrase,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    if extensions:
        body.update(extensions)
    return Response(
        orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=dict(headers or {}),
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Register the handlers; called once by ``create_app``."""
    app.add_exception_handler(ServiceError, _service_error)  # type: ignore[arg-type]
    app.add_exception_handler(InvalidInputError, _core_invalid_input)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _request_validation)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_exception)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, unhandled_exception)


def service_problem(
    exc: ServiceError, instance: str, headers: Mapping[str, str] | None = None
) -> Response:
    """The one answer of a domain error, for handlers and middleware alike."""
    return problem_response(
        exc.status,
        exc.detail,
        slug=exc.slug,
        title=exc.title,
        instance=instance,
        headers={**exc.headers, **(headers or {})},
        extensions=exc.extensions(),
    )


async def _service_error(request: Request, exc: ServiceError) -> Response:
    return service_problem(exc, request.url.path)


async def _core_invalid_input(request: Request, exc: InvalidInputError) -> Response:
    """Core names the bad field as the client spelled it; it is a location in the body."""
    return service_problem(from_core(exc), request.url.path)


async def _request_validation(request: Request, exc: RequestValidationError) -> Response:
    """FastAPI's own 422, minus the echoed ``input`` (which may hold NaN or huge data)."""
    errors = [_clean_error(error) for error in exc.errors()]
    content_type = request.headers.get("content-type", "")
    if request.method in {"POST", "PUT", "PATCH"} and "json" not in content_type.lower():
        # FastAPI reads a JSON body only when it is declared as JSON, and then says the
        # body "should be a valid dictionary": name the actual mistake.
        for error in errors:
            if error["loc"] == ["body"]:
                error["msg"] = (
                    f"the body must be JSON sent as Content-Type: application/json "
                    f"(got {content_type or 'no Content-Type'})"
                )
    return _validation_problem(request, errors)


def _clean_error(error: Mapping[str, Any]) -> dict[str, Any]:
    msg = str(error.get("msg", "invalid value"))
    ctx = error.get("ctx")
    if error.get("type") == "json_invalid" and isinstance(ctx, Mapping) and "error" in ctx:
        msg = f"{msg}: {ctx['error']}"
    loc = _public_loc(
        [part if isinstance(part, int) else str(part) for part in error.get("loc", ())]
    )
    cleaned: dict[str, Any] = {"loc": loc, "msg": msg}
    if isinstance(error.get("type"), str):
        cleaned["type"] = error["type"]
    return cleaned


# Tags of the inline-dataset union (a spec or the data): pydantic puts them in error
# locations, but the client never wrote them.
_UNION_TAGS = frozenset({"spec", "data"})


def _public_loc(loc: list[int | str]) -> list[int | str]:
    """The location as the client spelled it: without the union's tags."""
    if not loc or loc[0] != "body":
        return loc
    return [
        part
        for i, part in enumerate(loc)
        if not (part in _UNION_TAGS and loc[i - 1] in ("body", "dataset"))
    ]


def _validation_problem(request: Request, errors: Sequence[Mapping[str, Any]]) -> Response:
    first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
    where = ".".join(str(part) for part in first["loc"])
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return problem_response(
        422,
        f"{where}: {first['msg']}{more}" if where else f"{first['msg']}{more}",
        slug="validation-error",
        title="Invalid Input",
        instance=request.url.path,
        extensions={"errors": list(errors)},
    )


async def _http_exception(request: Request, exc: StarletteHTTPException) -> Response:
    """Routing errors (404, 405), the body-size limit (413) and bodies refused while read."""
    if isinstance(exc, BodyInvalid):
        return _validation_problem(request, [_clean_error(error) for error in exc.errors])
    if isinstance(exc, BodyRejected):
        return service_problem(exc.error, request.url.path, exc.headers)
    headers = dict(exc.headers or {})
    if exc.status_code == 400 and exc.detail == "There was an error parsing the body":
        # FastAPI's answer to a JSON body it could not even decode (not UTF-8 text, or
        # nested too deeply for the parser): a 422 like any other undecodable JSON.
        error = {
            "loc": ["body"],
            "msg": "JSON decode error: the body is not UTF-8 text or is nested too deeply",
            "type": "json_invalid",
        }
        return _validation_problem(request, [error])
    detail = exc.detail if isinstance(exc.detail, str) else _phrase(exc.status_code)
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"no resource at {request.url.path}"
    elif exc.status_code == 405:
        detail = f"{request.method} is not allowed on {request.url.path}"
        headers["Allow"] = _allowed_methods(request) or headers.get("Allow", "")
    return problem_response(exc.status_code, detail, instance=request.url.path, headers=headers)


async def unhandled_exception(request: Request, exc: Exception) -> Response:
    """Last resort: log the traceback, answer a 500 problem without internals."""
    logger.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(
        500, "an unexpected error occurred; it has been logged", instance=request.url.path
    )


def _allowed_methods(request: Request) -> str:
    """Every method some route serves at this path (Starlette lists only the first route's)."""
    allowed = []
    for method in _METHODS:
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] is Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return ", ".join(allowed)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


_DESCRIPTIONS = {
    401: "Missing or wrong bearer token (only when RNNLAB_API_TOKEN is set).",
    404: "Unknown id.",
    409: "The resource is in the wrong state for this request.",
    413: "A size is over a configured limit (the problem names it).",
    422: "Invalid input (NaN, Infinity, out-of-range or inconsistent values).",
    429: "Too much work waiting; retry after the Retry-After seconds.",
    503: "A backend is unavailable.",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries for error statuses, all documented as Problem."""
    return {
        status: {"model": Problem, "description": _DESCRIPTIONS.get(status, _phrase(status))}
        for status in statuses
    }


class ErrorItem(ResponseModel):
    """One invalid value: where it is and what is wrong with it."""

    sometimes = frozenset({"type"})

    loc: list[str | int] = Field(description='Path to the value, e.g. ["body", "weights", "wx"].')
    msg: str = Field(description="What is wrong.")
    type: str | None = Field(default=None, description="Machine-readable error kind.")


class LimitInfo(ResponseModel):
    """The configured limit a request went over."""

    name: str = Field(description="Setting name (environment variable RNNLAB_<NAME>).")
    value: float = Field(description="Its configured value.")


class Problem(ResponseModel):
    """An error, as RFC 9457 problem details (media type application/problem+json)."""

    sometimes = frozenset({"instance", "errors", "limit"})

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "type": "urn:rnnlab:problem:validation-error",
                    "title": "Invalid Input",
                    "status": 422,
                    "detail": "body.weights.wx: Input should be a finite number",
                    "instance": "/loss",
                    "errors": [
                        {
                            "loc": ["body", "weights", "wx"],
                            "msg": "Input should be a finite number",
                            "type": "finite_number",
                        }
                    ],
                }
            ]
        },
    )

    type: str = Field(description="URI of the problem kind (about:blank: see the status).")
    title: str = Field(description="Short summary of the problem kind.")
    status: int = Field(description="The HTTP status code.")
    detail: str = Field(description="What went wrong with this request.")
    instance: str | None = Field(default=None, description="Path of the request.")
    errors: list[ErrorItem] | None = Field(default=None, description="Invalid values (422).")
    limit: LimitInfo | None = Field(default=None, description="The limit exceeded (413).")
