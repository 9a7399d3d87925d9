"""Use cases on clients, numbers, plans and recipients."""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from itertools import pairwise

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from clients.dates import format_day
from clients.models import (
    NOTICE_MAX_OPEN,
    Client,
    ClientPlan,
    LentNumber,
    NumberAssignment,
    OperatorNotice,
    Plan,
    User,
    rest_ends_on,
    validate_notice_period,
)
from clients.months import japan_today, month_end, month_start, next_month

PLAN_CHANGE_WARNING_THRESHOLD = 2  # more changes than this in 12 months: warn admins


def quarantine_ends_on(lent_number: LentNumber) -> dt.date | None:
    """First day the number may be lent again, or None when it never rested."""
    last = (
        lent_number.assignments.filter(released_on__isnull=False)
        .order_by("-released_on")
        .values_list("released_on", flat=True)
        .first()
    )
    if last is None:
        return None
    return rest_ends_on(last)


@transaction.atomic
def assign_number(
    *,
    lent_number: LentNumber,
    client: Client,
    use: str,
    assigned_on: dt.date | None = None,
) -> NumberAssignment:
    """Lend a number to a client for exactly one use.

    Refuses a number that another (or the same) client holds, one still resting
    after its last release, a use that does not fit the kind of number (listed
    use is for Tokyo 03 numbers only), a start after the client's contract
    ended, and a start in the future: the screen pop would open the new client
    at once.
    """
    today = japan_today()
    assigned_on = assigned_on or today
    if assigned_on > today:
        raise ValidationError(
            _(
                "貸出開始日に未来の日付は入れられません。貸し出す日に登録してください"
                "（登録した時点で着信がこの顧客につながります）。"
            )
        )
    # Locked and read again: the client's page may have been saved since
    # ``client`` was read, and one saving a cancellation now (ClientAdminForm
    # takes the same lock) must either see this lending or be seen here.
    # Client before number: one lock order with every other writer.
    client = Client.objects.lock(client.pk)
    if client.contract_ended_before(assigned_on):
        assert client.cancelled_on is not None  # an ended contract has its day
        raise ValidationError(
            _(
                "%(client)s の契約は %(day)s で終了しています。"
                "契約の終了後に番号を貸し出すことはできません。"
            )
            % {
                "client": client.name,
                "day": format_day(client.cancelled_on),
            }
        )
    # Lock the number row so two admins cannot lend it at the same moment.
    lent_number = LentNumber.objects.select_for_update().get(pk=lent_number.pk)
    current = lent_number.assignments.current().select_related("client").first()
    if current is not None:
        if current.client_id == client.pk:
            raise ValidationError(
                _(
                    "%(number)s はすでにこの顧客に「%(use)s」で貸出中です。"
                    "1つの番号を2つの用途に使うことはできません。別の番号を貸し出してください。"
                )
                % {"number": lent_number.display, "use": current.get_use_display()}
            )
        raise ValidationError(
            _("%(number)s は別の顧客（%(client)s）に貸出中です。")
            % {"number": lent_number.display, "client": current.client.name}
        )
    available_on = quarantine_ends_on(lent_number)
    if available_on is not None and assigned_on < available_on:
        raise ValidationError(
            _("%(number)s は返却後の休止期間中です。%(date)s から貸し出せます。")
            % {"number": lent_number.display, "date": format_day(available_on)}
        )
    is_fax_number = lent_number.kind == LentNumber.Kind.FAX
    if is_fax_number != (use == NumberAssignment.Use.FAX):
        raise ValidationError(
            _("FAX番号はFAX用途にだけ、電話番号は転送利用か表記利用にだけ使えます。")
        )
    # The company holds only Tokyo Chiyoda 03 numbers for clients to print as
    # their own; a 050 number is lent for forwarding only.
    if (
        use == NumberAssignment.Use.LISTED
        and lent_number.kind != LentNumber.Kind.TOKYO_03
    ):
        raise ValidationError(
            _(
                "%(number)s は東京03番号ではありません。表記利用（名刺などに自社番号として"
                "表記）には東京03番号だけを貸し出せます。050番号は転送利用でお使いください。"
            )
            % {"number": lent_number.display}
        )
    return NumberAssignment.objects.create(
        number=lent_number, client=client, use=use, assigned_on=assigned_on
    )


