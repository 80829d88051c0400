"""Alembic environment: always runs on a connection handed over by :mod:`tubeflow.db.migrate`.

There is no alembic.ini and no URL here: ``tubeflow db upgrade`` and ``open_database`` open the
database the way every process does (pragmas, locks) and pass the connection in.  Autogenerate
(``tubeflow db revision``) also passes the metadata of every table, collected where all the rooms
are importable.
"""

from __future__ import annotations

from typing import Any

from alembic import context

from tubeflow.db.migrate import include_name, render_item

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise SystemExit("run migrations through `tubeflow db upgrade` / `tubeflow db revision`, not the alembic CLI")

options: dict[str, Any] = {
    "connection": connection,
    "target_metadata": config.attributes.get("target_metadata"),
    "include_name": include_name,
    "render_item": render_item,
    # SQLite cannot ALTER most things: new revisions are written as batch operations (copy and swap).
    "render_as_batch": True,
    "compare_type": True,
}
context.configure(**options)
with context.begin_transaction():
    context.run_migrations()
