from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ClientsConfig(AppConfig):
    name = "clients"
    verbose_name = _("顧客・契約")

    def ready(self) -> None:
        from clients import lookups  # noqa: F401  (registers them on text fields)