# How far back a return may be dated: a month-end return processed in the first
# days of the next month is not billed for that month. Not further, because the
# number's rest counts from this date while callers reached the client until now.
RELEASE_BACKDATE_DAYS = 7


@transaction.atomic
def release_number(
    *,
    assignment: NumberAssignment,
    released_on: dt.date | None = None,
    today: dt.date | None = None,
) -> NumberAssignment:
    """End a lending period; the number then rests for the quarantine period.

    The last day the client held the number may be today or up to
    RELEASE_BACKDATE_DAYS before; never a future day, because the number stops
    reaching the client as soon as the return is recorded.
    """
    today = today or japan_today()
    released_on = released_on or today
    assignment = NumberAssignment.objects.select_for_update().get(pk=assignment.pk)
    if assignment.released_on is not None:
        raise ValidationError(_("この番号はすでに返却済みです。"))
    if released_on > today:
        raise ValidationError(
            _(
                "返却日に未来の日付は入れられません。返却する日に登録してください"
                "（登録した時点でこの顧客への着信が止まります）。"
            )
        )
    earliest = today - dt.timedelta(days=RELEASE_BACKDATE_DAYS)
    if released_on < earliest:
        raise ValidationError(
            _(
                "返却日は %(date)s 以降にしてください（さかのぼれるのは%(days)d日前までです）。"
            )
            % {"date": format_day(earliest), "days": RELEASE_BACKDATE_DAYS}
        )
    if released_on < assignment.assigned_on:
        raise ValidationError(_("返却日は貸出開始日以降にしてください。"))
    assignment.released_on = released_on
    assignment.save(update_fields=["released_on"])
    return assignment


@dataclass(frozen=True)
class ContractEndReleases:
    clients: int  # clients whose numbers were returned
    numbers: int  # assignments closed


def release_numbers_of_ended_contracts(
    *,
    today: dt.date | None = None,
    progress: Callable[[str], None] | None = None,
) -> ContractEndReleases:
    """Return every number still lent to a client whose contract has ended.

    Nothing else ever closes these assignments: the number stayed with the
    former client (the screen pop still opened it) and never went back to the
    pool. The last day held is the contract's last day (解約日), so the months
    billed do not change and the number's rest counts from there. Safe to run
    twice: a returned number is no longer open.
    """
    today = today or japan_today()
    client_ids = list(
        NumberAssignment.objects.current()
        .filter(client__cancelled_on__lt=today)
        .order_by("client_id")
        .values_list("client_id", flat=True)
        .distinct()
    )
    numbers = 0
    clients = 0
    # One transaction per client: a long run never holds every client's lock.
    for client_id in client_ids:
        released = _release_numbers_of_ended_contract(
            client_id=client_id, today=today, progress=progress
        )
        numbers += released
        clients += 1 if released else 0
    return ContractEndReleases(clients=clients, numbers=numbers)


