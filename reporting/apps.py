from typing import Any

from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.utils.translation import gettext_lazy as _


def _python_lower(text: Any) -> Any:
    return text.lower() if isinstance(text, str) else text


def _fold_case_as_python(sender: Any, connection: Any, **kwargs: Any) -> None:
    """SQLite's own LOWER() folds ASCII letters only (Ärzte stays Ärzte), where
    Python and PostgreSQL fold every letter: a mailbox compared when a report
    is queued (destination_key()) and when it is sent
    (DeliveryQuerySet.to_destination()) would then be two. The laptop default
    runs on SQLite; PostgreSQL keeps its own."""
    if connection.vendor == "sqlite":
        connection.connection.create_function(
            "lower", 1, _python_lower, deterministic=True
        )


class ReportingConfig(AppConfig):
    name = "reporting"
    verbose_name = _("報告")

    def ready(self) -> None:
        connection_created.connect(
            _fold_case_as_python, dispatch_uid="reporting_fold_case_as_python"
        )
