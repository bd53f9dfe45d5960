"""In-portal notifications: made in the workflow step's transaction for the people concerned
(the report's submitter and the township's staff, never the one who acted), read only by their
recipient, marked read one by one or all at once, purged after the retention period."""

from datetime import date, timedelta
from unittest import mock

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from branches.models import MonthlyReport, ReportEvent
from branches.services import workflow
from branches.services.notifications import notify_users
from governance.models import Notification, User
from governance.services.notifications import notifications_for_events, notifications_purge
from governance.tasks import purge_notifications
from tests.branches.test_workflow import fill
from tests.conftest import PERSONA_NAMES
from tests.governance.factories import UserFactory
from tests.governance.test_openapi import SCHEMA_URL, assert_documented

MARCH = date(2026, 3, 1)
Action = ReportEvent.Action
Status = MonthlyReport.Status

pytestmark = pytest.mark.usefixtures("april_third")


def recipients(event_action=None):
    rows = Notification.objects.all()
    if event_action:
        rows = rows.filter(event__action=event_action)
    return sorted(rows.values_list("recipient__username", flat=True))


@pytest.fixture
def submitted(tree, criteria, personas):
    """Township A's village A2, March, filled and submitted by staff_a."""
    report = fill(
        workflow.report_get_or_create(unit=tree.village_a2, period=MARCH), personas.staff_a
    )
    return workflow.report_submit(
        report=report, user=personas.staff_a, expected_version=report.version
    )


@pytest.fixture
def returned(submitted, personas):
    return workflow.report_return(
        report=submitted,
        user=personas.staff_a2,
        reason="请补充佐证材料",
        expected_version=submitted.version,
    )


class TestTheWorkflowNotifies:
    def test_a_return_notifies_the_submitter_and_the_townships_staff_but_not_the_reviewer(
        self, returned, personas
    ):
        # staff_a submitted and is township A staff; staff_a2 returned it; staff_b is in
        # another township; leaders, auditors, the secretary of another branch are not concerned.
        assert recipients() == ["staff_a"]
        notification = Notification.objects.get()
        assert "西流湖村 2026年3月" in notification.message
        assert "请补充佐证材料" in notification.message
        assert not notification.is_read

    def test_a_secretarys_own_submission_notifies_them_and_every_staff_member_but_the_actor(
        self, tree, criteria, personas
    ):
        report = fill(
            workflow.report_get_or_create(unit=tree.village_a1, period=MARCH), personas.secretary
        )
        report = workflow.report_submit(
            report=report, user=personas.secretary, expected_version=report.version
        )
        workflow.report_return(
            report=report, user=personas.staff_a, reason="数据有误", expected_version=report.version
        )
        assert recipients(Action.RETURNED) == ["checker", "shuji"]

    def test_nothing_is_notified_on_save_create_or_submit(self, submitted):
        assert not Notification.objects.exists()

    def test_an_approval_notifies_the_submitter(self, submitted, personas):
        workflow.report_approve(
            report=submitted, user=personas.staff_a2, expected_version=submitted.version
        )
        assert recipients(Action.APPROVED) == ["staff_a"]
        assert "审核通过" in Notification.objects.get().message

    def test_an_unlock_notifies_the_submitter_and_the_townships_staff(self, submitted, personas):
        report = workflow.report_approve(
            report=submitted, user=personas.staff_a2, expected_version=submitted.version
        )
        workflow.report_unlock(
            report=report,
            user=personas.county_leader,
            reason="村集体收入填错",
            expected_version=report.version,
        )
        assert recipients(Action.UNLOCKED) == ["checker", "staff_a"]
        unlocked = Notification.objects.filter(event__action=Action.UNLOCKED).first()
        assert "解锁" in unlocked.message and "村集体收入填错" in unlocked.message

    def test_inactive_accounts_get_nothing(self, submitted, personas):
        personas.staff_a.is_active = False
        personas.staff_a.save()
        workflow.report_return(
            report=submitted, user=personas.staff_a2, reason="x", expected_version=submitted.version
        )
        assert recipients() == []

    def test_the_recipients_are_read_in_one_query_for_all_events(
        self, submitted, personas, django_assert_num_queries
    ):
        submitted.refresh_from_db()
        event = ReportEvent(
            report=submitted, action=Action.RETURNED, actor=personas.staff_a2, reason="x"
        )
        event.save()
        submitted.unit  # noqa: B018  (loaded, as the workflow has it)
        # One UPDATE superseding earlier steps, one SELECT for the recipients of all the
        # events, one INSERT.
        with django_assert_num_queries(3):
            notifications_for_events(events=[event])

    def test_a_resubmission_asks_the_townships_staff_to_review_and_settles_the_return(
        self, returned, personas
    ):
        resubmitted = workflow.report_submit(
            report=returned, user=personas.staff_a, expected_version=returned.version
        )
        unread = Notification.objects.unread()
        # The return's notification of staff_a (who fixed it) is read now; staff_a2, who
        # returned it, is asked to review; staff_a is not told about their own step.
        assert list(unread.values_list("recipient__username", "event__action")) == [
            (personas.staff_a2.username, Action.RESUBMITTED)
        ]
        assert "按退回原因修改后重新提交，请审核" in unread.get().message
        workflow.report_approve(
            report=resubmitted, user=personas.staff_a2, expected_version=resubmitted.version
        )
        # Approved: nobody is asked to review any more; staff_a hears of the approval.
        assert list(
            Notification.objects.unread().values_list("recipient__username", "event__action")
        ) == [(personas.staff_a.username, Action.APPROVED)]

    def test_several_steps_of_one_report_at_once_leave_only_the_newest_unread(
        self, returned, personas
    ):
        Notification.objects.all().delete()
        resubmitted = workflow.report_submit(
            report=returned, user=personas.staff_a, expected_version=returned.version
        )
        Notification.objects.all().delete()
        events = list(resubmitted.events.filter(action__in=[Action.RETURNED, Action.RESUBMITTED]))
        for event in events:
            event.report = resubmitted
        notifications_for_events(events=events)
        assert {
            (n.event.action, n.is_read) for n in Notification.objects.select_related("event")
        } == {(Action.RETURNED, True), (Action.RESUBMITTED, False)}

    def test_announcing_the_same_event_twice_adds_nothing(self, returned):
        event = ReportEvent.objects.get(action=Action.RETURNED)
        notifications_for_events(events=[event])
        assert Notification.objects.count() == 1


