"""What the portal writes: client requests, and admins processing them."""

import datetime as dt
from dataclasses import dataclass, field, replace

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from clients.models import Client, ClientPlan, Plan, ReportRecipient
from clients.months import japan_today
from clients.services import (
    PlanChangeResult,
    plan_change_effective_month,
    schedule_plan_change,
    set_cancellation,
    start_first_plan_with_contract,
)
from portal.models import (
    BillingEmailChangeRequest,
    CancellationRequest,
    PlanChangeRequest,
    RecipientChangeRequest,
    RequestStatus,
    SystemNote,
    cancellation_days,
    validate_desired_on,
)

AnyChangeRequest = (
    PlanChangeRequest
    | RecipientChangeRequest
    | BillingEmailChangeRequest
    | CancellationRequest
)


def _close_unprocessed(
    requests: list[PlanChangeRequest]
    | list[RecipientChangeRequest]
    | list[BillingEmailChangeRequest]
    | list[CancellationRequest],
    *,
    note: SystemNote,
    now: dt.datetime,
) -> None:
    """Close open requests that nobody processed (replaced or withdrawn), with
    ``note`` for the client (a code: the page says it in the reader's
    language); ``processed_by`` stays empty: no admin did it. A memo the
    admin wrote meanwhile is kept."""
    for change_request in requests:
        change_request.status = RequestStatus.REJECTED
        change_request.system_note = note
        change_request.processed_at = now
        change_request.save(update_fields=["status", "system_note", "processed_at"])


def _close_open_plan_requests(
    *, client: Client, note: SystemNote, now: dt.datetime
) -> tuple[dt.date, list[PlanChangeRequest]]:
    """Close the client's open requests for next month's plan, under a lock on
    the client: (that month, the requests closed).

    Two tabs or a double click: the second waits here for the first to commit,
    then finds its request and closes it. Locking only the open requests would
    not do: with none yet there is nothing to lock, and both would insert one.
    """
    effective = plan_change_effective_month(now=now)
    Client.objects.lock(client.pk)
    closed = list(
        PlanChangeRequest.objects.filter(
            client=client, effective_month=effective, status=RequestStatus.OPEN
        )
    )
    _close_unprocessed(closed, note=note, now=now)
    return effective, closed


@transaction.atomic
def request_plan_change(
    *,
    client: Client,
    plan: Plan,
    requested_by=None,
    message: str = "",
    now: dt.datetime | None = None,
) -> PlanChangeRequest:
    """Record a client's wish for another plan from the 1st of next month.

    The last request in a month wins: an open request for the same month is
    closed as replaced, so admins only ever see one open request per month.
    """
    now = now or timezone.now()
    # The contract as it is once the client is locked, not as the page read
    # it: a cancellation saved meanwhile (the admin's client page holds the
    # lock, then closes the requests it leaves after the contract) would
    # otherwise let in a request for a month the contract does not reach.
    client = Client.objects.lock(client.pk)
    if client.cancelled_on is not None and client.contract_ended_before(
        plan_change_effective_month(now=now)
    ):
        raise ValidationError(
            _("ご契約は%(day)sで終了するため、プランは変更できません。")
            % {"day": date_format(client.cancelled_on, "DATE_FORMAT")}
        )
    effective, _replaced = _close_open_plan_requests(
        client=client, note=SystemNote.SUPERSEDED, now=now
    )
    return PlanChangeRequest.objects.create(
        client=client,
        plan=plan,
        effective_month=effective,
        requested_at=now,
        requested_by=requested_by,
        message=message,
    )


@transaction.atomic
def withdraw_plan_change(
    *, client: Client, now: dt.datetime | None = None
) -> list[PlanChangeRequest]:
    """The client keeps the plan already scheduled for next month: its open
    request for that month is closed (the last wish in a month wins)."""
    _effective, withdrawn = _close_open_plan_requests(
        client=client, note=SystemNote.WITHDRAWN, now=now or timezone.now()
    )
    return withdrawn


@dataclass(frozen=True)
class RequestsClosed:
    """The open requests a cancellation left after the contract, now closed."""

    # Oldest month first.
    plan_requests: list[PlanChangeRequest]
    # Earliest desired date first.
    recipient_requests: list[RecipientChangeRequest]


