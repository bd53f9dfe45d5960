from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GovernanceConfig(AppConfig):
    name = "governance"
    verbose_name = _("用户、权限与监督")

    def ready(self):
        from branches.services import workflow
        from governance.services.notifications import notifications_for_events

        # Notifications are made in the transaction of the workflow step they announce.
        workflow.report_event_listen(notifications_for_events)

        from branches.signals import demo_values_seeded, notification_requested, run_finished
        from governance.services.notifications import notifications_for_request

        notification_requested.connect(
            notifications_for_request, dispatch_uid="notifications_for_request"
        )
        from governance.tasks import supervision_after_demo, supervision_after_run

        # The closed month's reports follow its recompute.
        run_finished.connect(supervision_after_run, dispatch_uid="supervision_after_run")
        demo_values_seeded.connect(supervision_after_demo, dispatch_uid="supervision_after_demo")
