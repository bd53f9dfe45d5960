from io import StringIO
from unittest import mock

import pytest
from django.core.management import call_command

from branches.demo.users import DEMO_PASSWORD
from branches.models import OrgUnit
from tests.governance.factories import UserFactory

COMMAND = "governance.management.commands.setup_demo_if_empty"


def run_command() -> tuple[str, mock.MagicMock]:
    out = StringIO()
    with mock.patch(f"{COMMAND}.call_command") as seed:
        call_command("setup_demo_if_empty", stdout=out)
    return out.getvalue(), seed


@pytest.mark.django_db
def test_it_seeds_the_town_demo_into_an_empty_database():
    _, seed = run_command()

    seed.assert_called_once()
    assert seed.call_args.args == ("seed_demo",)
    assert seed.call_args.kwargs["scale"] == "town"


def test_it_leaves_an_existing_database_alone_and_lists_the_logins(personas):
    out, seed = run_command()

    seed.assert_not_called()
    assert f"已有 {OrgUnit.objects.count()} 个组织单位" in out
    for username in ("admin", "staff_a", "shuji", "wangge"):
        assert username in out
    assert "林山寨街道" in out
    assert DEMO_PASSWORD in out


def test_it_says_how_to_create_a_login_when_there_is_none(tree):
    out, seed = run_command()

    seed.assert_not_called()
    assert "createsuperuser" in out


def test_accounts_that_cannot_log_in_are_not_listed(personas, tree):
    colleague = UserFactory(
        username="staff_410102002_1", role="TOWNSHIP_STAFF", unit=tree.township_b
    )
    colleague.set_unusable_password()
    colleague.save()

    out, _seed = run_command()

    assert "staff_a" in out
    assert "staff_410102002_1" not in out