@transaction.atomic
def close_requests_after_contract_end(
    *, client: Client, now: dt.datetime | None = None
) -> RequestsClosed:
    """Close the client's open requests for a time its contract no longer
    reaches (asked for, then a cancellation dated before it): plan requests for
    a month after the contract's last day, recipient requests whose desired
    date (希望日) is after it.

    Applying a plan request is refused (the plan would start after the
    contract), and a recipient change after the contract changes nothing, so
    they would stay open for good; closed, the client reads why in the portal.
    The plans already registered for those months go the same way
    (clients.services.drop_plans_after_contract_end).

    Billing address requests stay open: they name no time, and the final
    invoice (and a returned deposit) is still notified after the last day.
    """
    client = Client.objects.lock(client.pk)
    if client.cancelled_on is None:
        return RequestsClosed(plan_requests=[], recipient_requests=[])
    now = now or timezone.now()
    plan_requests = list(
        PlanChangeRequest.objects.filter(
            client=client,
            status=RequestStatus.OPEN,
            effective_month__gt=client.cancelled_on,
        )
        .select_related("plan")
        .order_by("effective_month", "id")
    )
    _close_unprocessed(plan_requests, note=SystemNote.AFTER_CONTRACT_END, now=now)
    recipient_requests = list(
        RecipientChangeRequest.objects.filter(
            client=client,
            status=RequestStatus.OPEN,
            desired_on__gt=client.cancelled_on,
        )
        .select_related("recipient")
        .order_by("desired_on", "id")
    )
    _close_unprocessed(
        recipient_requests, note=SystemNote.DESIRED_AFTER_CONTRACT_END, now=now
    )
    return RequestsClosed(
        plan_requests=plan_requests, recipient_requests=recipient_requests
    )


@transaction.atomic
def apply_plan_change_request(
    *,
    change_request: PlanChangeRequest,
    processed_by=None,
    now: dt.datetime | None = None,
) -> PlanChangeResult:
    """Admin: schedule the plan the client asked for, from the month promised.

    The month is the one the client was shown when asking, even if the admin
    processes the request after that month began.
    """
    now = now or timezone.now()
    # The client first, then the request: the order the portal takes them in
    # (the other order deadlocks with a client's new request). The lock also
    # keeps an admin's set_plan out until this change is written, so the check
    # below cannot go stale.
    client = Client.objects.lock(change_request.client_id)
    change_request = PlanChangeRequest.objects.select_for_update().get(
        pk=change_request.pk
    )
    if change_request.status != RequestStatus.OPEN:
        raise ValidationError(_("このお申し込みはすでに処理済みです。"))
    # The last request in a month wins: a change registered after this request
    # (by an admin, on the phone) must not be overwritten by applying it now.
    newer = (
        ClientPlan.objects.filter(
            client_id=change_request.client_id,
            effective_month=change_request.effective_month,
            requested_at__gt=change_request.requested_at,
        )
        .select_related("plan")
        .first()
    )
    if newer is not None:
        raise ValidationError(
            _(
                "このお申し込みの後に、同じ月からのプラン「%(plan)s」が登録されています。"
                "お客様に確認してから処理してください。"
            )
            % {"plan": newer.plan.name}
        )
    result = schedule_plan_change(
        client=client,
        plan=change_request.plan,
        requested_by=change_request.requested_by,
        now=change_request.requested_at,
    )
    # The client's first plan, asked for while in the trial: from the
    # client's first month, as an admin's first plan (``set_plan``), or the
    # contract's months before the one asked for would have no plan, and
    # never be billed.
    moved = start_first_plan_with_contract(client=client)
    change_request.status = RequestStatus.DONE
    change_request.processed_at = now
    change_request.processed_by = processed_by
    change_request.save(update_fields=["status", "processed_at", "processed_by"])
    return replace(result, first_plan_moved=moved)


@dataclass(frozen=True)
class RecipientRequestResult:
    change_request: RecipientChangeRequest
    # False: the same request was already open, and nothing was recorded.
    created: bool
    # The client's open requests this one replaced (closed as rejected).
    replaced: list[RecipientChangeRequest]


def _addresses(change_request: RecipientChangeRequest) -> set[str]:
    return {
        address.lower()
        for address in (change_request.pc_email, change_request.mobile_email)
        if address
    }