@transaction.atomic
def _release_numbers_of_ended_contract(
    *,
    client_id: int,
    today: dt.date,
    progress: Callable[[str], None] | None,
) -> int:
    # Under the client's lock, read again: an admin may have moved the
    # cancellation since the list was read (the client's page takes the lock).
    client = Client.objects.lock(client_id)
    if client.cancelled_on is None or not client.contract_ended_before(today):
        return 0
    last_day = client.cancelled_on
    # ``of``: lock the assignments, not the numbers joined for their display.
    assignments = list(
        client.number_assignments.current()
        .select_related("number")
        .select_for_update(of=("self",))
        .order_by("assigned_on", "id")
    )
    for assignment in assignments:
        # Lent after the contract's last day (rows older than the rule that
        # refuses it): returned on its first day, the earliest the database
        # allows. Those days lie after the contract, so they are never billed.
        assignment.released_on = max(last_day, assignment.assigned_on)
        assignment.save(update_fields=["released_on"])
        if progress:
            progress(
                _("%(client)s: %(number)s（%(use)s）を %(day)s 付けで返却しました。")
                % {
                    "client": client.name,
                    "number": assignment.number.display,
                    "use": assignment.get_use_display(),
                    "day": format_day(assignment.released_on),
                }
            )
    return len(assignments)


@dataclass(frozen=True)
class PlanChangeResult:
    client_plan: ClientPlan
    effective_month: dt.date
    changes_in_last_12_months: int
    first_plan: bool = False
    # The client's first plan, moved back to its first month (see
    # ``start_first_plan_with_contract``), if this moved it.
    first_plan_moved: ClientPlan | None = None

    @property
    def too_frequent(self) -> bool:
        return self.changes_in_last_12_months > PLAN_CHANGE_WARNING_THRESHOLD


def plan_changes_in_last_12_months(
    *, client: Client, now: dt.datetime | None = None
) -> int:
    """Plan changes requested in the last 12 months: rows of the plan history
    whose plan differs from the one before (not the first plan, and not a
    request that kept the plan)."""
    now = now or timezone.now()
    since = now - dt.timedelta(days=365)
    history = client.plan_history.order_by("effective_month").values_list(
        "plan_id", "requested_at"
    )
    return sum(
        1
        for (previous_plan, _asked), (plan, requested_at) in pairwise(history)
        if plan != previous_plan and requested_at > since
    )


def plan_change_effective_month(*, now: dt.datetime | None = None) -> dt.date:
    """A change asked for now applies from the 1st of next month, Japan time."""
    return next_month(japan_today(now))


def _refuse_after_contract_end(client: Client, month: dt.date) -> None:
    """A plan from a month the contract does not reach would be billed to no one."""
    if client.contract_ended_before(month):
        assert client.cancelled_on is not None  # an ended contract has its day
        raise ValidationError(
            _(
                "%(client)s の契約は %(day)s で終了するため、"
                "%(month)s からのプランは登録できません。"
            )
            % {
                "client": client.name,
                "day": format_day(client.cancelled_on),
                "month": date_format(month, "YEAR_MONTH_FORMAT"),
            }
        )


def _refuse_unpriced_plan(client: Client, plan: Plan, month: dt.date) -> None:
    """A plan with no price on the first day billed under it (the 1st of
    ``month``, or the contract's first billed day if later) is one billing
    cannot price: the month would be left unbilled."""
    starts = client.billing_starts_on
    day = max(month, starts) if starts else month
    if not Plan.objects.priced_on(day).filter(pk=plan.pk).exists():
        raise ValidationError(
            _(
                "%(client)s: 「%(plan)s」には %(day)s に適用される料金がないため、"
                "登録できません。先にプランの料金（適用開始日が %(day)s 以前）を"
                "登録してください。"
            )
            % {
                "client": client.name,
                "plan": plan.name,
                "day": format_day(day),
            }
        )


@transaction.atomic
def schedule_plan_change(
    *,
    client: Client,
    plan: Plan,
    requested_by=None,
    now: dt.datetime | None = None,
) -> PlanChangeResult:
    """Ask for a new plan. The month of the request is billed on the old plan; the
    new one applies from the 1st of the next month (Japan time). The last request
    in a month wins."""
    now = now or timezone.now()
    effective = plan_change_effective_month(now=now)
    client = Client.objects.lock(client.pk)
    _refuse_after_contract_end(client, effective)
    _refuse_unpriced_plan(client, plan, effective)
    client_plan, _created = ClientPlan.objects.update_or_create(
        client=client,
        effective_month=effective,
        defaults={"plan": plan, "requested_at": now, "requested_by": requested_by},
    )
    return PlanChangeResult(
        client_plan=client_plan,
        effective_month=effective,
        changes_in_last_12_months=plan_changes_in_last_12_months(
            client=client, now=now
        ),
    )


