import dataclasses
import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db.models import Count, Max, Q
from django.utils import timezone

from answering.models import Call
from clients.models import Client, ReportRecipient
from reporting import failures
from reporting.models import Delivery, destination_key

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

    @property
    def reason(self) -> failures.FailureReason:
        return failures.explain(
            last_error=self.last_error, bounced=True, address=self.address
        )

    @property
    def carrier_hint(self) -> str:
        return failures.carrier_hint(self.address)


def bouncing_addresses(client: Client | None = None) -> list[BouncingAddress]:
    """E-mail addresses whose mail server refuses our reports for good (5xx).

    An address counts while its latest bounce is newer than its latest
    successful delivery; one report getting through clears it. An address is
    its mailbox (destination_key()): re-typed in another case, or moved to the
    recipient's other field, it still bounces, and is named as the recipient
    has it now. Without a client, every client's bouncing addresses (for the
    failed-deliveries page).
    """
    emails = Delivery.objects.emails()
    if client is not None:
        emails = emails.filter(client=client)
    bounced_rows = list(
        emails.filter(status=Status.FAILED, bounced=True)
        .order_by()
        .values("client_id", "client__name", "address")
        .annotate(bounces=Count("id"), last_bounced_at=Max("failed_at"))
    )
    if not bounced_rows:
        return []
    # An address the client has since replaced is no longer asked about.
    recipients = ReportRecipient.objects.active_on(timezone.localdate())
    if client is not None:
        recipients = recipients.filter(client=client)
    in_use: dict[tuple[int, str], str] = {}
    for client_id, pc_email, mobile_email in recipients.order_by("id").values_list(
        "client_id", "pc_email", "mobile_email"
    ):
        for address in (pc_email, mobile_email):
            if address:
                in_use.setdefault((client_id, destination_key(address)), address)
    # Counted per mailbox: its bounces under every spelling.
    mailboxes: dict[tuple[int, str], list[Any]] = {}
    for row in bounced_rows:
        key = (row["client_id"], destination_key(row["address"]))
        if key in in_use:
            mailboxes.setdefault(key, []).append(row)
    if not mailboxes:
        return []
    last_ok: dict[tuple[int, str], dt.datetime] = {}
    for client_id, address, sent_at in (
        emails.filter(status=Status.SENT, client_id__in={key[0] for key in mailboxes})
        .order_by()
        .values("client_id", "address")
        .annotate(last_sent_at=Max("sent_at"))
        .values_list("client_id", "address", "last_sent_at")
    ):
        key = (client_id, destination_key(address))
        if sent_at is not None and (key not in last_ok or sent_at > last_ok[key]):
            last_ok[key] = sent_at
    last_errors = {
        (client_id, destination_key(address)): last_error
        for client_id, address, last_error in emails.filter(
            status=Status.FAILED,
            bounced=True,
            address__in={row["address"] for rows in mailboxes.values() for row in rows},
        )
        .order_by("failed_at", "id")
        .values_list("client_id", "address", "last_error")
    }
    result = []
    for key, rows in mailboxes.items():
        last_bounced_at = max(row["last_bounced_at"] for row in rows)
        ok_at = last_ok.get(key)
        if ok_at is not None and ok_at > last_bounced_at:
            continue
        result.append(
            BouncingAddress(
                client_id=rows[0]["client_id"],
                client_name=rows[0]["client__name"],
                address=in_use[key],
                bounces=sum(row["bounces"] for row in rows),
                last_bounced_at=last_bounced_at,
                last_error=last_errors.get(key, ""),
            )
        )
    result.sort(key=lambda b: (b.client_name, b.address))
    return result