def _same_target(one: RecipientChangeRequest, other: RecipientChangeRequest) -> bool:
    """Whether two requests are about the same person: the same recipient, or
    two additions of the same address."""
    if one.recipient_id is not None:
        return one.recipient_id == other.recipient_id
    Kind = RecipientChangeRequest.Kind
    return one.kind == other.kind == Kind.ADD and bool(
        _addresses(one) & _addresses(other)
    )


# The code of the refusal of an e-mail recipient for a client whose reports
# do not go by e-mail: the portal's request (request_recipient_change) and
# the admin's 対応済み (close_request, which links it to the client's 報告方法).
REPORTS_NOT_BY_EMAIL = "reports_not_by_email"


def email_recipient_unreported(*, client: Client, kind: str) -> bool:
    """Whether a recipient request of ``kind`` asks for e-mail addresses that
    would receive nothing: an addition or a change, for a client whose reports
    go to Chatwork only. A stop asks for no address."""
    return kind != RecipientChangeRequest.Kind.REMOVE and not client.report_by_email


def reports_by_chatwork_only_message() -> str:
    """What the portal tells a client reporting by Chatwork only, before and
    when it asks for an e-mail recipient: there is no channel request in the
    portal, so whom to call to switch."""
    return _(
        "ご契約の報告はチャットワークでお送りしているため、メールの報告先を"
        "追加・変更しても報告は届きません。メールでも報告を受け取るには、"
        "報告方法の変更を%(company)s（%(phone)s）までお電話でお申し付け"
        "ください。報告先の停止はこのままお申し込みいただけます。"
    ) % {"company": settings.COMPANY_NAME, "phone": settings.COMPANY_PHONE}


@transaction.atomic
def request_recipient_change(
    *,
    client: Client,
    kind: str,
    recipient: ReportRecipient | None = None,
    name: str = "",
    pc_email: str = "",
    mobile_email: str = "",
    desired_on: dt.date | None = None,
    message: str = "",
    requested_by=None,
    now: dt.datetime | None = None,
) -> RecipientRequestResult:
    """A client's request about a recipient, while the contract lasts.

    The same one sent again while the first is still open (a double click, a
    resend, a client who forgot) is recorded once. A different one about the
    same person (the same recipient, or an addition of the same address)
    replaces the open one: the last wish wins, as for plans, and the admin
    never holds two requests that contradict each other.
    """
    now = now or timezone.now()
    today = japan_today(now)
    if recipient is not None and recipient.client_id != client.pk:
        # Forms only offer the client's own recipients; this is the last guard.
        raise ValidationError(_("この報告先は選べません。"))
    # The client first, as every writer of its requests: a second sending waits
    # here for the first to commit, then finds it. The contract is read under
    # the lock too, so an admin's cancellation is seen.
    client = Client.objects.lock(client.pk)
    if client.cancelled_on is not None and client.contract_ended_before(today):
        raise ValidationError(
            _("ご契約は%(day)sで終了したため、報告先の変更はお申し込みいただけません。")
            % {"day": date_format(client.cancelled_on, "DATE_FORMAT")}
        )
    if email_recipient_unreported(client=client, kind=kind):
        raise ValidationError(
            reports_by_chatwork_only_message(), code=REPORTS_NOT_BY_EMAIL
        )
    if desired_on is not None:
        try:
            validate_desired_on(desired_on, client=client, today=today)
        except ValidationError as exc:
            raise ValidationError({"desired_on": exc.error_list}) from exc
    fields = {
        "kind": kind,
        "recipient": recipient,
        "name": name,
        "pc_email": pc_email,
        "mobile_email": mobile_email,
        "desired_on": desired_on,
        "message": message,
    }
    open_requests = RecipientChangeRequest.objects.filter(
        client=client, status=RequestStatus.OPEN
    ).order_by("requested_at", "id")
    same = open_requests.filter(**fields).first()
    if same is not None:
        return RecipientRequestResult(change_request=same, created=False, replaced=[])
    change_request = RecipientChangeRequest(
        client=client, requested_at=now, requested_by=requested_by, **fields
    )
    replaced = [
        earlier for earlier in open_requests if _same_target(change_request, earlier)
    ]
    _close_unprocessed(replaced, note=SystemNote.REPLACED_RECIPIENT, now=now)
    change_request.full_clean()
    change_request.save()
    return RecipientRequestResult(
        change_request=change_request, created=True, replaced=replaced
    )


