"""Pure pricing rules: no database access, so the batch job, the month-to-date
selector and the portal's plan advice all share one implementation.

All amounts are integer yen, tax included.
"""

import bisect
import datetime as dt
import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from django.utils.translation import gettext as _

from billing.models import LineKind, TaxCategory
from billing.tax import tax_included_yen
from clients.models import (
    EXTRA_NUMBER_FEE_YEN,
    EXTRA_RECIPIENT_FEE_YEN,
    FREE_RECIPIENT_PERSONS,
    NumberAssignment,
    ReportRecipient,
    billable_from,
)
from clients.months import JST, days_in_month, month_end, next_month
from clients.phones import format_phone
from clients.selectors import (
    charged_numbers,
    extra_recipient_persons,
    recipient_peak,
)


class PriceTerms(Protocol):
    """What a plan costs: a ``clients.models.PlanPrice`` or ``PriceSnapshot``."""

    @property
    def monthly_fee_yen(self) -> int: ...

    @property
    def included_calls(self) -> int: ...

    @property
    def per_call_yen(self) -> int: ...


@dataclass(frozen=True)
class PriceSnapshot:
    monthly_fee_yen: int
    included_calls: int
    per_call_yen: int
    valid_from: dt.date = dt.date.min


def over_calls(counted_calls: int, included_calls: int) -> int:
    return max(counted_calls - included_calls, 0)


def prorated_fee_yen(fee_yen: int, days: int, month_days: int) -> int:
    """Plan fee for ``days`` of a ``month_days`` month, rounded down to the yen."""
    return fee_yen * days // month_days


def prorated_included_calls(included_calls: int, days: int, month_days: int) -> int:
    """Included calls for part of a month, rounded up in the client's favour."""
    return math.ceil(included_calls * days / month_days)


def months_not_billed(
    *,
    billed: Collection[dt.date],
    before: dt.date,
    trial_started_on: dt.date | None,
    contract_started_on: dt.date | None,
    cancelled_on: dt.date | None,
) -> list[dt.date]:
    """The months with billed days but no live invoice, from the first month in
    ``billed`` (those with one) to the month before ``before``.

    A cancelled client's final invoice waits for them, as for a draft: each is
    a charge still to come (a month built out of order, or not billable yet for
    want of a plan or price). Months before the client's first invoice are not
    looked at: they may be from before the system billed anyone.
    """
    if not billed:
        return []
    missing = []
    month = min(billed)
    while month < before:
        if month not in billed and (
            billable_from(
                month=month,
                trial_started_on=trial_started_on,
                contract_started_on=contract_started_on,
                cancelled_on=cancelled_on,
            )
            is not None
        ):
            missing.append(month)
        month = next_month(month)
    return missing


def price_on(prices: Sequence[PriceSnapshot], day: dt.date) -> PriceSnapshot | None:
    """The price in force on ``day``; ``prices`` sorted by ``valid_from``."""
    index = bisect.bisect_right([p.valid_from for p in prices], day)
    return prices[index - 1] if index else None


@dataclass(frozen=True)
class HeldNumber:
    """A number held on a billed day of the month (not only in the trial)."""

    number_id: int
    number: str  # E.164
    use: str  # a NumberAssignment.Use value

    @property
    def label(self) -> str:
        # Translated here, when the line is written (in the invoice's language).
        return f"{format_phone(self.number)}（{NumberAssignment.Use(self.use).label}）"

    @property
    def is_fax(self) -> bool:
        return self.use == NumberAssignment.Use.FAX


@dataclass(frozen=True)
class Surcharge:
    call_id: int
    received_at: dt.datetime
    amount_yen: int
    reason: str


@dataclass(frozen=True)
class Credit:
    adjustment_id: int
    amount_yen: int
    reason: str
    corrects_number: str
    # The billing month of the corrected invoice: a qualified invoice says
    # when the supply an adjustment concerns took place.
    corrects_month: dt.date


