"""Scheduled upkeep of logins."""

from celery import shared_task
from django.core.management import call_command


@shared_task(ignore_result=True)
def clear_expired_sessions() -> None:
    """An expired login is refused, but its row stays in the session table until
    removed: daily, the same as ``manage.py clearsessions`` by hand."""
    call_command("clearsessions")
