from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GridsConfig(AppConfig):
    name = "grids"
    verbose_name = _("网格化管理")

    def ready(self):
        from branches.services.home import home_provider_register
        from grids.home import grids_home_items

        home_provider_register("grids", grids_home_items)
        from branches.models import ExportLog
        from branches.signals import demo_records_reset, demo_records_seeding
        from grids import metrics  # noqa: F401  (registers the grids metrics)
        from grids.demo import demo_grids_reset, demo_grids_seed
        from grids.views.exports import TITLES

        pages = {"GRID_LEDGER": "grids:grid_list", "GRID_VISITS": "grids:visit_list"}
        for code, title in TITLES.items():
            ExportLog.register_export(code, title, page=pages.get(code, "grids:hazard_list"))

        demo_records_seeding.connect(demo_grids_seed, dispatch_uid="grids_demo_seed")
        demo_records_reset.connect(demo_grids_reset, dispatch_uid="grids_demo_reset")
