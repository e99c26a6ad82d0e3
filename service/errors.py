"""Domain errors of the service layer; ``service.web.problems`` turns each into one HTTP answer.

Code below the routes raises these (never ``HTTPException``), so the mapping from a
failure to a status code lives in one place.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from core.errors import InvalidInputError

__all__ = [
    "BackendUnavailable",
    "ClientGone",
    "Conflict",
    "InsufficientStorage",
    "InvalidInput",
    "LimitExceeded",
    "Loc",
    "NotAcceptable",
    "NotFound",
    "NotReady",
    "QueueFull",
    "ServiceError",
    "Unauthorized",
    "field_to_loc",
    "from_core",
    "problem_type",
]

Loc = tuple[str | int, ...]

_TYPE_PREFIX = "urn:rnnlab:problem:"


def problem_type(slug: str) -> str:
    """The ``type`` URI of a problem kind (URN: stable, not meant to be dereferenced)."""
    return _TYPE_PREFIX + slug


class ServiceError(Exception):
    """Base: a status, a short stable title and a problem type slug per subclass."""

    status: ClassVar[int] = 500
    title: ClassVar[str] = "Internal Server Error"
    slug: ClassVar[str] = "internal-error"

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers or {}

    def extensions(self) -> dict[str, Any]:
        """Extra members of the problem document (RFC 9457 extension members)."""
        return {}


class NotFound(ServiceError):  # noqa: N818
    status = 404
    title = "Not Found"
    slug = "not-found"


class Unauthorized(ServiceError):  # noqa: N818
    """The server wants a bearer token and the request has none, or a wrong one."""

    status = 401
    title = "Unauthorized"
    slug = "unauthorized"

    def __init__(self, detail: str, *, invalid: bool = False) -> None:
        challenge = 'Bearer realm="rnnlab"' + (', error="invalid_token"' if invalid else "")
        super().__init__(detail, headers={"WWW-Authenticate": challenge})


class NotAcceptable(ServiceError):  # noqa: N818
    """The Accept header takes none of the representations the endpoint offers."""

    status = 406
    title = "Not Acceptable"
    slug = "not-acceptable"


class Conflict(ServiceError):  # noqa: N818
    status = 409
    title = "Conflict"
    slug = "conflict"


class InvalidInput(ServiceError):  # noqa: N818
    """A value the schema could not reject on its own (e.g. depends on another field)."""

    status = 422
    title = "Invalid Input"
    slug = "validation-error"

    def __init__(self, loc: Sequence[str | int], msg: str) -> None:
        super().__init__(f"{'.'.join(map(str, loc))}: {msg}")
        self.loc = tuple(loc)
        self.msg = msg

    def extensions(self) -> dict[str, Any]:
        return {"errors": [{"loc": list(self.loc), "msg": self.msg}]}


class LimitExceeded(ServiceError):  # noqa: N818
    """A client-chosen size is over a configured limit (named by its setting)."""

    status = 413
    title = "Limit Exceeded"
    slug = "limit-exceeded"

    def __init__(
        self,
        limit: str,
        value: float,
        actual: float,
        what: str,
        loc: Sequence[str | int] = (),
    ) -> None:
        env = f"RNNLAB_{limit.upper()}"
        over = f"{what} is {_number(actual)}, over the limit {limit}={_number(value)}"
        super().__init__(f"{over} (setting {env})")
        self.limit = limit
        self.value = value
        self.actual = actual
        self.loc = tuple(loc)

    def extensions(self) -> dict[str, Any]:
        ext: dict[str, Any] = {"limit": {"name": self.limit, "value": self.value}}
        if self.loc:
            ext["errors"] = [{"loc": list(self.loc), "msg": self.detail}]
        return ext


def _number(value: float) -> str:
    return str(value) if isinstance(value, int) else f"{value:g}"


class QueueFull(ServiceError):  # noqa: N818
    """Too much work waiting; the client should retry after ``retry_after`` seconds."""

    status = 429
    title = "Too Many Requests"
    slug = "queue-full"

    def __init__(self, detail: str, retry_after: int = 1) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after


class ClientGone(ServiceError):  # noqa: N818
    """The client disconnected before its answer was ready (nobody reads this answer)."""

    status = 499
    title = "Client Closed Request"
    slug = "client-closed-request"


class InsufficientStorage(ServiceError):  # noqa: N818
    """The disk is full: nothing was written; retry once space has been freed."""

    status = 507
    title = "Insufficient Storage"
    slug = "insufficient-storage"


class BackendUnavailable(ServiceError):  # noqa: N818
    """A backend the request needs (job queue, storage) does not answer."""

    status = 503
    title = "Service Unavailable"
    slug = "backend-unavailable"

    def __init__(self, detail: str, retry_after: int | None = None) -> None:
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
        super().__init__(detail, headers=headers)


class NotReady(BackendUnavailable):
    """A component the service needs does not work (``/ready``)."""

    def __init__(self, components: dict[str, str], warnings: list[str]) -> None:
        broken = "; ".join(
            f"{name}: {state}" for name, state in components.items() if state != "ok"
        )
        super().__init__(f"not ready: {broken}", retry_after=5)
        self.components = components
        self.warnings = warnings

    def extensions(self) -> dict[str, Any]:
        return {"components": self.components, "warnings": self.warnings}


def from_core(exc: InvalidInputError, at: Loc = ("body",)) -> InvalidInput:
    """Core's InvalidInputError as the service's 422, its field located under ``at``.

    The one translation of core's errors: core names a field as the client spelled it
    (``optimizer.eta_plus``, ``sequences[3][1]``), the caller says where that sits.
    """
    return InvalidInput((*at, *field_to_loc(exc.field)), exc.message)


def field_to_loc(field: str) -> Loc:
    """``"sequences[3][1]"`` or ``"optimizer.eta_plus"`` -> ``("sequences", 3, 1)`` etc."""
    loc: list[str | int] = []
    for part in field.replace("]", "").split("."):
        name, *indices = part.split("[")
        if name:
            loc.append(name)
        loc.extend(int(i) if i.isdigit() else i for i in indices)
    return tuple(loc)
