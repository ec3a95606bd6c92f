"""What the Alembic revisions share: an index and a cascading foreign key named as the tables'
naming convention names them (ix_<table>_<columns>, fk_<table>_<column>_<referred table>), so a
revision says which columns and the name follows. A revision already shipped must keep producing
the same schema: change these only by adding (tests/store/test_store_migrations.py compares the
migrated schema with recsvc/store/tables.py)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


def _index_name(table: str, columns: tuple[str, ...]) -> str:
    return op.f(f"ix_{table}_{'_'.join(columns)}")


def create_index(table: str, *columns: str) -> None:
    """A plain (non-unique) index on the columns, in order."""
    op.create_index(_index_name(table, columns), table, list(columns), unique=False)


def drop_index(table: str, *columns: str) -> None:
    op.drop_index(_index_name(table, columns), table_name=table)


def cascading(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    """`column` of `table` refers to `target` ("table.column"); its rows go when that row goes."""
    referred = target.split(".")[0]
    return sa.ForeignKeyConstraint(
        [column], [target], name=op.f(f"fk_{table}_{column}_{referred}"), ondelete="CASCADE"
    )