@dataclass(frozen=True)
class BillingEmailRequestResult:
    # None: the address in force was asked for, and nothing was recorded.
    change_request: BillingEmailChangeRequest | None
    # False: the same request was already open, and nothing was recorded.
    created: bool
    # The client's open request this one replaced (closed as rejected).
    replaced: list[BillingEmailChangeRequest]
    # The open request withdrawn by asking for the address in force.
    withdrawn: list[BillingEmailChangeRequest] = field(default_factory=list)


@transaction.atomic
def request_billing_email_change(
    *,
    client: Client,
    billing_email: str,
    message: str = "",
    requested_by=None,
    now: dt.datetime | None = None,
) -> BillingEmailRequestResult:
    """A client's wish for another billing address (where invoice notices
    go), or for none (``billing_email=""``: back to the recipients' PC
    addresses).

    Taken after the contract's last day too: the final invoice is issued and
    notified after it. The same wish sent again while open is recorded once;
    another one replaces the open request (the last wish wins), so the admin
    holds at most one (a database constraint too). The address in force
    records nothing and withdraws the open request (the last wish wins too).
    """
    now = now or timezone.now()
    # The client first, as every writer of its requests: a second sending waits
    # here for the first to commit, then finds it.
    client = Client.objects.lock(client.pk)
    open_requests = list(
        BillingEmailChangeRequest.objects.filter(
            client=client, status=RequestStatus.OPEN
        )
    )
    if billing_email.casefold() == client.billing_email.casefold():
        _close_unprocessed(open_requests, note=SystemNote.WITHDRAWN, now=now)
        return BillingEmailRequestResult(
            change_request=None, created=False, replaced=[], withdrawn=open_requests
        )
    for earlier in open_requests:
        if earlier.billing_email.casefold() == billing_email.casefold():
            return BillingEmailRequestResult(
                change_request=earlier, created=False, replaced=[]
            )
    _close_unprocessed(open_requests, note=SystemNote.REPLACED_BILLING_EMAIL, now=now)
    change_request = BillingEmailChangeRequest(
        client=client,
        billing_email=billing_email,
        message=message,
        requested_at=now,
        requested_by=requested_by,
    )
    change_request.full_clean()
    change_request.save()
    return BillingEmailRequestResult(
        change_request=change_request, created=True, replaced=open_requests
    )


@transaction.atomic
def withdraw_billing_email_change(
    *, client: Client, now: dt.datetime | None = None
) -> list[BillingEmailChangeRequest]:
    """The client takes back its open billing address request (none left is
    not an error: a second click, or the admin processed it meanwhile)."""
    Client.objects.lock(client.pk)
    withdrawn = list(
        BillingEmailChangeRequest.objects.filter(
            client=client, status=RequestStatus.OPEN
        )
    )
    _close_unprocessed(withdrawn, note=SystemNote.WITHDRAWN, now=now or timezone.now())
    return withdrawn


@transaction.atomic
def apply_billing_email_change_request(
    *,
    change_request: BillingEmailChangeRequest,
    processed_by=None,
    now: dt.datetime | None = None,
) -> Client:
    """Admin: set the client's billing address to the one asked for (or
    clear it); the next invoice notice goes there."""
    # The client first, then the request, as in apply_plan_change_request.
    client = Client.objects.lock(change_request.client_id)
    change_request = BillingEmailChangeRequest.objects.select_for_update().get(
        pk=change_request.pk
    )
    if change_request.status != RequestStatus.OPEN:
        raise ValidationError(_("このお申し込みはすでに処理済みです。"))
    client.billing_email = change_request.billing_email
    # One field: the client's other fields stay as another admin saved them.
    client.save(update_fields=["billing_email"])
    change_request.status = RequestStatus.DONE
    change_request.processed_at = now or timezone.now()
    change_request.processed_by = processed_by
    change_request.save(update_fields=["status", "processed_at", "processed_by"])
    return client


# The code of close_request's refusal of a recipient request not yet applied
# (the admin links it to the client's page, where recipients are edited).
RECIPIENT_CHANGE_NOT_MADE = "recipient_change_not_made"


def _addresses_asked(change_request: RecipientChangeRequest) -> str:
    return "、".join(
        f"{label}: {address}"
        for label, address in (
            (_("PC"), change_request.pc_email),
            (_("携帯"), change_request.mobile_email),
        )
        if address
    )


