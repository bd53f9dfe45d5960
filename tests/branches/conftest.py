"""The branches app's tests rate on the manual rows of the default sets: the metric rows
(SA-01, SA-02, SA-06, CI-03/HA-01) join them only because the records apps are installed,
and `branches` works without them. The records apps' tests cover their criteria."""

import pytest


@pytest.fixture(autouse=True)
def _manual_default_sets(monkeypatch):
    monkeypatch.setattr("branches.catalogue.registered_metric_rows", lambda area_type: ())