@transaction.atomic
def set_plan(
    *, client: Client, plan: Plan, requested_by=None, now: dt.datetime | None = None
) -> PlanChangeResult:
    """The admin's plan action: a change from next month, or, for a client with
    no plan yet, its first plan from its first month (a change would start only
    next month and leave the contract's first month unbilled)."""
    # Under the client's lock, so that two admins (or a double click) cannot
    # both find no plan yet and both insert the first one.
    client = Client.objects.lock(client.pk)
    if client.plan_history.exists():
        result = schedule_plan_change(
            client=client, plan=plan, requested_by=requested_by, now=now
        )
        # A first plan that starts after the client's first month (set from
        # a request, before the dates): the months before would have none.
        return replace(
            result, first_plan_moved=start_first_plan_with_contract(client=client)
        )
    first_month = first_plan_month(client=client, today=japan_today(now))
    _refuse_unpriced_plan(client, plan, first_month)
    return PlanChangeResult(
        client_plan=start_plan(
            client=client, plan=plan, first_month=first_month, requested_by=requested_by
        ),
        effective_month=first_month,
        changes_in_last_12_months=0,
        first_plan=True,
    )


@transaction.atomic
def drop_plans_after_contract_end(*, client: Client) -> list[ClientPlan]:
    """Remove the plans registered from a month the contract no longer reaches
    (a plan change scheduled for next month, then a cancellation at the end of
    this one): the rows removed, oldest first.

    A cancellation may be given at any month end, whatever change was asked
    for before it; the change would start after the contract and be billed to
    no one, and new ones are refused (``_refuse_after_contract_end``). History
    keeps the rows removed.
    """
    client = Client.objects.lock(client.pk)
    if client.cancelled_on is None:
        return []
    dropped = list(
        client.plan_history.filter(effective_month__gt=client.cancelled_on)
        .select_related("plan")
        .order_by("effective_month")
    )
    for client_plan in dropped:
        client_plan.delete()  # one by one: each deletion is in its history
    return dropped


def refuse_cancellation_date(*, client_id: int, cancelled_on: dt.date) -> None:
    """The rules a cancellation date (解約日) meets beyond the client's own
    (Client.clean: a month end, not before the contract), which read other
    rows: asked under the client's lock by the client page's form and by
    ``set_cancellation``."""
    # A number lent after the contract's last day was held with no contract
    # to bill it: a cancellation typed late must not end before it.
    lent_later = (
        NumberAssignment.objects.filter(
            client_id=client_id, assigned_on__gt=cancelled_on
        )
        .select_related("number")
        .order_by("-assigned_on")
        .first()
    )
    if lent_later is not None:
        raise ValidationError(
            _(
                "%(number)s を %(day)s から貸し出しています。"
                "解約日は %(month_end)s 以降の月末にしてください。"
            )
            % {
                "number": lent_later.number.display,
                "day": format_day(lent_later.assigned_on),
                "month_end": format_day(month_end(lent_later.assigned_on)),
            }
        )
    # Against the saved client, not a form's instance: a history revert
    # edits the old version, whose date would always look unchanged.
    saved = (
        Client.objects.filter(pk=client_id)
        .values_list("cancelled_on", flat=True)
        .first()
    )
    if cancelled_on != saved:
        # Billing depends on clients, not the other way: imported here, as
        # the date must leave the invoices already paid possible (a final
        # invoice to settle the deposit). Under the client's lock, which a
        # payment being recorded takes first too (billing.services.mark_paid).
        from billing.services import refuse_cancellation_into_paid_months

        refuse_cancellation_into_paid_months(
            client_id=client_id, cancelled_on=cancelled_on
        )


