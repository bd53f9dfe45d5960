from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VolunteersConfig(AppConfig):
    name = "volunteers"
    verbose_name = _("志愿服务")

    def ready(self):
        from branches.services.home import home_provider_register
        from volunteers.home import volunteers_home_items

        home_provider_register("volunteers", volunteers_home_items)
        from branches import signals
        from branches.models import ExportLog
        from volunteers import metrics  # noqa: F401  (registers the volunteers metrics)
        from volunteers.demo import demo_records_reset, demo_records_seed
        from volunteers.views.people import EXPORT_PAGES, EXPORT_TITLES

        for code, title in EXPORT_TITLES.items():
            page = EXPORT_PAGES.get(code, "volunteers:volunteer_list")
            ExportLog.register_export(code, title, page=page)

        # The demo seams (sent by branches' demo); absent on an older branches, then no demo.
        seeding = getattr(signals, "demo_records_seeding", None)
        if seeding is not None:
            seeding.connect(demo_records_seed, dispatch_uid="volunteers_demo_seed")
        reset = getattr(signals, "demo_records_reset", None)
        if reset is not None:
            reset.connect(demo_records_reset, dispatch_uid="volunteers_demo_reset")
