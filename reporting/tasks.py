"""Celery tasks: load by id, call one service. Retries are scheduled in the
database (``next_attempt_at``) and picked up by the relay, not by Celery."""

from celery import shared_task

from reporting import services


@shared_task(ignore_result=True, acks_late=True)
def deliver_report(delivery_id: int) -> str:
    return services.deliver(delivery_id=delivery_id)


@shared_task(ignore_result=True)
def relay_due_deliveries() -> dict[str, int]:
    return services.relay_due_deliveries()


@shared_task(ignore_result=True)
def erase_old_personal_data() -> dict[str, int]:
    result = services.erase_old_personal_data()
    return {"calls": result.calls, "deliveries": result.deliveries}
