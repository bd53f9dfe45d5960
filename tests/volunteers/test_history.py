from django.apps import apps

# Derived rows (rewritten from the ledger or the attendance) and the order steps, which are
# themselves the event rows of the workflow, keep no change history of their own.
WITHOUT_HISTORY = {"PointsBalance", "YearHours", "ServiceOrderStep"}


def test_every_volunteers_record_keeps_its_change_history():
    models = [
        model
        for model in apps.get_app_config("volunteers").get_models()
        if not model.__name__.startswith("Historical")
    ]
    kept = {model.__name__ for model in models if hasattr(model, "history")}
    assert kept == {model.__name__ for model in models} - WITHOUT_HISTORY
    assert {"Attendance", "PointsEntry", "ServiceOrder", "ActivityPhoto"} <= kept


def test_confirming_hours_is_in_the_attendance_history_with_who_did_it(personas, login, tree, vol):
    from django.urls import reverse

    from tests.volunteers.conftest import record

    row = record(personas.staff_a, vol.team, tree.village_a1, [(vol.member, "2")]).attendances.get()
    response = login(personas.staff_a).post(
        reverse("volunteers:hours_confirm"), {"attendance": [row.pk], "confirm": "1"}
    )
    assert response.status_code == 302
    latest = row.history.latest("history_id")
    assert latest.status == "CONFIRMED" and latest.history_user == personas.staff_a
    first, last = row.history.order_by("history_id")
    assert (first.status, first.history_user) == ("PENDING", personas.staff_a)
    assert (last.status, last.history_user) == ("CONFIRMED", personas.staff_a)
