import dataclasses
import datetime as dt
from collections.abc import Iterable

from django.db.models import Count, Max, Q
from django.utils import timezone

from answering.models import Call
from clients.models import Client, ReportRecipient
from reporting.models import Delivery

Status = Delivery.Status

WAITING = "waiting"
SENT = "sent"
FAILED = "failed"
NO_DESTINATION = "no_destination"


def report_status_of(call: Call, statuses: dict[int, str]) -> str | None:
    """``call``'s summary from ``report_status_by_call``. A call to report that
    has no delivery had nowhere to go (its client's recipients had all ended):
    shown as such, never as a call with nothing to report."""
    status = statuses.get(call.pk)
    if status is None and call.is_reported:
        return NO_DESTINATION
    return status


def report_status_by_call(call_ids: Iterable[int]) -> dict[int, str]:
    """One summary per call, in one query: "failed" if any delivery failed,
    else "waiting" while any is pending or sending, else "sent".

    Calls without deliveries (sales calls) are absent from the result.
    """
    ids = list(call_ids)
    if not ids:
        return {}
    rows = (
        Delivery.objects.filter(call_id__in=ids)
        .order_by()
        .values("call_id")
        .annotate(
            failed=Count("id", filter=Q(status=Status.FAILED)),
            waiting=Count("id", filter=Q(status__in=[Status.PENDING, Status.SENDING])),
        )
    )
    result = {}
    for row in rows:
        if row["failed"]:
            result[row["call_id"]] = FAILED
        elif row["waiting"]:
            result[row["call_id"]] = WAITING
        else:
            result[row["call_id"]] = SENT
    return result


@dataclasses.dataclass(frozen=True)
class BouncingAddress:
    client_id: int
    client_name: str
    address: str
    bounces: int
    last_bounced_at: dt.datetime
    last_error: str


def bouncing_addresses(client: Client | None = None) -> list[BouncingAddress]:
    """E-mail addresses whose mail server refuses our reports for good (5xx).

    An address counts while its latest bounce is newer than its latest
    successful delivery; one report getting through clears it. Without a
    client, every client's bouncing addresses (for the failed-deliveries page).
    """
    emails = Delivery.objects.emails()
    if client is not None:
        emails = emails.filter(client=client)
    bounced = (
        emails.filter(status=Status.FAILED, bounced=True)
        .order_by()
        .values("client_id", "client__name", "address")
        .annotate(bounces=Count("id"), last_bounced_at=Max("failed_at"))
    )
    bounced_rows = list(bounced)
    if not bounced_rows:
        return []
    # An address the client has since replaced is no longer asked about.
    recipients = ReportRecipient.objects.active_on(timezone.localdate())
    if client is not None:
        recipients = recipients.filter(client=client)
    in_use = set()
    for client_id, pc_email, mobile_email in recipients.values_list(
        "client_id", "pc_email", "mobile_email"
    ):
        in_use |= {(client_id, pc_email), (client_id, mobile_email)}
    bounced_rows = [
        row for row in bounced_rows if (row["client_id"], row["address"]) in in_use
    ]
    if not bounced_rows:
        return []
    addresses = {row["address"] for row in bounced_rows}
    last_ok = {
        (row["client_id"], row["address"]): row["last_sent_at"]
        for row in emails.filter(status=Status.SENT, address__in=addresses)
        .order_by()
        .values("client_id", "address")
        .annotate(last_sent_at=Max("sent_at"))
    }
    last_errors = {
        (d.client_id, d.address): d.last_error
        for d in emails.filter(
            status=Status.FAILED, bounced=True, address__in=addresses
        )
        .order_by("failed_at", "id")
        .only("client_id", "address", "last_error")
    }
    result = []
    for row in bounced_rows:
        key = (row["client_id"], row["address"])
        ok_at = last_ok.get(key)
        if ok_at is not None and ok_at > row["last_bounced_at"]:
            continue
        result.append(
            BouncingAddress(
                client_id=row["client_id"],
                client_name=row["client__name"],
                address=row["address"],
                bounces=row["bounces"],
                last_bounced_at=row["last_bounced_at"],
                last_error=last_errors.get(key, ""),
            )
        )
    result.sort(key=lambda b: (b.client_name, b.address))
    return result