class TestAFailedStepNotifiesNobody:
    def test_a_step_that_fails_after_its_event_rolls_the_notifications_back(
        self, submitted, personas
    ):
        with (
            mock.patch.object(
                workflow, "_recompute_after_commit", side_effect=RuntimeError("boom")
            ),
            pytest.raises(RuntimeError),
        ):
            workflow.report_return(
                report=submitted,
                user=personas.staff_a2,
                reason="请补充",
                expected_version=submitted.version,
            )
        submitted.refresh_from_db()
        assert submitted.status == Status.SUBMITTED
        assert not ReportEvent.objects.filter(action=Action.RETURNED).exists()
        assert not Notification.objects.exists()

    def test_a_refused_step_notifies_nobody(self, submitted, personas):
        with pytest.raises(workflow.ValidationError):
            workflow.report_return(
                report=submitted, user=personas.staff_a2, reason=" ", expected_version=1
            )
        with pytest.raises(workflow.ConflictError):
            workflow.report_approve(report=submitted, user=personas.staff_a2, expected_version=1)
        assert not Notification.objects.exists()


class TestThePurge:
    def test_it_deletes_what_is_older_than_90_days_and_keeps_the_rest(self, returned):
        notification = Notification.objects.get()
        now = timezone.now()
        notification.created_at = now - timedelta(days=90, minutes=1)
        notification.save()
        kept = Notification.objects.create(
            recipient=notification.recipient,
            event=ReportEvent.objects.filter(action=Action.SUBMITTED).get(),
            created_at=now - timedelta(days=89),
        )
        assert notifications_purge(now=now) == 1
        assert list(Notification.objects.all()) == [kept]
        assert notifications_purge(now=now) == 0

    def test_the_nightly_task_purges(self, returned, april_third):
        april_third.shift(timedelta(days=91))
        assert purge_notifications.delay().get() == 1
        assert not Notification.objects.exists()

    def test_the_purge_is_in_the_beat_schedule(self):
        tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
        assert "governance.tasks.purge_notifications" in tasks


