"""How failures become HTTP answers: always a 4xx or 503 with a message, never a 500 from input.

FastAPI's stock validation handler echoes each bad value back; a value JSON cannot hold (NaN,
Infinity, 1e309 parsed as inf, a lone surrogate) then makes the error response itself fail, and
the client gets a 500.  Here values are described, never echoed, and every string is made
encodable.  Temporal's RPC errors (a payload over its size limit, the server down, a rate limit)
are mapped to what they mean for the caller.

Plain modules raise :class:`~tubeflow.errors.PermanentError` subclasses whose message already
says what to do; routes let them through and :data:`PERMANENT_STATUS` is the one place that says
which HTTP status each kind is (a missing thing 404, a conflict with the current state 409, media
that cannot be used 415, a URL input the fetcher refused its own ``status_code``, anything else 400)::

    PermanentError ............................ 400
    ├── NotFoundError, UnknownProduction ...... 404
    ├── AlreadyExistsError, CheckpointNotOpen,
    │   NothingToRetry, TopicAlreadyCovered ... 409
    ├── MediaError ............................ 415
    └── FetchError ............................ its status_code (400, 413, 422)
    TransientError ............................ 503 with Retry-After
    StorageError (a malformed key) ............ 400
"""

from __future__ import annotations

import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.client import RPCTimeoutOrCancelledError
from temporalio.service import RPCError, RPCStatusCode

from service.client import CheckpointNotOpen, NothingToRetry, TopicAlreadyCovered, UnknownProduction
from tubeflow.db.repo import AlreadyExistsError, NotFoundError
from tubeflow.errors import MediaError, PermanentError, TransientError
from tubeflow.net_guard import FetchError
from tubeflow.storage import StorageError

log = logging.getLogger("tubeflow.api")
MAX_ERRORS = 20
MAX_TEXT = 300


def safe_text(value: object, limit: int = MAX_TEXT) -> str:
    """``value`` as text that JSON and UTF-8 can always carry (lone surrogates escaped), bounded."""
    text = value if isinstance(value, str) else repr(value)
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _loc_part(part: object) -> str | int:
    if isinstance(part, bool) or not isinstance(part, int):
        return safe_text(part, 100)
    return part


