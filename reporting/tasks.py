"""Celery tasks: load by id, call one service. Retries are scheduled in the
database (``next_attempt_at``) and picked up by the relay, not by Celery."""

from typing import Any

from celery import shared_task
from celery.signals import worker_process_shutdown, worker_shutdown
from django.db import close_old_connections

from reporting import mail, services


@shared_task(ignore_result=True, acks_late=True)
def deliver_report(delivery_id: int) -> str:
    # When the worker keeps its database connection between tasks
    # (CELERY_DB_REUSE_MAX), drop one that broke or outlived CONN_MAX_AGE.
    close_old_connections()
    return services.deliver(delivery_id=delivery_id)


@shared_task(ignore_result=True)
def relay_due_deliveries() -> dict[str, int]:
    close_old_connections()
    return services.relay_due_deliveries()


@shared_task(ignore_result=True)
def erase_old_personal_data() -> dict[str, int]:
    result = services.erase_old_personal_data()
    return {"calls": result.calls, "deliveries": result.deliveries}


@worker_process_shutdown.connect
@worker_shutdown.connect
def _quit_kept_smtp_connection(**kwargs: Any) -> None:
    """Say QUIT on the SMTP connection a worker process kept between reports."""
    mail.close_connection()