@transaction.atomic
def set_cancellation(*, client: Client, cancelled_on: dt.date) -> list[ClientPlan]:
    """Set the client's 解約日 as its admin page would save it: the same
    checks (Client.clean, ``refuse_cancellation_date``), then the plans
    registered after it dropped (``drop_plans_after_contract_end``, returned).

    Only the date: the 状態 stays as the admin set it (契約中 until the day, as
    a cancellation saved ahead on the page leaves it)."""
    client = Client.objects.lock(client.pk)
    refuse_cancellation_date(client_id=client.pk, cancelled_on=cancelled_on)
    client.cancelled_on = cancelled_on
    # The date's own checks and Client.clean (a month end, not before the
    # contract); the other fields are not this change's to refuse.
    client.full_clean(
        exclude={field.name for field in Client._meta.fields} - {"cancelled_on"}
    )
    client.save(update_fields=["cancelled_on"])
    return drop_plans_after_contract_end(client=client)


@transaction.atomic
def start_first_plan_with_contract(*, client: Client) -> ClientPlan | None:
    """Move the client's first plan back to its first month (that of its
    trial, or of its contract) when the dates now start before it: the row
    changed, or None.

    A first plan set before the dates were entered (or before they were
    corrected back) starts in the month it was set; the months between were
    left with no plan, so never billed, and a plan set now would only start
    next month (``set_plan``). Those months had no plan, so nothing was billed
    on the row being moved; a plan with no price on their first billed day is
    left as it is (billing could not price them either: the month's page
    names them).
    """
    client = Client.objects.lock(client.pk)
    first = (
        client.plan_history.select_related("plan").order_by("effective_month").first()
    )
    if first is None or client.billing_starts_on is None:
        return None
    first_month = first_plan_month(client=client)
    if first.effective_month <= first_month:
        return None
    try:
        _refuse_unpriced_plan(client, first.plan, first_month)
    except ValidationError:
        return None
    first.effective_month = first_month
    first.save(update_fields=["effective_month"])
    return first


def first_plan_month(*, client: Client, today: dt.date | None = None) -> dt.date:
    """The month a new client's first plan starts: that of its trial, or of its
    contract (the trial and any days before the contract are not billed)."""
    first_day = client.trial_started_on or client.contract_started_on
    return month_start(first_day or today or japan_today())


@transaction.atomic
def start_plan(
    *, client: Client, plan: Plan, first_month: dt.date, requested_by=None
) -> ClientPlan:
    """The first plan of a new client, in force from ``first_month``."""
    first_month = month_start(first_month)
    _refuse_after_contract_end(Client.objects.lock(client.pk), first_month)
    return ClientPlan.objects.create(
        client=client,
        plan=plan,
        effective_month=first_month,
        requested_at=timezone.now(),
        requested_by=requested_by,
    )


def first_billable_month(*, client: Client, client_plan: ClientPlan) -> dt.date | None:
    """The first month ``client_plan`` is billed for: its own, or the first
    billed one if later (the trial and the days before the contract are not
    billed). None while the client has no contract date yet."""
    starts = client.billing_starts_on
    if starts is None:
        return None
    return max(client_plan.effective_month, month_start(starts))


def plan_correctable(
    *, client: Client, client_plan: ClientPlan, today: dt.date | None = None
) -> bool:
    """Whether no month of ``client_plan`` can have been billed yet: a month is
    billed only once it has ended."""
    first_billed = first_billable_month(client=client, client_plan=client_plan)
    return first_billed is None or first_billed >= month_start(today or japan_today())


