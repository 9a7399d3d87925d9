from axes.apps import AppConfig as DjangoAxesConfig
from django.contrib.admin.apps import AdminConfig as DjangoAdminConfig
from django.utils.translation import gettext_lazy as _


class AdminConfig(DjangoAdminConfig):
    default_site = "config.admin_site.AdminSite"


class AxesConfig(DjangoAxesConfig):
    """django-axes under a Japanese heading on the admin's start page (its own
    strings are translated in locale/ja)."""

    verbose_name = _("ログインの記録")