@dataclass
class ClientMonth:
    """Everything needed to bill one client for one month, already loaded."""

    month: dt.date
    billable_from: dt.date
    plan_name: str
    price: PriceTerms
    counted_calls: int
    held_numbers: list[HeldNumber] = field(default_factory=list)
    recipients: list[ReportRecipient] = field(default_factory=list)
    surcharges: list[Surcharge] = field(default_factory=list)
    # The deposit is billed once, on the first live invoice that has one, and
    # returned on the final invoice (the month of cancellation) when nothing
    # is owed: what is held on the client's other live invoices, once.
    bill_deposit: bool = False
    deposit_held_yen: int = 0
    return_deposit: bool = False
    credits: list[Credit] = field(default_factory=list)


@dataclass(frozen=True)
class LineDraft:
    kind: str
    description: str
    quantity: int
    unit_price_yen: int
    amount_yen: int
    tax_category: str = TaxCategory.STANDARD_10
    counted_calls: int | None = None
    included_calls: int | None = None
    over_calls: int | None = None
    call_id: int | None = None
    adjustment_id: int | None = None


@dataclass(frozen=True)
class Totals:
    taxable_10_yen: int
    tax_10_yen: int
    non_taxable_yen: int
    total_yen: int


@dataclass(frozen=True)
class UsageCharges:
    """Plan fee and call-over for (part of) a month."""

    days_billed: int
    month_days: int
    plan_fee_yen: int
    included_calls: int
    over_calls: int
    call_over_yen: int

    @property
    def charge_yen(self) -> int:
        """Plan fee plus call-over: what the plan cost for the (part) month.

        Small (2,960 / 20 / 148), whole month: 0 calls -> 2,960; 20 -> 2,960;
        21 -> 3,108; 25 -> 3,700.
        """
        return self.plan_fee_yen + self.call_over_yen


def billed_days(*, billable_from: dt.date, month: dt.date) -> tuple[int, int]:
    """(days billed, days in the month) for a month billed from ``billable_from``."""
    return (month_end(month) - billable_from).days + 1, days_in_month(month)


def pro_rata_note(days: int, month_days: int) -> str:
    """How an invoice line and the portal mark a month billed pro rata."""
    return _("（%(days)d日/%(month_days)d日の日割り）") % {
        "days": days,
        "month_days": month_days,
    }


def usage_charges(
    *, price: PriceTerms, billable_from: dt.date, month: dt.date, counted_calls: int
) -> UsageCharges:
    days, month_days = billed_days(billable_from=billable_from, month=month)
    if days >= month_days:
        fee, included = price.monthly_fee_yen, price.included_calls
    else:
        fee = prorated_fee_yen(price.monthly_fee_yen, days, month_days)
        included = prorated_included_calls(price.included_calls, days, month_days)
    over = over_calls(counted_calls, included)
    return UsageCharges(
        days_billed=days,
        month_days=month_days,
        plan_fee_yen=fee,
        included_calls=included,
        over_calls=over,
        call_over_yen=over * price.per_call_yen,
    )


def month_label(month: dt.date) -> str:
    """How a line names the month of its supply (2026年10月分)."""
    return _("%(year)d年%(month)d月分") % {"year": month.year, "month": month.month}