def _described(value: object) -> str:
    """What kind of value was sent, without repeating it."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, float) and not math.isfinite(value):
        return "a number that is not finite (NaN, Infinity or out of range)"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return f"a string of {len(value)} characters"
    if isinstance(value, dict):
        return f"an object with {len(value)} fields"
    if isinstance(value, list):
        return f"a list of {len(value)} items"
    if value is None:
        return "null"
    return type(value).__name__


def describe_validation_errors(errors: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for e in list(errors)[:MAX_ERRORS]:
        item: dict[str, Any] = {
            "loc": [_loc_part(p) for p in e.get("loc", ())],
            "msg": safe_text(e.get("msg", "invalid value")),
            "type": safe_text(e.get("type", "value_error"), 80),
        }
        if "input" in e and e.get("type") != "missing":
            item["got"] = _described(e["input"])
        out.append(item)
    return out


async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
    try:
        detail = describe_validation_errors(exc.errors())
    except Exception:  # the handler must answer whatever the input was
        log.exception("could not describe a validation error")
        detail = [{"loc": ["body"], "msg": "the request is not valid", "type": "value_error"}]
    return JSONResponse({"detail": detail}, status_code=422)


async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
    """FastAPI's answer, except that a 422 always has the documented shape (a list of problems),
    also when a route raises it with a plain message: clients parse one format for 422."""
    if exc.status_code == 422 and isinstance(exc.detail, str):
        detail = [{"loc": ["request"], "msg": safe_text(exc.detail), "type": "value_error"}]
        return JSONResponse({"detail": detail}, status_code=422, headers=exc.headers)
    return await http_exception_handler(request, exc)


PERMANENT_STATUS: dict[type[PermanentError], int] = {
    NotFoundError: 404,
    UnknownProduction: 404,
    AlreadyExistsError: 409,
    CheckpointNotOpen: 409,
    NothingToRetry: 409,
    TopicAlreadyCovered: 409,
    MediaError: 415,
}


def permanent_status(exc: PermanentError) -> int:
    """The HTTP status of a permanent error: its nearest class in :data:`PERMANENT_STATUS`, else 400."""
    if isinstance(exc, FetchError):
        return exc.status_code
    for cls in type(exc).__mro__:
        if cls in PERMANENT_STATUS:
            return PERMANENT_STATUS[cls]
    return 400


def refusal(exc: Exception) -> tuple[int, Any] | None:
    """(status, detail) of an error the client caused, as its handler below would answer it; None
    for anything else.  For answers that hold several outcomes (a batch of video jobs)."""
    if isinstance(exc, StarletteHTTPException):
        return exc.status_code, exc.detail
    if isinstance(exc, PermanentError):
        return permanent_status(exc), str(exc)
    if isinstance(exc, StorageError):
        return 400, str(exc)
    return None


async def permanent_error(_request: Request, exc: PermanentError) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=permanent_status(exc))


async def transient_error(_request: Request, exc: TransientError) -> JSONResponse:
    headers = {"Retry-After": str(int(exc.retry_after_s or 5))}
    return JSONResponse({"detail": str(exc)}, status_code=503, headers=headers)


async def storage_error(_request: Request, exc: StorageError) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=400)


def rpc_answer(exc: RPCError) -> tuple[int, str, dict[str, str]]:
    """(status, message, headers) for a Temporal RPC error that reached the API."""
    text = safe_text(exc.message or str(exc), 200)
    lowered = text.lower()
    too_big = any(w in lowered for w in ("size", "too large", "larger than", "exceeds"))
    status = exc.status
    if too_big and status in (RPCStatusCode.INVALID_ARGUMENT, RPCStatusCode.RESOURCE_EXHAUSTED, None):
        return 413, f"the request is too large for Temporal to accept ({text}); send less data", {}
    if status == RPCStatusCode.NOT_FOUND:
        return 404, f"not found in Temporal: {text}", {}
    if status == RPCStatusCode.ALREADY_EXISTS:
        return 409, f"already exists in Temporal: {text}", {}
    if status in (RPCStatusCode.INVALID_ARGUMENT, RPCStatusCode.OUT_OF_RANGE):
        return 400, f"Temporal refused the request: {text}", {}
    if status == RPCStatusCode.FAILED_PRECONDITION:
        return 409, f"Temporal refused the request in its current state: {text}", {}
    # Unavailable, deadline exceeded, rate limited, or a server-side problem: retry later.
    return 503, f"Temporal could not serve the request ({text}); retry shortly", {"Retry-After": "5"}


async def rpc_error(_request: Request, exc: RPCError) -> JSONResponse:
    status, message, headers = rpc_answer(exc)
    if status >= 500:
        log.warning("Temporal RPC failed: %s", message)
    return JSONResponse({"detail": message}, status_code=status, headers=headers)


async def rpc_timeout(_request: Request, _exc: RPCTimeoutOrCancelledError) -> JSONResponse:
    return JSONResponse(
        {"detail": "Temporal did not answer in time; retry shortly"}, status_code=503, headers={"Retry-After": "5"}
    )


async def runtime_error(_request: Request, exc: RuntimeError) -> JSONResponse:
    # The Temporal client reports a connection it could not (re)establish as a RuntimeError.
    if "client connect" in str(exc).lower():
        log.warning("Temporal is unreachable: %s", exc)
        return JSONResponse(
            {"detail": "Temporal is unreachable; retry shortly (is the server running?)"},
            status_code=503,
            headers={"Retry-After": "5"},
        )
    log.error("unhandled error", exc_info=exc)
    return JSONResponse({"detail": "internal error; the server log has the details"}, status_code=500)


async def unencodable(_request: Request, exc: UnicodeError) -> JSONResponse:
    # Text that slipped past validation (e.g. read from a form) and cannot be encoded downstream.
    return JSONResponse({"detail": f"the request holds text that is not valid Unicode: {safe_text(exc)}"}, 400)


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, http_error)  # type: ignore[arg-type]
    app.add_exception_handler(RPCError, rpc_error)  # type: ignore[arg-type]
    app.add_exception_handler(RPCTimeoutOrCancelledError, rpc_timeout)  # type: ignore[arg-type]
    app.add_exception_handler(UnicodeError, unencodable)  # type: ignore[arg-type]
    app.add_exception_handler(RuntimeError, runtime_error)  # type: ignore[arg-type]
    app.add_exception_handler(PermanentError, permanent_error)  # type: ignore[arg-type]
    app.add_exception_handler(TransientError, transient_error)  # type: ignore[arg-type]
    app.add_exception_handler(StorageError, storage_error)  # type: ignore[arg-type]
