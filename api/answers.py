"""What the JSON routes answer: the response models /docs shows and schemathesis checks.

Request bodies live in :mod:`api.schemas`; answers here, by area (``answers_productions``,
``answers_channels``, ``answers_video``).  The models describe the JSON the routes have always
returned, they do not reshape it:

- :class:`Answer` refuses a field it does not declare, so a new field that nobody documented
  fails the tests (a 500 from the response check) instead of being silently dropped, and a
  secret added to a row by mistake cannot slip out through a model that filters it;
- it leaves out a field that was not given, so a key that is only there when it exists (the
  artifacts, the outputs, a review's material) stays absent instead of becoming ``null``;
- :class:`Stored` is the same for JSON blobs kept in the database (a production's artifacts and
  outputs), which rows written by older versions may hold more of: unknown fields pass through.

A new route declares its answer with ``response_model`` (or a return annotation naming one of
these) and, for the statuses it answers on purpose, ``responses=errors_doc(404, 409)``;
``tests/test_api_response_models.py`` fails on a JSON route without one.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_serializer


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # No return annotation on purpose: with one, pydantic documents the model as an open object.
    @model_serializer(mode="wrap")
    def _given_only(self, handler):  # type: ignore[no-untyped-def]
        """Serialise only the fields the route gave (and, for Stored, the extra ones it carried)."""
        out = handler(self)
        given = self.model_fields_set | set(self.model_extra or ())
        return {k: v for k, v in out.items() if k in given}


class Stored(Answer):
    model_config = ConfigDict(extra="allow")


class Problem(Answer):
    """Every refusal: 4xx and 503 answers carry one message that says what to do."""

    detail: str = Field(description="what went wrong and how to fix it")


class ValidationProblem(Answer):
    loc: list[str | int]
    msg: str
    type: str
    got: str | None = Field(default=None, description="what kind of value was sent (never the value itself)")


class Invalid(Answer):
    """A 422: each problem with the request, values described, never echoed (api/errors.py)."""

    detail: list[ValidationProblem]


_ERROR_TEXT = {
    400: "The request cannot be served as sent (the message says why)",
    403: "The key's role is not enough, or the resource belongs to another key",
    404: "Unknown id or name",
    409: "The request conflicts with the current state (a checkpoint not open, a production that ended)",
    413: "The body or a fetched input is over its size limit",
    415: "An input is not media this API can use",
    422: "A field has a wrong value (a list of problems), or an input URL answered badly (one message)",
    429: "A rate limit, quota or concurrency limit; retry after the Retry-After header",
    503: "Temporal is not reachable; retry shortly",
}


def errors_doc(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route that answers these statuses on purpose.

    A 422 is a list of problems when the request's fields are wrong, and one message when an input
    URL answered badly (``FetchFailed``), so it is documented as either."""
    return {s: {"model": (Invalid | Problem) if s == 422 else Problem, "description": _ERROR_TEXT[s]} for s in statuses}


class Link(Answer):
    """A stored object: its storage key and the API URL that serves it (GET /api/media/{key})."""

    key: str
    url: str


class Health(Answer):
    ok: bool
    temporal: bool = Field(description="whether this API process is connected to Temporal")


class KeyOut(Answer):
    """An API key as lists show it: never the secret, only its first characters (``prefix``)."""

    id: int
    name: str
    role: str
    prefix: str
    created_at: str
    last_used_at: str | None
    revoked: bool
    revoked_at: str | None


class KeyCreated(KeyOut):
    key: str = Field(description="the new key's secret: shown only in this answer, store it now")


class KeyRotated(KeyCreated):
    replaces: int = Field(description="the id of the key this one replaces, revoked at once")