def many_notifications(user, report, n):
    events = ReportEvent.objects.bulk_create(
        [
            ReportEvent(report=report, action=Action.RETURNED, reason=f"第{i}次", actor_name="周敏")
            for i in range(n)
        ]
    )
    start = timezone.now() - timedelta(days=1)
    return Notification.objects.bulk_create(
        [
            Notification(recipient=user, event=e, created_at=start + timedelta(minutes=i))
            for i, e in enumerate(events)
        ]
    )


class TestTheListPage:
    URL = reverse("notification_list")

    @pytest.mark.parametrize("persona", PERSONA_NAMES)
    def test_every_persona_has_a_list_page(self, persona, personas, login):
        response = login(getattr(personas, persona)).get(self.URL)
        assert response.status_code == 200
        assert "还没有通知" in response.content.decode()

    def test_it_needs_a_login(self, client):
        response = client.get(self.URL)
        assert response.status_code == 302
        assert reverse("login") in response["Location"]

    def test_it_lists_the_users_own_newest_first_with_a_link_to_the_report(
        self, returned, personas, login
    ):
        client = login(personas.staff_a)
        page = client.get(self.URL).content.decode()
        assert "请补充佐证材料" in page
        assert "未读" in page
        notification = Notification.objects.get(recipient=personas.staff_a)
        link = reverse("notification_open", args=[notification.pk])
        assert link in page
        # Following it opens the report and marks it read.
        response = client.get(link)
        assert response.status_code == 302
        assert response["Location"] == reverse(
            "branches:report_edit", args=["410102001002", "2026-03"]
        )
        notification.refresh_from_db()
        assert notification.is_read
        other = login(personas.staff_b).get(self.URL).content.decode()
        assert "请补充佐证材料" not in other

    def test_it_pages_newest_first(self, submitted, personas, login):
        many_notifications(personas.staff_a, submitted, 25)
        client = login(personas.staff_a)
        first = client.get(self.URL).context["page"]
        assert [n.event.reason for n in first.object_list][:2] == ["第24次", "第23次"]
        assert len(first.object_list) == 20
        second = client.get(self.URL, {"page": 2}).context["page"]
        assert len(second.object_list) == 5
        assert client.get(self.URL, {"page": "x"}).status_code == 200

    def test_its_queries_do_not_grow_with_the_notifications(
        self, submitted, personas, login, django_assert_max_num_queries
    ):
        many_notifications(personas.staff_a, submitted, 25)
        client = login(personas.staff_a)
        # Session, user, unit, page count, page rows, the top bar's unread count.
        with django_assert_max_num_queries(6):
            client.get(self.URL)

    def test_the_top_bar_shows_the_unread_count(self, submitted, personas, login):
        many_notifications(personas.staff_a, submitted, 3)
        page = login(personas.staff_a).get(reverse("home")).content.decode()
        assert 'text-bg-warning">3<' in page
        page = login(personas.staff_b).get(reverse("home")).content.decode()
        assert 'text-bg-warning">' not in page

    def test_unread_only(self, submitted, personas, login):
        first, second = many_notifications(personas.staff_a, submitted, 2)
        first.read_at = timezone.now()
        first.save()
        page = login(personas.staff_a).get(self.URL, {"unread": "1"}).context["page"]
        assert list(page.object_list) == [second]

    def test_marking_one_read(self, returned, personas, login):
        notification = Notification.objects.get()
        client = login(personas.staff_a)
        response = client.post(reverse("notification_read", args=[notification.pk]))
        assert response.status_code == 302
        notification.refresh_from_db()
        assert notification.is_read
        assert client.get(reverse("notification_read", args=[notification.pk])).status_code == 405

    def test_marking_read_goes_back_to_the_page_but_never_off_site(self, returned, personas, login):
        notification = Notification.objects.get()
        client = login(personas.staff_a)
        url = reverse("notification_read", args=[notification.pk])
        assert client.post(url, {"next": f"{self.URL}?page=2"})["Location"] == f"{self.URL}?page=2"
        assert client.post(url, {"next": "https://evil.example/"})["Location"] == self.URL

    @pytest.mark.parametrize("persona", ["staff_a2", "staff_b", "county_leader", "admin"])
    def test_another_users_notification_is_a_404(self, persona, returned, personas, login):
        notification = Notification.objects.get()
        response = login(getattr(personas, persona)).post(
            reverse("notification_read", args=[notification.pk])
        )
        assert response.status_code == 404
        notification.refresh_from_db()
        assert not notification.is_read

    def test_marking_all_read_touches_only_the_users_own(self, submitted, personas, login):
        mine = many_notifications(personas.staff_a, submitted, 3)
        theirs = many_notifications(personas.staff_a2, submitted, 1)
        client = login(personas.staff_a)
        response = client.post(reverse("notifications_read_all"), follow=True)
        assert "已将 3 条通知标为已读" in response.content.decode()
        assert all(n.is_read for n in Notification.objects.filter(pk__in=[n.pk for n in mine]))
        assert not Notification.objects.get(pk=theirs[0].pk).is_read
        again = client.post(reverse("notifications_read_all"), follow=True)
        assert "没有未读通知" in again.content.decode()

    def test_a_user_moved_out_of_the_township_no_longer_sees_its_notifications(
        self, returned, personas, tree, login
    ):
        personas.staff_a.unit = tree.township_b
        personas.staff_a.save()
        notification = Notification.objects.get()
        client = login(personas.staff_a)
        assert "请补充佐证材料" not in client.get(self.URL).content.decode()
        assert client.post(reverse("notification_read", args=[notification.pk])).status_code == 404