@transaction.atomic
def correct_plan(
    *, client: Client, plan: Plan, today: dt.date | None = None
) -> tuple[ClientPlan, Plan]:
    """Replace the plan in force this month when it was registered by mistake
    (a wrong first plan, a change entered with the wrong plan): (the row, the
    plan it had).

    Not a plan change: a change the client asks for applies from next month
    (schedule_plan_change). A correction rewrites what was registered, so only
    while none of the row's months can have been billed; after that an issued
    invoice never changes, and the invoice's own corrections apply.
    """
    today = today or japan_today()
    client = Client.objects.lock(client.pk)
    client_plan = (
        client.plan_history.in_force_for(month_start(today))
        .select_related("plan")
        .first()
    )
    if client_plan is None:
        raise ValidationError(
            _(
                "%(client)s には今月のプランがありません。"
                "「プラン変更を登録する」で最初のプランを登録してください。"
            )
            % {"client": client.name}
        )
    first_billed = first_billable_month(client=client, client_plan=client_plan)
    if first_billed is not None and first_billed < month_start(today):
        raise ValidationError(
            _(
                "%(client)s の「%(plan)s」は %(month)s の請求に使われるため訂正できません。"
                "プラン変更は翌月からとして登録し、請求済みの月は請求書の訂正で対応してください。"
            )
            % {
                "client": client.name,
                "plan": client_plan.plan.name,
                "month": date_format(first_billed, "YEAR_MONTH_FORMAT"),
            }
        )
    if client_plan.plan_id == plan.pk:
        raise ValidationError(
            _("%(client)s の今月のプランはすでに「%(plan)s」です。")
            % {"client": client.name, "plan": plan.name}
        )
    _refuse_unpriced_plan(client, plan, first_billed or month_start(today))
    previous = client_plan.plan
    client_plan.plan = plan
    client_plan.save(update_fields=["plan"])
    return client_plan, previous


@transaction.atomic
def post_operator_notice(
    *,
    client: Client,
    text: str,
    first_day: dt.date,
    last_day: dt.date,
    written_by: User | None,
    now: dt.datetime | None = None,
) -> OperatorNotice:
    """A client tells the operators about a period (away, closed, a call
    expected); the call form shows it while it is in force.

    Refused after the contract has ended, past its last day (nobody answers
    then), and beyond NOTICE_MAX_OPEN current and coming notices: the console
    shows them all on every call. The client's row is locked so two posts at
    once cannot both pass the count.
    """
    now = now or timezone.now()
    today = japan_today(now)
    client = Client.objects.lock(client.pk)
    if client.contract_ended_before(today):
        raise ValidationError(_("ご契約が終了しているため、お知らせを登録できません。"))
    validate_notice_period(first_day=first_day, last_day=last_day, today=today)
    if client.cancelled_on is not None and last_day > client.cancelled_on:
        raise ValidationError(
            {
                "last_day": _(
                    "ご契約は %(day)s までです。終了日はそれまでの日付にしてください。"
                )
                % {"day": format_day(client.cancelled_on)}
            }
        )
    if OperatorNotice.objects.filter(client=client).open_on(today).count() >= (
        NOTICE_MAX_OPEN
    ):
        raise ValidationError(
            _(
                "お知らせは同時に %(n)s 件までです。"
                "不要になったお知らせを終了してから登録してください。"
            )
            % {"n": NOTICE_MAX_OPEN}
        )
    notice = OperatorNotice(
        client=client,
        text=text,
        first_day=first_day,
        last_day=last_day,
        written_at=now,
        written_by=written_by,
    )
    notice.full_clean()
    notice.save()
    return notice


def withdraw_operator_notice(
    *, notice: OperatorNotice, withdrawn_by: User | None, now: dt.datetime | None = None
) -> bool:
    """End a notice early; False when it had already ended or been withdrawn.

    One conditional update: a double press, or two tabs, end it once.
    """
    now = now or timezone.now()
    ended = OperatorNotice.objects.filter(
        pk=notice.pk, withdrawn_at__isnull=True, last_day__gte=japan_today(now)
    ).update(withdrawn_at=now, withdrawn_by=withdrawn_by)
    return ended == 1
