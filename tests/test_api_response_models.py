"""Every JSON route declares what it answers (issue 23, item 3), and the models match the data.

``json_routes_without_model`` walks the app's routes (also inside included routers) and names each
route whose answer is JSON (its response class is a JSONResponse) but whose response model is
missing or says nothing (``dict[str, Any]``, ``Any``): /docs could not show that answer and
schemathesis could not check it.  Pages, streams, files and redirects declare their own response
class and are not JSON routes.  The self-check builds a tiny app with one route of each kind and
shows the checker flags exactly the bad ones.

The field checks compare each model with the dataclass or function its route serialises, so a
field added there and not here fails here, not as a 500 (or a silently missing field) later.
"""

from __future__ import annotations

import dataclasses
import tempfile
import types
import typing
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.datastructures import DefaultPlaceholder
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import BaseModel
from starlette.routing import BaseRoute

from api import answers_channels as ch
from api import answers_productions as pr
from api import answers_quality as qa
from api import answers_video as vi
from api.answers import KeyOut
from api.app import create_app
from api.jobs_bridge import status_view
from tubeflow import contracts, quality_report
from tubeflow.analytics_report import Section
from tubeflow.db import records
from tubeflow.job_contracts import VideoJobStatus
from tubeflow.render_plan import MediaItem
from tubeflow.settings import Settings


def api_routes(routes: Sequence[BaseRoute]) -> Iterator[APIRoute]:
    """Every APIRoute, also those kept inside included routers (FastAPI >= 0.13x keeps them there)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from api_routes(inner.routes)


def _describes(annotation: Any) -> bool:
    """Whether a response model names its fields: a pydantic model, or a list/union holding one."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return True
    origin = typing.get_origin(annotation)
    if origin in (list, tuple, typing.Union, types.UnionType):
        return any(_describes(a) for a in typing.get_args(annotation))
    return False


def _response_class(route: APIRoute) -> type:
    cls = route.response_class
    return cls.value if isinstance(cls, DefaultPlaceholder) else cls


def json_routes_without_model(routes: Sequence[BaseRoute]) -> list[str]:
    bad = []
    for route in api_routes(routes):
        if issubclass(_response_class(route), JSONResponse) and not _describes(route.response_model):
            name = f"{route.endpoint.__module__}.{route.endpoint.__name__}"
            bad.append(f"{','.join(sorted(route.methods or ()))} {route.path} ({name})")
    return sorted(bad)


@pytest.fixture(scope="module")
def app() -> Iterator[FastAPI]:
    with tempfile.TemporaryDirectory(prefix="tubeflow-routes-") as home:
        yield create_app(Settings(home=Path(home)))


class _Thing(BaseModel):
    name: str


def test_the_checker_flags_a_json_route_without_a_model() -> None:
    """Planted violations: a dict answer, an unannotated one and a list of dicts, behind a router."""
    planted = FastAPI()
    inner = APIRouter(prefix="/inner")

    @inner.get("/dict")
    async def as_dict() -> dict[str, Any]:
        return {}

    @inner.get("/bare")
    async def bare():  # type: ignore[no-untyped-def]
        return {}

    @inner.get("/rows")
    async def rows() -> list[dict[str, Any]]:
        return []

    @inner.get("/model", response_model=_Thing)
    async def model() -> dict[str, Any]:
        return {"name": "x"}

    @inner.get("/models")
    async def models() -> list[_Thing]:
        return []

    @inner.get("/page", response_class=HTMLResponse)
    async def page() -> HTMLResponse:
        return HTMLResponse("<p>hi</p>")

    planted.include_router(inner)
    flagged = json_routes_without_model(planted.routes)
    assert [f.split(" (")[0] for f in flagged] == ["GET /inner/bare", "GET /inner/dict", "GET /inner/rows"], flagged


def test_every_json_route_has_a_response_model(app: FastAPI) -> None:
    routes = list(api_routes(app.routes))
    assert len(routes) > 40, "the walker must see the routes inside the included routers"
    assert json_routes_without_model(app.routes) == []


