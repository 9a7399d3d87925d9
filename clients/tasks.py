"""Scheduled upkeep of logins and lent numbers (the beat schedule is in settings)."""

from celery import shared_task
from django.core.management import call_command

from clients import services


@shared_task(ignore_result=True)
def clear_expired_sessions() -> None:
    """An expired login is refused, but its row stays in the session table until
    removed: daily, the same as ``manage.py clearsessions`` by hand."""
    call_command("clearsessions")


@shared_task(ignore_result=True)
def release_numbers_of_ended_contracts() -> dict[str, int]:
    """The numbers of contracts that ended go back to the pool (their rest
    begins); by hand, ``manage.py release_numbers_of_ended_contracts``."""
    result = services.release_numbers_of_ended_contracts()
    return {"clients": result.clients, "numbers": result.numbers}
