"""One JSON log line format for every tubeflow process (API, workers, autoscaler, dev stack).

A log pipeline indexes fields, not prose: each line carries the production, workflow, activity
and attempt it belongs to (from Temporal's ``temporal_workflow``/``temporal_activity`` extras, or
the running activity's info for plain module loggers called inside an activity) and, in the API,
the request id.  ``log.info("msg", extra={"fields": {...}})`` adds structured fields to a line.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import time
from typing import Any

_CONSUMED = ("fields", "temporal_workflow", "temporal_activity", "color_message")
request_id: contextvars.ContextVar[str] = contextvars.ContextVar("tubeflow_request_id", default="")
_PRODUCTION = re.compile(r"^production-([0-9A-Za-z_]+?)(?:-shorts)?$")
# Attributes every LogRecord has: anything else on a record came from ``extra``.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime", "taskName"}


def production_of(workflow_id: str) -> str:
    """The production a workflow id belongs to (its Shorts child included); "" for other jobs."""
    m = _PRODUCTION.match(workflow_id or "")
    return m.group(1) if m else ""


def context_fields(record: logging.LogRecord) -> dict[str, Any]:
    """Workflow/activity/request context for one record."""
    out: dict[str, Any] = {}
    wf = getattr(record, "temporal_workflow", None)
    act = getattr(record, "temporal_activity", None)
    if act is None and wf is None:
        act = _current_activity()
    if isinstance(wf, dict):
        out.update(
            workflow_id=wf.get("workflow_id", ""),
            run_id=wf.get("run_id", ""),
            workflow_type=wf.get("workflow_type", ""),
            attempt=wf.get("attempt"),
            task_queue=wf.get("task_queue", ""),
        )
    if isinstance(act, dict):
        out.update(
            workflow_id=act.get("workflow_id", ""),
            run_id=act.get("workflow_run_id", ""),
            workflow_type=act.get("workflow_type", ""),
            activity=act.get("activity_type", ""),
            activity_id=act.get("activity_id", ""),
            attempt=act.get("attempt"),
            task_queue=act.get("task_queue", ""),
        )
    if out.get("workflow_id"):
        out["production_id"] = production_of(str(out["workflow_id"]))
    rid = request_id.get()
    if rid:
        out["request_id"] = rid
    return {k: v for k, v in out.items() if v not in ("", None)}


def _current_activity() -> dict[str, Any] | None:
    from temporalio import activity

    if not activity.in_activity():
        return None
    info = activity.info()
    return {
        "workflow_id": info.workflow_id or "",
        "workflow_run_id": info.workflow_run_id or "",
        "workflow_type": info.workflow_type or "",
        "activity_type": info.activity_type,
        "activity_id": info.activity_id,
        "attempt": info.attempt,
        "task_queue": info.task_queue,
    }


class JsonFormatter(logging.Formatter):
    def __init__(self, process: str = "") -> None:
        super().__init__()
        self.process_name = process

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": round(record.created, 3),
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if self.process_name:
            line["process"] = self.process_name
        line.update(context_fields(record))
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update(fields)
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key not in line and key not in _CONSUMED:
                line[key] = value
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def configure_logging(process: str, level: str = "INFO", stream: Any = None) -> logging.Handler:
    """Route every logger of this process (ours, Temporal's, uvicorn's) through one JSON handler."""
    from temporalio import activity, workflow

    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter(process))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        lg = logging.getLogger(name)
        lg.handlers.clear()
        lg.propagate = True
    # The context is in fields; Temporal need not append it to the message as text too.
    workflow.logger.workflow_info_on_message = False
    activity.logger.activity_info_on_message = False
    return handler