def _refuse_unless_ended_by(
    recipient: ReportRecipient, *, day: dt.date, message: str
) -> None:
    if recipient.active_to is not None and recipient.active_to <= day:
        return
    raise ValidationError(
        message
        % {
            "name": recipient.name,
            "day": date_format(day, "DATE_FORMAT"),
            "end": date_format(recipient.active_to, "DATE_FORMAT")
            if recipient.active_to
            else _("未設定"),
        },
        code=RECIPIENT_CHANGE_NOT_MADE,
    )


def _refuse_unless_recipient_change_made(
    change_request: RecipientChangeRequest, *, today: dt.date
) -> None:
    """A recipient request is applied by hand on the client's page; marked
    done, the client reads 「対応済み」. So the client's recipients as they are
    now must show it, on the day asked for (today if none, or if that day has
    passed): an addition or a change has a recipient with the addresses asked
    for reporting that day (a change's former recipient, if the addresses went
    to another row, ended by then); a stop has the recipient's 報告終了日 on or
    before it. The name is not compared: the admin may write it otherwise."""
    day = max(change_request.desired_on or today, today)
    Kind = RecipientChangeRequest.Kind
    target = change_request.recipient
    if change_request.kind == Kind.REMOVE:
        assert target is not None  # recipient_request_target_iff_not_add
        _refuse_unless_ended_by(
            target,
            day=day,
            message=_(
                "報告先「%(name)s」の報告終了日が%(day)s以前になっていません"
                "（いまは%(end)s）。このままでは報告が届き続けます。"
            ),
        )
        return
    if email_recipient_unreported(
        client=change_request.client, kind=change_request.kind
    ):
        # The recipient would be registered and receive nothing: the client
        # reads 「対応済み」 and waits for reports that go to Chatwork only.
        raise ValidationError(
            _(
                "この顧客の報告方法にメールが含まれていない（いまはチャットワーク"
                "のみ）ため、報告先（%(addresses)s）を登録しても報告は届きません。"
                "お客様にご確認のうえ、顧客の画面の報告方法で「メールで報告」を"
                "選んでから対応済みにしてください（チャットワークだけでよい"
                "場合は、このお申し込みをお断りにしてください）。"
            )
            % {"addresses": _addresses_asked(change_request)},
            code=REPORTS_NOT_BY_EMAIL,
        )
    having = ReportRecipient.objects.filter(
        client_id=change_request.client_id
    ).active_on(day)
    if change_request.pc_email:
        having = having.filter(pc_email__iexact=change_request.pc_email)
    if change_request.mobile_email:
        having = having.filter(mobile_email__iexact=change_request.mobile_email)
    found = set(having.values_list("id", flat=True))
    if not found:
        message = (
            _(
                "追加のご依頼の報告先（%(addresses)s）が、%(day)sに報告を受け取る"
                "報告先に登録されていません。アドレスと報告開始日・報告終了日を"
                "確認してください。"
            )
            if change_request.kind == Kind.ADD
            else _(
                "変更後のアドレス（%(addresses)s）が、%(day)sに報告を受け取る"
                "報告先に登録されていません。アドレスと報告開始日・報告終了日を"
                "確認してください。"
            )
        )
        raise ValidationError(
            message
            % {
                "addresses": _addresses_asked(change_request),
                "day": date_format(day, "DATE_FORMAT"),
            },
            code=RECIPIENT_CHANGE_NOT_MADE,
        )
    if target is not None and target.pk not in found:
        _refuse_unless_ended_by(
            target,
            day=day,
            message=_(
                "変更後のアドレスは別の報告先に登録されていますが、変更前の"
                "報告先「%(name)s」の報告終了日が%(day)s以前になっていません"
                "（いまは%(end)s）。このままでは変更前のアドレスにも報告が届きます。"
            ),
        )


# The code of close_request's refusal of a cancellation not yet set on the
# client (the admin offers the action that sets it).
CANCELLATION_NOT_MADE = "cancellation_not_made"


