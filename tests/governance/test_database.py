"""ANALYZE after bulk writes (PostgreSQL): the next query is planned on the new rows."""

import pytest
from django.db import connection

from branches.models import OrgUnit
from governance import database


def planned_rows(model) -> float:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [model._meta.db_table]
        )
        return cursor.fetchone()[0]


@pytest.mark.postgres
def test_a_bulk_write_refreshes_the_tables_statistics_after_commit(
    tree, django_capture_on_commit_callbacks, monkeypatch
):
    if connection.vendor != "postgresql":
        pytest.skip("ANALYZE is PostgreSQL's; elsewhere statistics_refresh does nothing")
    monkeypatch.setattr(database, "ANALYZE_MIN_ROWS", 3)
    units = OrgUnit.objects.count()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        database.statistics_refresh(OrgUnit, rows=units)
        # Not before the commit: inside the transaction its lock would hold up other writers.
        assert planned_rows(OrgUnit) != units
    assert len(callbacks) == 1
    assert planned_rows(OrgUnit) == units


def test_a_small_write_leaves_the_statistics_to_autovacuum(
    tree, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        database.statistics_refresh(OrgUnit, rows=database.ANALYZE_MIN_ROWS - 1)
    assert callbacks == []
