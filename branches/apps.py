from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BranchesConfig(AppConfig):
    name = "branches"
    verbose_name = _("支部与组织体系")

    def ready(self):
        from branches import metrics  # noqa: F401  (registers the branches metrics)