def _refuse_unless_cancellation_made(change_request: CancellationRequest) -> None:
    """Marked done, the client reads 「対応済み」 and expects the contract to
    end on the day asked for: the client's 解約日 must be that day (set on
    the client's page, or by apply_cancellation_request). A different day
    agreed with the client is set first; the request is then done."""
    # Read under the client's lock (close_request holds it).
    cancelled_on = (
        Client.objects.filter(pk=change_request.client_id)
        .values_list("cancelled_on", flat=True)
        .get()
    )
    if cancelled_on == change_request.last_day:
        return
    raise ValidationError(
        _(
            "顧客の解約日が、お申し込みの%(day)sになっていません（いまは%(now)s）。"
            "「解約日を設定する」で設定してから対応済みにしてください。"
        )
        % {
            "day": date_format(change_request.last_day, "DATE_FORMAT"),
            "now": date_format(cancelled_on, "DATE_FORMAT")
            if cancelled_on
            else _("未設定"),
        },
        code=CANCELLATION_NOT_MADE,
    )


@transaction.atomic
def close_request(
    *,
    change_request: AnyChangeRequest,
    status: str,
    processed_by=None,
    admin_note: str | None = None,
    now: dt.datetime | None = None,
) -> AnyChangeRequest:
    """Admin: mark a request done (applied by hand) or rejected.

    A recipient request is marked done only once the client's recipients
    show it (_refuse_unless_recipient_change_made), a cancellation only once
    the client's 解約日 is the day asked for
    (_refuse_unless_cancellation_made)."""
    if status not in (RequestStatus.DONE, RequestStatus.REJECTED):
        raise ValueError(status)
    now = now or timezone.now()
    model = type(change_request)
    # The client first, as in apply_plan_change_request: a client's new plan
    # request would otherwise close this one as replaced over the admin's answer.
    # The lock also holds the client's recipients as they are checked (their
    # pages save under it, clients.admin.ReportRecipientAdmin).
    Client.objects.lock(change_request.client_id)
    change_request = model.objects.select_for_update().get(pk=change_request.pk)
    if change_request.status != RequestStatus.OPEN:
        raise ValidationError(_("このお申し込みはすでに処理済みです。"))
    if status == RequestStatus.DONE and isinstance(
        change_request, RecipientChangeRequest
    ):
        _refuse_unless_recipient_change_made(change_request, today=japan_today(now))
    if status == RequestStatus.DONE and isinstance(change_request, CancellationRequest):
        _refuse_unless_cancellation_made(change_request)
    change_request.status = status
    change_request.processed_at = now
    change_request.processed_by = processed_by
    fields = ["status", "processed_at", "processed_by"]
    if admin_note is not None:
        change_request.admin_note = admin_note
        fields.append("admin_note")
    change_request.save(update_fields=fields)
    return change_request


def _refuse_cancellation_request(client: Client, *, today: dt.date) -> None:
    """What a client whose contract cannot be cancelled from the portal is
    told (the page says it first; this is for a page left open)."""
    if client.cancelled_on is not None:
        raise ValidationError(
            _("ご契約は%(day)sで終了します（解約のお手続きは済んでいます）。")
            % {"day": date_format(client.cancelled_on, "DATE_FORMAT")},
            code="already_cancelled",
        )
    if client.contract_started_on is None or (
        client.trial_ends_on is not None and today <= client.trial_ends_on
    ):
        raise ValidationError(
            _(
                "無料お試し期間中、またはご契約前のため、解約のお申し込みは"
                "いりません（料金はかかりません）。"
            ),
            code="not_under_contract",
        )


@dataclass(frozen=True)
class CancellationRequestResult:
    change_request: CancellationRequest
    # False: the same request was already open, and nothing was recorded.
    created: bool


