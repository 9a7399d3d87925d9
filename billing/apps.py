from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = _("請求")

    def ready(self) -> None:
        from billing import company  # noqa: F401  (registers its system check)
