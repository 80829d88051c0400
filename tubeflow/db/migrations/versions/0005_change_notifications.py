"""Change notifications on PostgreSQL: NOTIFY tubeflow_changes when events or productions change

The API's live feed LISTENs on this channel instead of polling (api/notify.py).  Statement-level
triggers, so a batch of rows costs one notification, and PostgreSQL folds identical
notifications of one transaction into one.  SQLite has no NOTIFY: the API watches the database
file there, so this revision does nothing on SQLite.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTION = """
CREATE OR REPLACE FUNCTION tubeflow_notify_change() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('tubeflow_changes', TG_TABLE_NAME);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(FUNCTION)
    for table, events in (("events", "INSERT"), ("productions", "INSERT OR UPDATE")):
        op.execute(f"DROP TRIGGER IF EXISTS tubeflow_{table}_changed ON {table}")
        op.execute(
            f"CREATE TRIGGER tubeflow_{table}_changed AFTER {events} ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION tubeflow_notify_change()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in ("events", "productions"):
        op.execute(f"DROP TRIGGER IF EXISTS tubeflow_{table}_changed ON {table}")
    op.execute("DROP FUNCTION IF EXISTS tubeflow_notify_change()")
