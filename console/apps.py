from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConsoleConfig(AppConfig):
    """The operator console: page-level code on top of answering and reporting."""

    name = "console"
    verbose_name = _("オペレーター画面")