@pytest.fixture
def api_for():
    def _api(user):
        api = APIClient()
        api.force_authenticate(user)
        return api

    return _api


@pytest.fixture
def schema(personas, login):
    return login(personas.admin).get(SCHEMA_URL, {"format": "json"}).json()


class TestTheApi:
    LIST = "/api/v1/notifications/"

    def test_it_lists_the_callers_own_notifications(self, returned, personas, api_for, schema):
        response = api_for(personas.staff_a).get(self.LIST)
        assert response.status_code == 200
        assert_documented(schema, response)
        (item,) = response.json()["results"]
        assert item["action"] == "RETURNED"
        assert item["unit_code"] == "410102001002"
        assert item["period"] == "2026-03"
        assert item["is_read"] is False
        assert api_for(personas.staff_b).get(self.LIST).json()["results"] == []

    def test_it_needs_a_login(self, schema):
        response = APIClient().get(self.LIST)
        assert response.status_code == 401
        assert_documented(schema, response)

    @pytest.mark.parametrize(("value", "count"), [("true", 1), ("false", 0)])
    def test_it_filters_unread(self, value, count, returned, personas, api_for):
        response = api_for(personas.staff_a).get(self.LIST, {"unread": value})
        assert response.json()["count"] == count

    def test_a_bad_filter_or_page_is_a_documented_error(self, personas, api_for, schema):
        api = api_for(personas.staff_a)
        for params, status in [({"unread": "vielleicht"}, 400), ({"page": 9}, 404)]:
            response = api.get(self.LIST, params)
            assert response.status_code == status
            assert_documented(schema, response)

    def test_marking_one_read(self, returned, personas, api_for, schema):
        notification = Notification.objects.get()
        response = api_for(personas.staff_a).post(f"{self.LIST}{notification.pk}/read/")
        assert response.status_code == 200
        assert_documented(schema, response)
        assert response.json()["is_read"] is True

    @pytest.mark.parametrize("path", ["", "read/"])
    def test_another_users_notification_is_a_404(self, path, returned, personas, api_for, schema):
        notification = Notification.objects.get()
        api = api_for(personas.staff_a2)
        method = api.post if path else api.get
        response = method(f"{self.LIST}{notification.pk}/{path}")
        assert response.status_code == 404
        assert_documented(schema, response)
        assert not Notification.objects.get().is_read

    def test_marking_all_read(self, submitted, personas, api_for, schema):
        many_notifications(personas.staff_a, submitted, 4)
        many_notifications(personas.staff_b, submitted, 1)
        response = api_for(personas.staff_a).post(f"{self.LIST}read-all/")
        assert response.status_code == 200
        assert_documented(schema, response)
        assert response.json() == {"marked": 4}
        assert Notification.objects.unread().count() == 1

    def test_the_list_queries_do_not_grow(
        self, submitted, personas, api_for, django_assert_max_num_queries
    ):
        many_notifications(personas.staff_a, submitted, 30)
        with django_assert_max_num_queries(4):
            api_for(personas.staff_a).get(self.LIST)

    def test_every_persona_may_read_its_own(self, personas, api_for):
        for name in PERSONA_NAMES:
            assert api_for(getattr(personas, name)).get(self.LIST).status_code == 200


