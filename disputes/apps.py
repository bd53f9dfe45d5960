from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DisputesConfig(AppConfig):
    name = "disputes"
    verbose_name = _("矛盾纠纷调处")

    def ready(self):
        from branches.services.home import home_provider_register
        from disputes.home import disputes_home_items

        home_provider_register("disputes", disputes_home_items)
        from disputes.workflow import time_limits

        time_limits()  # a misspelt DISPUTE_TIME_LIMITS entry stops the start-up
        from branches.models import ExportLog
        from branches.signals import demo_records_reset, demo_records_seeding
        from disputes import metrics  # noqa: F401  (registers the disputes metrics)
        from disputes.demo import demo_disputes_reset, demo_disputes_seed
        from disputes.views import EXPORT_TITLES

        pages = {"DISPUTE_LEDGER": "disputes:case_list", "DISPUTE_SCREENING": "disputes:screening"}
        for code, title in EXPORT_TITLES.items():
            ExportLog.register_export(code, title, page=pages[code])

        demo_records_seeding.connect(demo_disputes_seed, dispatch_uid="disputes-demo-seed")

        from django.urls import reverse

        from grids.models import GridEvent
        from grids.services.events import event_actions

        # 转为纠纷案件: a grid event that is a dispute opens the new-case form filled from it.
        event_actions.register(
            "disputes.case",
            label=_("转为纠纷案件"),
            allowed=lambda user, event: (
                user.can_register_disputes
                and event.category == GridEvent.Category.DISPUTE
                and not user.is_read_only
            ),
            url=lambda event: f"{reverse('disputes:case_create')}?event={event.number}",
        )
        demo_records_reset.connect(demo_disputes_reset, dispatch_uid="disputes-demo-reset")