@transaction.atomic
def request_cancellation(
    *,
    client: Client,
    last_day: dt.date,
    reason: str = "",
    message: str = "",
    requested_by=None,
    now: dt.datetime | None = None,
) -> CancellationRequestResult:
    """A client asks to end its contract on ``last_day``, one of the month
    ends ``cancellation_days`` offers. One open request per client: the same
    one sent again (a double click) is recorded once; another is refused, as
    the client withdraws the first to ask otherwise."""
    now = now or timezone.now()
    today = japan_today(now)
    # The client first, as every writer of its requests: a second sending
    # waits here for the first to commit, then finds it. The contract is read
    # under the lock too, so an admin's cancellation is seen.
    client = Client.objects.lock(client.pk)
    _refuse_cancellation_request(client, today=today)
    if last_day not in cancellation_days(client=client, today=today):
        raise ValidationError(
            {
                "last_day": _(
                    "ご契約の終了日は、表示されている月末日からお選びください。"
                )
            }
        )
    open_request = CancellationRequest.objects.filter(
        client=client, status=RequestStatus.OPEN
    ).first()
    if open_request is not None:
        if open_request.last_day == last_day:
            return CancellationRequestResult(change_request=open_request, created=False)
        raise ValidationError(
            _(
                "解約のお申し込み（%(day)sで終了）はすでに受付中です。"
                "日付を変える場合は、お申し込みを取り消してから申し込み直してください。"
            )
            % {"day": date_format(open_request.last_day, "DATE_FORMAT")},
            code="already_open",
        )
    change_request = CancellationRequest(
        client=client,
        last_day=last_day,
        reason=reason,
        message=message,
        requested_at=now,
        requested_by=requested_by,
    )
    change_request.full_clean()
    change_request.save()
    return CancellationRequestResult(change_request=change_request, created=True)


@transaction.atomic
def withdraw_cancellation(
    *, client: Client, now: dt.datetime | None = None
) -> list[CancellationRequest]:
    """The client takes back its open cancellation request (none left is not
    an error: a second click, or the admin processed it meanwhile)."""
    Client.objects.lock(client.pk)
    withdrawn = list(
        CancellationRequest.objects.filter(client=client, status=RequestStatus.OPEN)
    )
    _close_unprocessed(withdrawn, note=SystemNote.WITHDRAWN, now=now or timezone.now())
    return withdrawn


@transaction.atomic
def settle_cancellation_request(
    *, client: Client, processed_by=None, now: dt.datetime | None = None
) -> CancellationRequest | None:
    """After the client's 解約日 was saved on its admin page: the client's open
    cancellation request (None when there is none), marked done
    (close_request) when the 解約日 is now the day it asked for, as
    「解約日を設定する」 would have; left open otherwise, for the admin to
    answer (a day agreed with the client is set first, then marked done)."""
    client = Client.objects.lock(client.pk)
    open_request = CancellationRequest.objects.filter(
        client=client, status=RequestStatus.OPEN
    ).first()
    if open_request is None or client.cancelled_on != open_request.last_day:
        return open_request
    close_request(
        change_request=open_request,
        status=RequestStatus.DONE,
        processed_by=processed_by,
        now=now,
    )
    open_request.refresh_from_db()
    return open_request


@dataclass(frozen=True)
class ContractCancelled:
    client: Client
    # What the cancellation left after the contract: the plans registered
    # for later months (removed) and the portal's requests (closed).
    plans_dropped: list[ClientPlan]
    requests_closed: RequestsClosed


@transaction.atomic
def cancel_contract(
    *, client: Client, cancelled_on: dt.date, now: dt.datetime | None = None
) -> ContractCancelled:
    """Set the client's 解約日 as its admin page saves it: the page's checks
    and plans dropped (clients.services.set_cancellation), then the portal's
    requests after the contract closed (close_requests_after_contract_end),
    as portal.admin.ClientWithRequestsAdmin does after the page's save."""
    plans_dropped = set_cancellation(client=client, cancelled_on=cancelled_on)
    closed = close_requests_after_contract_end(client=client, now=now)
    return ContractCancelled(
        client=Client.objects.get(pk=client.pk),
        plans_dropped=plans_dropped,
        requests_closed=closed,
    )


@transaction.atomic
def apply_cancellation_request(
    *,
    change_request: CancellationRequest,
    processed_by=None,
    now: dt.datetime | None = None,
) -> ContractCancelled:
    """Admin: end the client's contract on the day it asked for
    (cancel_contract), and mark the request done."""
    now = now or timezone.now()
    # The client first, then the request, as in apply_plan_change_request.
    Client.objects.lock(change_request.client_id)
    change_request = CancellationRequest.objects.select_for_update().get(
        pk=change_request.pk
    )
    if change_request.status != RequestStatus.OPEN:
        raise ValidationError(_("このお申し込みはすでに処理済みです。"))
    result = cancel_contract(
        client=change_request.client, cancelled_on=change_request.last_day, now=now
    )
    change_request.status = RequestStatus.DONE
    change_request.processed_at = now
    change_request.processed_by = processed_by
    change_request.save(update_fields=["status", "processed_at", "processed_by"])
    return result
