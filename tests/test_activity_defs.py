"""The typed boundary: every declared activity is registered on exactly one worker, with its types.

Workflows call activities through tubeflow.activity_defs; the workers register the adapters.
If the two drifted (a rename, a changed input type, an adapter on the wrong queue) a workflow
would schedule work no worker takes, and nothing would say so until a production hung.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from temporalio.activity import _Definition

from service.worker import gpu_activities, main_activities
from tests.conftest import tiny_settings
from tubeflow import activity_defs as act
from tubeflow.db.engine import Database
from tubeflow.storage import open_storage


def registered(fns: Any) -> dict[str, _Definition]:
    defs = [_Definition.must_from_callable(fn) for fn in fns]
    names = [d.name for d in defs]
    assert len(names) == len(set(names)), f"registered twice: {names}"
    return {str(d.name): d for d in defs}


def test_every_declared_activity_is_registered_once_on_its_queue_with_its_types(tmp_path: Path) -> None:
    settings = tiny_settings(tmp_path)
    storage = open_storage(settings)
    by_queue = {
        act.Queue.MAIN: registered(main_activities(settings, storage, db=cast(Database, None))),
        act.Queue.GPU: registered(gpu_activities(settings, storage)),
    }
    declared = {d.name: d for d in act.ALL}
    assert len(declared) == len(act.ALL), "two declarations share a name"
    for queue, impls in by_queue.items():
        assert set(impls) <= set(declared), f"registered on {queue} but not declared: {set(impls) - set(declared)}"
    for d in act.ALL:
        on = [q for q, impls in by_queue.items() if d.name in impls]
        assert on == [d.queue], f"{d.name} is declared for {d.queue} but registered on {on}"
        impl = by_queue[d.queue][d.name]
        expected_args = [d.arg, *d.more_args] if d.takes_input else []
        got_args = (impl.arg_types or [])[: len(expected_args)]
        assert got_args == expected_args, f"{d.name}: adapter takes {impl.arg_types}, declared {d.arg}"
        expected_ret = None if d.result is type(None) else d.result
        got_ret = impl.ret_type if impl.ret_type is not type(None) else None
        # A parametrised result (dict[str, int]) is declared by its plain class.
        assert getattr(got_ret, "__origin__", got_ret) == expected_ret, f"{d.name}: returns {impl.ret_type}"


def test_video_operations_each_have_an_activity() -> None:
    from tubeflow.job_contracts import VIDEO_OPS

    assert set(act.VIDEO_OP_ACTIVITIES) == set(VIDEO_OPS)


def test_workflows_name_activities_only_through_their_declarations() -> None:
    """No workflow writes an activity's name as a string: a typo there is a retried failure at run
    time, through a declaration it is an import error (and mypy checks the input type)."""
    import ast

    from tubeflow.settings import REPO_ROOT

    literal_calls = []
    for path in sorted((REPO_ROOT / "workflows").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("execute_activity", "start_activity")
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                literal_calls.append(f"{path.name}:{node.lineno} {node.args[0].value!r}")
    assert literal_calls == []
