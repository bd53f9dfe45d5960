"""Case numbers under concurrent registration on PostgreSQL: no duplicates, no gaps."""

import threading
from datetime import date

import pytest
from django.db import connection, connections

from disputes.models import DisputeCase
from tests.disputes.factories import make_case

THREADS = 8
EACH = 5


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_registrations_get_distinct_numbers(personas, tree):
    if connection.vendor != "postgresql":
        pytest.skip("the row lock is PostgreSQL's; SQLite serialises writers itself")
    start = threading.Barrier(THREADS)
    errors = []

    def register():
        try:
            start.wait()
            for _ in range(EACH):
                make_case(personas.staff_a, tree.village_a2, received_on=date(2026, 3, 1))
        except Exception as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=register) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    numbers = sorted(DisputeCase.objects.values_list("number", flat=True))
    assert numbers == [f"2026-410102001-{n:04d}" for n in range(1, THREADS * EACH + 1)]