def test_a_superuser_submitter_without_a_unit_is_notified(tree, criteria, personas):
    root = UserFactory(username="root2", role=User.Role.ADMIN, is_superuser=True)
    report = fill(workflow.report_get_or_create(unit=tree.village_b1, period=MARCH), root)
    report = workflow.report_submit(report=report, user=root, expected_version=report.version)
    workflow.report_return(
        report=report, user=personas.staff_b, reason="x", expected_version=report.version
    )
    assert recipients() == ["root2"]


class TestAnyAppMayNotify:
    """branches.services.notifications.notify_users: what the records apps call."""

    def test_it_notifies_each_recipient_once_with_the_text_and_link(self, tree, personas):
        notify_users(
            recipients=[personas.grid_worker, personas.staff_a, personas.staff_a.pk, None],
            unit=tree.compound_a1,
            text="网格事件已派单给您，请在期限内处置。",
            url="/grids/events/1/",
        )
        assert recipients() == ["staff_a", "wangge"]
        notification = Notification.objects.get(recipient=personas.grid_worker)
        assert notification.message == "网格事件已派单给您，请在期限内处置。"
        assert notification.unit == tree.compound_a1

    def test_a_grid_worker_reads_theirs_though_they_read_no_reports(self, tree, personas, login):
        notify_users(recipients=[personas.grid_worker], unit=tree.compound_a1, text="请走访")
        assert Notification.objects.visible_to(personas.grid_worker).count() == 1
        response = login(personas.grid_worker).get(reverse("notification_list"))
        assert "请走访" in response.content.decode()

    def test_it_leaves_the_list_when_the_unit_leaves_the_jurisdiction(self, tree, personas):
        notify_users(recipients=[personas.staff_a], unit=tree.village_a2, text="待办")
        personas.staff_a.unit = tree.township_b
        personas.staff_a.save()
        assert not Notification.objects.visible_to(personas.staff_a).exists()

    def test_opening_it_follows_the_link_and_marks_it_read(self, tree, personas, login):
        notify_users(
            recipients=[personas.staff_a], unit=tree.village_a2, text="待办", url="/reports/"
        )
        notification = Notification.objects.get()
        response = login(personas.staff_a).get(reverse("notification_open", args=[notification.pk]))
        assert response.status_code == 302
        assert response["Location"] == "/reports/"
        notification.refresh_from_db()
        assert notification.is_read

    @pytest.mark.parametrize("url", ["https://example.com/", "//example.com/x", "reports/"])
    def test_a_link_off_the_portal_is_refused(self, url, tree, personas):
        with pytest.raises(ValueError):
            notify_users(recipients=[personas.staff_a], unit=tree.village_a2, text="x", url=url)
        assert not Notification.objects.exists()

    def test_it_falls_with_the_callers_transaction(self, tree, personas):
        from django.db import transaction

        with pytest.raises(RuntimeError), transaction.atomic():
            notify_users(recipients=[personas.staff_a], unit=tree.village_a2, text="待办")
            raise RuntimeError("the step failed after notifying")
        assert not Notification.objects.exists()

    def test_the_api_lists_it_with_its_unit_and_link(self, tree, personas, api_for, schema):
        notify_users(
            recipients=[personas.staff_a], unit=tree.village_a2, text="待办", url="/reports/"
        )
        response = api_for(personas.staff_a).get(TestTheApi.LIST)
        assert_documented(schema, response)
        (item,) = response.json()["results"]
        assert item["message"] == "待办"
        assert item["action"] is None
        assert item["period"] is None
        assert item["unit_code"] == tree.village_a2.code
        assert item["url"] == "/reports/"

    def test_the_database_refuses_a_notification_about_nothing(self, personas):
        from django.db import IntegrityError

        with pytest.raises(IntegrityError):
            Notification.objects.create(recipient=personas.staff_a)