def test_openapi_documents_every_json_answer(app: FastAPI) -> None:
    """Each documented operation's success answer has a schema (not ``{}``), so /docs shows it."""
    doc = app.openapi()
    empty = []
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            for status, resp in op["responses"].items():
                schema = resp.get("content", {}).get("application/json", {}).get("schema")
                if status.startswith("2") and schema is not None and not schema:
                    empty.append(f"{method.upper()} {path} {status}")
    assert empty == []


def test_openapi_shows_the_202_of_a_video_job(app: FastAPI) -> None:
    """What /docs renders: the document as served at /openapi.json."""
    answer = TestClient(app).get("/openapi.json")  # no lifespan: the document needs no database
    assert answer.status_code == 200
    doc = answer.json()
    schemas = doc["components"]["schemas"]
    for op in ("caption", "img2vid", "addaudio"):
        answer = doc["paths"][f"/video/{op}"]["post"]["responses"]["202"]["content"]["application/json"]["schema"]
        model = schemas[answer["$ref"].rsplit("/", 1)[1]]
        assert {"job_id", "estimated_wait_s", "estimated_run_s", "queue", "status_url"} <= set(model["required"])
        assert model["properties"]["estimated_wait_s"]["type"] == "number"
    batch = doc["paths"]["/video/batch"]["post"]["responses"]["202"]["content"]["application/json"]["schema"]
    assert batch["$ref"].endswith("/BatchAccepted")
    assert doc["paths"]["/api/productions/{production_id}/approve"]["post"]["responses"]["409"]


def _names(model: type[BaseModel]) -> set[str]:
    return set(model.model_fields)


def _fields(cls: Any) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        (pr.ArtifactKeys, _fields(contracts.Artifacts)),
        (pr.ArtifactLinks, _fields(contracts.Artifacts)),
        (pr.OutputsOut, _fields(contracts.Outputs)),
        (pr.RenderSummaryOut, _fields(contracts.RenderSummary)),
        (pr.PreviewSummaryOut, _fields(contracts.PreviewSummary)),
        (pr.ChannelOut, _fields(records.Channel)),
        (pr.ProductionRow, _fields(records.Production) - {"channel_id"}),
        (pr.ReviewRow, _fields(records.Review)),
        (pr.BrollItem, _fields(MediaItem) | {"url", "poster_url"}),
        (
            pr.ProductionView,
            _fields(contracts.ProductionStatus)
            | {"id", "artifact_keys", "stage_index", "workflow_id", "workflow_url", "source", "review"}
            | {"review_history"},
        ),
        (KeyOut, _fields(records.ApiKey)),
        (ch.AccountOut, _fields(records.YouTubeAccount)),
        (ch.TopicOut, _fields(records.Topic)),
        (ch.PublicationOut, _fields(records.Publication)),
        (ch.PlatformShortOut, _fields(records.PlatformPostDay) | {"title", "url"}),
        (ch.PlatformFigures, set(records.PLATFORM_METRICS)),
        (ch.SectionOut, _fields(Section) | {"sharp"}),
        (vi.JobStatus, set(status_view(VideoJobStatus(job_id="j", op="caption"), None)) | _names(vi.JobUrls)),
        (vi.ProgressDetail, set(status_view(VideoJobStatus(job_id="j", op="caption"), None)["progress_detail"])),
        (qa.QualityReportOut, _fields(quality_report.QualityReport)),
        (qa.QualityFigureOut, _fields(quality_report.QualityFigure)),
        (qa.MomentOut, _fields(quality_report.Moment)),
    ],
)
def test_models_hold_the_fields_their_routes_serialise(model: type[BaseModel], expected: set[str]) -> None:
    assert _names(model) == expected | {"output_url"} if model is vi.JobStatus else _names(model) == expected


def test_models_keep_the_json_as_it_was() -> None:
    """Absent stays absent, null stays null, and an undeclared field is refused, not dropped."""
    arts = contracts.Artifacts(script="s.json", thumbnails=["a.jpg"]).to_dict()
    assert pr.ArtifactKeys.model_validate(arts).model_dump(mode="json") == arts
    material: dict[str, Any] = {"kind": "final", "video": None, "thumbnails": [], "metadata": None}
    assert pr.ReviewMaterial.model_validate(material).model_dump(mode="json") == material
    with pytest.raises(ValueError, match="Extra inputs are not permitted"):
        pr.Cancelling.model_validate({"id": "p", "cancelling": True, "secret": "x"})