def build_lines(data: ClientMonth) -> list[LineDraft]:
    """The invoice lines for one client and month, in the order printed."""
    month = data.month
    usage = usage_charges(
        price=data.price,
        billable_from=data.billable_from,
        month=month,
        counted_calls=data.counted_calls,
    )
    period = month_label(month)
    if usage.days_billed < usage.month_days:
        period += pro_rata_note(usage.days_billed, usage.month_days)
    lines = [
        LineDraft(
            kind=LineKind.PLAN_FEE,
            description=_("%(plan)sプラン 基本料金 %(period)s")
            % {"plan": data.plan_name, "period": period},
            quantity=1,
            unit_price_yen=usage.plan_fee_yen,
            amount_yen=usage.plan_fee_yen,
        ),
        LineDraft(
            kind=LineKind.CALL_OVER,
            description=_(
                "超過料金（対象%(counted)d件・基本料金内%(included)d件・超過%(over)d件）"
            )
            % {
                "counted": data.counted_calls,
                "included": usage.included_calls,
                "over": usage.over_calls,
            },
            quantity=usage.over_calls,
            unit_price_yen=data.price.per_call_yen,
            amount_yen=usage.call_over_yen,
            counted_calls=data.counted_calls,
            included_calls=usage.included_calls,
            over_calls=usage.over_calls,
        ),
    ]
    for held in charged_numbers(data.held_numbers, is_fax=lambda held: held.is_fax):
        lines.append(
            LineDraft(
                kind=LineKind.EXTRA_NUMBER,
                description=_("追加番号 %(number)s") % {"number": held.label},
                quantity=1,
                unit_price_yen=EXTRA_NUMBER_FEE_YEN,
                amount_yen=EXTRA_NUMBER_FEE_YEN,
            )
        )
    # Nothing is billed in the free trial: persons count from the first billed
    # day (numbers are left out as they are loaded, see ``HeldNumber``).
    peak = recipient_peak(
        recipients=data.recipients, month=month, first_day=data.billable_from
    )
    extra_recipients = extra_recipient_persons(peak)
    if extra_recipients:
        lines.append(
            LineDraft(
                kind=LineKind.EXTRA_RECIPIENTS,
                description=_(
                    "追加報告先（月内最大%(peak)d名、無料%(free)d名を超える分）"
                )
                % {"peak": peak, "free": FREE_RECIPIENT_PERSONS},
                quantity=extra_recipients,
                unit_price_yen=EXTRA_RECIPIENT_FEE_YEN,
                amount_yen=extra_recipients * EXTRA_RECIPIENT_FEE_YEN,
            )
        )
    for surcharge in sorted(data.surcharges, key=lambda s: (s.received_at, s.call_id)):
        at = surcharge.received_at.astimezone(JST)
        lines.append(
            LineDraft(
                kind=LineKind.SURCHARGE,
                description=_("割増料金 %(when)s %(reason)s")
                % {"when": f"{at:%m/%d %H:%M}", "reason": surcharge.reason},
                quantity=1,
                unit_price_yen=surcharge.amount_yen,
                amount_yen=surcharge.amount_yen,
                call_id=surcharge.call_id,
            )
        )
    for credit in data.credits:
        lines.append(
            LineDraft(
                kind=LineKind.ADJUSTMENT,
                description=_("訂正（%(period)s 請求書番号 %(number)s） %(reason)s")
                % {
                    "period": month_label(credit.corrects_month),
                    "number": credit.corrects_number,
                    "reason": credit.reason,
                },
                quantity=1,
                unit_price_yen=-credit.amount_yen,
                amount_yen=-credit.amount_yen,
                adjustment_id=credit.adjustment_id,
            )
        )
    deposit_yen = data.price.monthly_fee_yen
    if data.bill_deposit:
        lines.append(
            LineDraft(
                kind=LineKind.DEPOSIT,
                description=_("保証金（お預かり・基本料金1か月分）"),
                quantity=1,
                unit_price_yen=deposit_yen,
                amount_yen=deposit_yen,
                tax_category=TaxCategory.NOT_TAXABLE,
            )
        )
    if data.return_deposit:
        held_yen = data.deposit_held_yen + (deposit_yen if data.bill_deposit else 0)
        if held_yen > 0:
            lines.append(
                LineDraft(
                    kind=LineKind.DEPOSIT_RETURN,
                    description=_("保証金のご返金（ご解約）"),
                    quantity=1,
                    unit_price_yen=-held_yen,
                    amount_yen=-held_yen,
                    tax_category=TaxCategory.NOT_TAXABLE,
                )
            )
    return lines


def totals(lines: Sequence[LineDraft]) -> Totals:
    taxable = sum(
        line.amount_yen
        for line in lines
        if line.tax_category == TaxCategory.STANDARD_10
    )
    non_taxable = sum(
        line.amount_yen
        for line in lines
        if line.tax_category == TaxCategory.NOT_TAXABLE
    )
    return Totals(
        taxable_10_yen=taxable,
        tax_10_yen=tax_included_yen(taxable),
        non_taxable_yen=non_taxable,
        total_yen=taxable + non_taxable,
    )
