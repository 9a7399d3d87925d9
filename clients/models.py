import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.core.mail.message import sanitize_address
from django.core.validators import MaxValueValidator, RegexValidator
from django.db import models
from django.db.models import OuterRef, Q, Subquery
from django.utils.formats import date_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from clients.dates import format_day
from clients.months import month_end, month_start
from clients.phones import format_phone

EXTRA_NUMBER_FEE_YEN = 1100  # per lent number beyond the first, and per FAX number
EXTRA_RECIPIENT_FEE_YEN = 210  # per recipient person beyond the free ones
FREE_RECIPIENT_PERSONS = 3
TRIAL_DAYS = 10

# Every date of this business (contracts, lent numbers, recipients, prices, calls)
# falls in this range. A slip of the keyboard such as 0001-01-01 or 9999-12-31
# would otherwise be saved and later break date arithmetic (the day after
# 9999-12-31 overflows) in billing and the portal.
EARLIEST_PLAUSIBLE_DATE = dt.date(2000, 1, 1)
LATEST_PLAUSIBLE_DATE = dt.date(2100, 12, 31)


def billing_start(
    *, trial_started_on: dt.date | None, contract_started_on: dt.date | None
) -> dt.date | None:
    """The first day a client is ever billed for: the contract's start, or the
    day after the free trial when that is later. None without a contract."""
    if contract_started_on is None:
        return None
    if trial_started_on is None:
        return contract_started_on
    return max(contract_started_on, trial_started_on + dt.timedelta(days=TRIAL_DAYS))


def billable_from(
    *,
    month: dt.date,
    trial_started_on: dt.date | None,
    contract_started_on: dt.date | None,
    cancelled_on: dt.date | None,
) -> dt.date | None:
    """First day of ``month`` that is billed, or None when nothing is.

    Nothing is billed before the contract starts, during the 10-day free trial,
    or after the month in which the client cancelled (cancellation takes effect
    at that month's end).
    """
    first, last = month_start(month), month_end(month)
    starts = billing_start(
        trial_started_on=trial_started_on, contract_started_on=contract_started_on
    )
    if starts is None:
        return None
    if cancelled_on is not None and cancelled_on < first:
        return None
    start = max(first, starts)
    return start if start <= last else None


def is_plausible_date(day: dt.date) -> bool:
    return EARLIEST_PLAUSIBLE_DATE <= day <= LATEST_PLAUSIBLE_DATE


def validate_plausible_date(day: dt.date) -> None:
    if not is_plausible_date(day):
        raise ValidationError(
            _("%(earliest)s から %(latest)s までの日付を入力してください。"),
            code="implausible_date",
            params={
                "earliest": EARLIEST_PLAUSIBLE_DATE.isoformat(),
                "latest": LATEST_PLAUSIBLE_DATE.isoformat(),
            },
        )


def validate_sendable_email(address: str) -> None:
    """Django's e-mail check lets through domains that a mail header cannot carry
    (a label of one zero-width space): reports to them could never be sent."""
    try:
        sanitize_address(address, settings.DEFAULT_CHARSET)
    # RecursionError: the header parser recurses once per nested comment, and
    # 250 "(" (within the field's length) exhausted it, a server error.
    except (ValueError, RecursionError) as exc:  # UnicodeError too
        raise ValidationError(
            _("このメールアドレスには送信できません。入力をご確認ください。"),
            code="unsendable_email",
        ) from exc


class PlanQuerySet(models.QuerySet["Plan"]):
    def priced_on(self, day: dt.date) -> "PlanQuerySet":
        """The plans with a price in force on ``day``: billing cannot bill a
        month on a plan without one."""
        return self.filter(
            models.Exists(
                PlanPrice.objects.filter(
                    plan=models.OuterRef("pk"), valid_from__lte=day
                )
            )
        )


class Plan(models.Model):
    class Code(models.TextChoices):
        SMALL = "small", _("スモール")
        HALF = "half", _("ハーフ")
        STANDARD = "standard", _("スタンダード")

    code = models.CharField(
        _("コード"), max_length=20, choices=Code.choices, unique=True
    )
    name = models.CharField(_("プラン名"), max_length=50)
    display_order = models.PositiveSmallIntegerField(_("表示順"), default=0)

    history = HistoricalRecords()

    objects = PlanQuerySet.as_manager()

    class Meta:
        ordering = ["display_order", "id"]
        verbose_name = _("プラン")
        verbose_name_plural = _("プラン")

    def __str__(self) -> str:
        return self.name

    def price_on(self, day: dt.date) -> "PlanPrice":
        """The price in force on ``day`` (prices are effective-dated)."""
        price = self.prices.filter(valid_from__lte=day).order_by("-valid_from").first()
        if price is None:
            raise PlanPrice.DoesNotExist(f"No price for {self} on {day}")
        return price


class PlanPrice(models.Model):
    # No index of its own: plan_price_unique_valid_from starts with the plan.
    plan = models.ForeignKey(
        Plan,
        on_delete=models.PROTECT,
        related_name="prices",
        verbose_name=_("プラン"),
        db_index=False,
    )
    valid_from = models.DateField(_("適用開始日"), validators=[validate_plausible_date])
    # Limits far above any plan we sell, so that an invoice (32-bit yen) cannot
    # overflow: a fee of 2,147,483,647 yen was accepted and broke the month's run.
    monthly_fee_yen = models.PositiveIntegerField(
        _("月額基本料金（税込・円）"), validators=[MaxValueValidator(1_000_000)]
    )
    included_calls = models.PositiveIntegerField(
        _("基本料金内の件数"), validators=[MaxValueValidator(100_000)]
    )
    per_call_yen = models.PositiveIntegerField(
        _("超過1件あたり（税込・円）"), validators=[MaxValueValidator(10_000)]
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["plan", "-valid_from"]
        verbose_name = _("プラン料金")
        verbose_name_plural = _("プラン料金")
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "valid_from"], name="plan_price_unique_valid_from"
            ),
        ]

    def __str__(self) -> str:
        return gettext("%(plan)s %(day)s〜 %(fee)s円") % {
            "plan": self.plan,
            "day": format_day(self.valid_from),
            "fee": f"{self.monthly_fee_yen:,}",
        }


class ClientQuerySet(models.QuerySet["Client"]):
    def lock(self, pk: int) -> "Client":
        """The client's row, locked until the transaction ends.

        Every writer of a client's plans and plan requests, of its lent
        numbers and of its invoices' payment and voiding takes it before
        anything else (the client's page too, ClientAdminForm): one lock order,
        client before number or invoice, and both before the billing lock
        (``clients.locks``): no deadlocks, and checks made under it stay true.
        NO KEY: saving a call or a delivery for the client, or a billing run
        inserting its invoice (a key-share lock), never waits on it.
        """
        return self.select_for_update(no_key=True).get(pk=pk)

    def with_plan_name_in_force(self, month: dt.date) -> "ClientQuerySet":
        """Each client with ``plan_name_in_force``: the name of its plan in
        force in ``month`` (None without one), read in the same query."""
        plans = ClientPlan.objects.filter(client=OuterRef("pk")).in_force_for(
            month_start(month)
        )
        return self.annotate(
            plan_name_in_force=Subquery(plans.values("plan__name")[:1])
        )


class PaymentMethod(models.TextChoices):
    """How a client pays its invoices. An issued invoice keeps its own copy."""

    DIRECT_DEBIT = "direct_debit", _("口座振替")
    BANK_TRANSFER = "bank_transfer", _("銀行振込")


class Client(models.Model):
    class Status(models.TextChoices):
        TRIAL = "trial", _("無料お試し中")
        ACTIVE = "active", _("契約中")
        CANCELLED = "cancelled", _("解約")

    PaymentMethod = PaymentMethod

    name = models.CharField(_("会社名"), max_length=200)
    name_kana = models.CharField(_("会社名（カナ）"), max_length=200, blank=True)
    announce_name = models.CharField(
        _("名乗り"),
        max_length=200,
        help_text=_(
            "オペレーターが電話に出るときに名乗る名前（例: 株式会社〇〇でございます）"
        ),
    )
    status = models.CharField(
        _("状態"), max_length=20, choices=Status.choices, default=Status.TRIAL
    )
    trial_started_on = models.DateField(
        _("お試し開始日"), null=True, blank=True, validators=[validate_plausible_date]
    )
    contract_started_on = models.DateField(
        _("契約開始日"), null=True, blank=True, validators=[validate_plausible_date]
    )
    cancelled_on = models.DateField(
        _("解約日"),
        null=True,
        blank=True,
        validators=[validate_plausible_date],
        help_text=_("解約は月末に効力を生じます。月末日を入れてください。"),
    )
    own_number = models.CharField(
        _("お客様の電話番号（転送元）"),
        max_length=20,
        blank=True,
        db_index=True,
        # Stored in E.164 (+81...), shown and typed hyphenated.
        help_text=_("転送利用のとき、お客様の元の番号"),
    )
    report_by_email = models.BooleanField(_("メールで報告"), default=True)
    report_by_chatwork = models.BooleanField(_("チャットワークで報告"), default=False)
    chatwork_room_id = models.CharField(
        _("チャットワークのルームID"),
        max_length=20,
        blank=True,
        validators=[
            RegexValidator(
                r"\A[0-9]+\Z",
                _("チャットワークのルームIDは半角数字で入力してください。"),
            )
        ],
    )
    payment_method = models.CharField(
        _("お支払い方法"),
        max_length=20,
        choices=PaymentMethod.choices,
        default=PaymentMethod.BANK_TRANSFER,
    )
    billing_email = models.EmailField(
        _("請求書送付先メールアドレス"),
        blank=True,
        validators=[validate_sendable_email],
        help_text=_(
            "請求書発行のお知らせメールはこのアドレスだけに送ります（報告先には"
            "送りません）。空欄のときは、報告先のPCメールアドレスに送ります。"
        ),
    )
    operator_notes = models.TextField(
        _("応答メモ"),
        blank=True,
        help_text=_(
            "事業内容、担当者、伝えること・伝えないことなど、オペレーター向けの指示"
        ),
    )
    created_at = models.DateTimeField(_("登録日時"), auto_now_add=True)

    history = HistoricalRecords()

    objects = ClientQuerySet.as_manager()

    class Meta:
        ordering = ["name_kana", "name", "id"]
        verbose_name = _("顧客")
        verbose_name_plural = _("顧客")
        constraints = [
            models.CheckConstraint(
                condition=Q(report_by_email=True) | Q(report_by_chatwork=True),
                name="client_has_a_report_channel",
                violation_error_message=_("報告方法を少なくとも1つ選んでください。"),
            ),
            models.CheckConstraint(
                condition=Q(report_by_chatwork=False) | ~Q(chatwork_room_id=""),
                name="client_chatwork_needs_room",
                violation_error_message=_(
                    "チャットワークで報告するにはルームIDが必要です。"
                ),
            ),
            models.CheckConstraint(
                condition=~Q(status="cancelled") | Q(cancelled_on__isnull=False),
                name="client_cancelled_has_date",
                violation_error_message=_("解約の顧客には解約日が必要です。"),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        started, cancelled = self.contract_started_on, self.cancelled_on
        errors: dict[str, Any] = {}
        # Billing starts from the contract date: a client under contract without
        # one was never billed, nor counted among the skipped.
        if self.status == self.Status.ACTIVE and started is None:
            errors["contract_started_on"] = _("契約中の顧客には契約開始日が必要です。")
        # The trial comes before the contract: one typed after it (a year's
        # slip of the keyboard) moved the first billed day with it, and the
        # months between were billed nothing.
        trial = self.trial_started_on
        if (
            trial is not None
            and started is not None
            and is_plausible_date(trial)
            and is_plausible_date(started)
            and trial > started
        ):
            errors["trial_started_on"] = _(
                "お試し開始日は契約開始日（%(day)s）以前の日付にしてください"
                "（お試しの後に契約が始まります）。"
            ) % {"day": format_day(started)}
        # An implausible date already has its own error on its field.
        if cancelled is not None and is_plausible_date(cancelled):
            if (
                started is not None
                and is_plausible_date(started)
                and cancelled < started
            ):
                errors["cancelled_on"] = _("解約日は契約開始日以降にしてください。")
                if self.trial_started_on is not None:
                    # A month end after the contract's start passes, and
                    # bills the days from it: not what a trial that ends
                    # without a contract owes.
                    errors["cancelled_on"] = _(
                        "解約日は契約開始日（%(day)s）以降にしてください。"
                        "お試しだけで契約しない場合は、契約開始日を空欄にして"
                        "保存してください（請求はありません）。"
                    ) % {"day": format_day(started)}
            elif cancelled != month_end(cancelled):
                errors["cancelled_on"] = _(
                    "解約は月末に効力を生じます。解約日には月末日（%(day)s）を入れてください。"
                ) % {"day": format_day(month_end(cancelled))}
        if errors:
            raise ValidationError(errors)

    def contract_ended_before(self, day: dt.date) -> bool:
        """Whether the contract's last day (解約日) is before ``day``."""
        return self.cancelled_on is not None and self.cancelled_on < day

    @property
    def billing_starts_on(self) -> dt.date | None:
        """The first day ever billed (see ``billing_start``)."""
        return billing_start(
            trial_started_on=self.trial_started_on,
            contract_started_on=self.contract_started_on,
        )

    def first_billed_day(self, month: dt.date) -> dt.date | None:
        """The first day of ``month`` that is billed (see ``billable_from``)."""
        return billable_from(
            month=month,
            trial_started_on=self.trial_started_on,
            contract_started_on=self.contract_started_on,
            cancelled_on=self.cancelled_on,
        )

    @property
    def trial_ends_on(self) -> dt.date | None:
        """Last day of the free trial (10 days, the start day included)."""
        if self.trial_started_on is None:
            return None
        return self.trial_started_on + dt.timedelta(days=TRIAL_DAYS - 1)

    @property
    def own_number_display(self) -> str:
        return format_phone(self.own_number)


class ClientPerson(models.Model):
    """Someone at the client whom callers may ask for (shown to operators)."""

    client = models.ForeignKey(
        Client, on_delete=models.CASCADE, related_name="people", verbose_name=_("顧客")
    )
    name = models.CharField(_("氏名"), max_length=100)
    name_kana = models.CharField(_("氏名（カナ）"), max_length=100, blank=True)
    title = models.CharField(_("役職・担当"), max_length=100, blank=True)
    note = models.CharField(_("メモ"), max_length=200, blank=True)
    display_order = models.PositiveSmallIntegerField(_("表示順"), default=0)

    history = HistoricalRecords()

    class Meta:
        # By the client's id, not its name: a client's own list (the console
        # shows it on every call) then needs no join to the client.
        ordering = ["client_id", "display_order", "id"]
        verbose_name = _("お客様の担当者")
        verbose_name_plural = _("お客様の担当者")

    def __str__(self) -> str:
        if not self.title:
            return self.name
        return gettext("%(name)s（%(title)s）") % {
            "name": self.name,
            "title": self.title,
        }


class ReportRecipientQuerySet(models.QuerySet["ReportRecipient"]):
    def active_on(self, day: dt.date) -> "ReportRecipientQuerySet":
        return self.filter(
            Q(active_from__lte=day), Q(active_to__isnull=True) | Q(active_to__gte=day)
        )


class ReportRecipient(models.Model):
    """A person who receives call reports by e-mail: a PC and/or a mobile address.

    Rows are never deleted when someone stops receiving reports: ``active_to`` is
    set instead, so the monthly fee can count the peak number of persons.
    """

    client = models.ForeignKey(
        Client,
        on_delete=models.PROTECT,
        related_name="recipients",
        verbose_name=_("顧客"),
    )
    name = models.CharField(_("氏名"), max_length=100)
    pc_email = models.EmailField(
        _("PCメールアドレス"), blank=True, validators=[validate_sendable_email]
    )
    mobile_email = models.EmailField(
        _("携帯メールアドレス"), blank=True, validators=[validate_sendable_email]
    )
    active_from = models.DateField(
        _("報告開始日"), validators=[validate_plausible_date]
    )
    active_to = models.DateField(
        _("報告終了日"), null=True, blank=True, validators=[validate_plausible_date]
    )

    objects = ReportRecipientQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["client", "active_from", "id"]
        verbose_name = _("報告先")
        verbose_name_plural = _("報告先")
        constraints = [
            models.CheckConstraint(
                condition=~Q(pc_email="") | ~Q(mobile_email=""),
                name="recipient_has_an_address",
                violation_error_message=_(
                    "PCか携帯のメールアドレスを少なくとも1つ入力してください。"
                ),
            ),
            models.CheckConstraint(
                condition=Q(active_to__isnull=True)
                | Q(active_to__gte=models.F("active_from")),
                name="recipient_active_range_ordered",
                violation_error_message=_("報告終了日は報告開始日以降にしてください。"),
            ),
            # A form sent twice made a second, identical person, billed 210 yen
            # a month as an extra recipient. (Name first: an index led by the
            # client would repeat the client's own.)
            models.UniqueConstraint(
                fields=["name", "client", "pc_email", "mobile_email", "active_from"],
                name="recipient_entered_once",
                violation_error_message=_("同じ報告先がすでに登録されています。"),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def is_active_on(self, day: dt.date) -> bool:
        return self.active_from <= day and (
            self.active_to is None or self.active_to >= day
        )


def rest_ends_on(released_on: dt.date) -> dt.date:
    """First day a number returned on ``released_on`` may be lent again: it
    rests (quarantine) so that the old client's callers do not reach a new one."""
    return released_on + dt.timedelta(days=settings.NUMBER_QUARANTINE_DAYS + 1)


class LentNumberQuerySet(models.QuerySet["LentNumber"]):
    def lendable_on(self, day: dt.date) -> "LentNumberQuerySet":
        """Numbers nobody holds and that are not resting on ``day``."""
        # A number returned after ``day - rest`` still rests on ``day``.
        rest = rest_ends_on(day) - day
        blocking = NumberAssignment.objects.filter(number=models.OuterRef("pk")).filter(
            Q(released_on__isnull=True) | Q(released_on__gt=day - rest)
        )
        return self.filter(~models.Exists(blocking))


class LentNumber(models.Model):
    """A number the company owns and lends: Tokyo 03, 050, or FAX."""

    class Kind(models.TextChoices):
        TOKYO_03 = "03", _("東京03番号")
        IP_050 = "050", _("050番号")
        FAX = "fax", _("FAX番号")

    # Stored in E.164 (+81...), shown and typed hyphenated.
    number = models.CharField(_("番号"), max_length=20, unique=True)
    kind = models.CharField(_("種類"), max_length=10, choices=Kind.choices)
    note = models.CharField(_("メモ"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("登録日時"), auto_now_add=True)

    history = HistoricalRecords()

    objects = LentNumberQuerySet.as_manager()

    class Meta:
        ordering = ["number"]
        verbose_name = _("貸出番号")
        verbose_name_plural = _("貸出番号")

    def __str__(self) -> str:
        return self.display

    @property
    def display(self) -> str:
        return format_phone(self.number)


class NumberAssignmentQuerySet(models.QuerySet["NumberAssignment"]):
    def current(self) -> "NumberAssignmentQuerySet":
        return self.filter(released_on__isnull=True)

    def listed_on_050(self) -> "NumberAssignmentQuerySet":
        """Held 050 numbers lent for listed use, which only a Tokyo 03 number
        may serve: lent before that rule, and left for an admin to replace."""
        return self.current().filter(
            use=NumberAssignment.Use.LISTED, number__kind=LentNumber.Kind.IP_050
        )

    def held_during(
        self, first_day: dt.date, last_day: dt.date
    ) -> "NumberAssignmentQuerySet":
        """Assignments that held the number on at least one day of the range."""
        return self.filter(
            Q(assigned_on__lte=last_day),
            Q(released_on__isnull=True) | Q(released_on__gte=first_day),
        )


class NumberAssignment(models.Model):
    """One period during which a client holds a lent number, for exactly one use.

    ``released_on`` is the last day the client held the number. A number has at
    most one open assignment (a partial unique constraint), so it can never serve
    two clients, or two uses, at once.
    """

    class Use(models.TextChoices):
        FORWARDING = "forwarding", _("転送利用")
        LISTED = "listed", _("表記利用")
        FAX = "fax", _("FAX")

    number = models.ForeignKey(
        LentNumber,
        on_delete=models.PROTECT,
        related_name="assignments",
        verbose_name=_("番号"),
    )
    client = models.ForeignKey(
        Client,
        on_delete=models.PROTECT,
        related_name="number_assignments",
        verbose_name=_("顧客"),
    )
    use = models.CharField(_("利用方法"), max_length=20, choices=Use.choices)
    assigned_on = models.DateField(
        _("貸出開始日"), validators=[validate_plausible_date]
    )
    released_on = models.DateField(
        _("返却日"), null=True, blank=True, validators=[validate_plausible_date]
    )

    objects = NumberAssignmentQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["-assigned_on", "id"]
        verbose_name = _("番号の貸出")
        verbose_name_plural = _("番号の貸出")
        constraints = [
            models.UniqueConstraint(
                fields=["number"],
                condition=Q(released_on__isnull=True),
                name="number_one_open_assignment",
                violation_error_message=_("この番号はすでに貸出中です。"),
            ),
            models.CheckConstraint(
                condition=Q(released_on__isnull=True)
                | Q(released_on__gte=models.F("assigned_on")),
                name="assignment_release_after_assign",
                violation_error_message=_("返却日は貸出開始日以降にしてください。"),
            ),
        ]

    def __str__(self) -> str:
        return gettext("%(number)s → %(client)s（%(use)s）") % {
            "number": self.number,
            "client": self.client,
            "use": self.get_use_display(),
        }


class ClientPlanQuerySet(models.QuerySet["ClientPlan"]):
    def in_force_for(self, month: dt.date) -> "ClientPlanQuerySet":
        return self.filter(effective_month__lte=month).order_by("-effective_month")


class ClientPlan(models.Model):
    """A client's plan from ``effective_month`` (the 1st of a month) onward.

    A change asked for in month M takes effect on the 1st of M+1; a second request
    in the same month replaces the first (unique per client and month).
    """

    # No index of its own: client_plan_one_per_month starts with the client.
    client = models.ForeignKey(
        Client,
        on_delete=models.PROTECT,
        related_name="plan_history",
        verbose_name=_("顧客"),
        db_index=False,
    )
    plan = models.ForeignKey(
        Plan,
        on_delete=models.PROTECT,
        related_name="client_plans",
        verbose_name=_("プラン"),
    )
    effective_month = models.DateField(
        _("適用開始月"), validators=[validate_plausible_date]
    )
    requested_at = models.DateTimeField(_("申込日時"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("登録者"),
    )

    objects = ClientPlanQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["client", "-effective_month"]
        verbose_name = _("プラン履歴")
        verbose_name_plural = _("プラン履歴")
        constraints = [
            models.UniqueConstraint(
                fields=["client", "effective_month"], name="client_plan_one_per_month"
            ),
            models.CheckConstraint(
                condition=Q(effective_month__day=1), name="client_plan_starts_on_first"
            ),
        ]

    def __str__(self) -> str:
        return gettext("%(client)s %(month)s〜 %(plan)s") % {
            "client": self.client,
            "month": date_format(self.effective_month, "YEAR_MONTH_FORMAT"),
            "plan": self.plan,
        }


class AccountManager(UserManager["User"]):
    def create_superuser(self, username, email=None, password=None, **extra_fields):  # type: ignore[no-untyped-def, override]
        # `createsuperuser` makes an office admin, whose role says so too.
        extra_fields.setdefault("role", User.Role.ADMIN)
        return super().create_superuser(username, email, password, **extra_fields)


class User(AbstractUser):
    """Everyone who logs in. Admins are staff; client users belong to one client."""

    class Role(models.TextChoices):
        OPERATOR = "operator", _("オペレーター")
        ADMIN = "admin", _("管理者")
        CLIENT = "client", _("お客様")

    role = models.CharField(
        _("役割"), max_length=20, choices=Role.choices, default=Role.OPERATOR
    )
    client = models.ForeignKey(
        Client,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="users",
        verbose_name=_("顧客"),
    )

    objects = AccountManager()

    class Meta(AbstractUser.Meta):
        verbose_name = _("ユーザー")
        verbose_name_plural = _("ユーザー")
        constraints = [
            models.CheckConstraint(
                condition=(Q(role="client") & Q(client__isnull=False))
                | (~Q(role="client") & Q(client__isnull=True)),
                name="user_client_iff_client_role",
                violation_error_message=_(
                    "お客様ユーザーには顧客を1つだけ、それ以外のユーザーには顧客なしを設定してください。"
                ),
            ),
            models.CheckConstraint(
                condition=~Q(role="client") | Q(is_staff=False, is_superuser=False),
                name="user_client_never_staff",
                violation_error_message=_(
                    "お客様ユーザーを管理者にすることはできません。"
                ),
            ),
        ]

    @property
    def is_operator_or_admin(self) -> bool:
        return self.role in (self.Role.OPERATOR, self.Role.ADMIN)

    @property
    def is_client_user(self) -> bool:
        return self.role == self.Role.CLIENT


# How far ahead a client may tell the operators about (a 年末年始 closure is
# announced weeks ahead; a notice for a year later is a slip of the keyboard).
NOTICE_MAX_DAYS_AHEAD = 365
NOTICE_MAX_CHARS = 300
# Current and coming notices a client may have at once: the console shows them
# all on every call, in one query of at most this many rows.
NOTICE_MAX_OPEN = 10


class OperatorNoticeQuerySet(models.QuerySet["OperatorNotice"]):
    def open_on(self, day: dt.date) -> "OperatorNoticeQuerySet":
        """Not withdrawn and not over on ``day``: in force then, or to come."""
        return self.filter(withdrawn_at__isnull=True, last_day__gte=day)


class OperatorNotice(models.Model):
    """A client's word to the operators for a period (オペレーターへのお知らせ):
    away next week, closed for 年末年始, expecting a customer's call.

    Written by the client in the portal and shown on the call form while it is
    in force; the standing instructions stay the admins' 応答メモ.
    """

    client = models.ForeignKey(
        Client,
        on_delete=models.CASCADE,
        related_name="operator_notices",
        verbose_name=_("顧客"),
    )
    text = models.CharField(_("お知らせ"), max_length=NOTICE_MAX_CHARS)
    first_day = models.DateField(_("開始日"), validators=[validate_plausible_date])
    last_day = models.DateField(_("終了日"), validators=[validate_plausible_date])
    written_at = models.DateTimeField(_("登録日時"))
    written_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("登録したユーザー"),
    )
    withdrawn_at = models.DateTimeField(_("終了した日時"), null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("終了したユーザー"),
    )

    objects = OperatorNoticeQuerySet.as_manager()

    class Meta:
        ordering = ["client_id", "first_day", "id"]
        verbose_name = _("オペレーターへのお知らせ")
        verbose_name_plural = _("オペレーターへのお知らせ")
        constraints = [
            models.CheckConstraint(
                condition=Q(last_day__gte=models.F("first_day")),
                name="notice_ends_after_it_starts",
                violation_error_message=_("終了日は開始日以降にしてください。"),
            ),
            models.CheckConstraint(
                condition=~Q(text=""),
                name="notice_has_text",
                violation_error_message=_("お知らせの内容を入力してください。"),
            ),
        ]

    def __str__(self) -> str:
        return gettext("%(client)s %(first)s〜%(last)s") % {
            "client": self.client,
            "first": format_day(self.first_day),
            "last": format_day(self.last_day),
        }

    def in_force_on(self, day: dt.date) -> bool:
        return self.withdrawn_at is None and self.first_day <= day <= self.last_day


def validate_notice_period(
    *, first_day: dt.date, last_day: dt.date, today: dt.date
) -> None:
    """The rules of a new notice's days, which depend on today (Japan time)."""
    errors: dict[str, Any] = {}
    latest = today + dt.timedelta(days=NOTICE_MAX_DAYS_AHEAD)
    if last_day < first_day:
        errors["last_day"] = _("終了日は開始日以降にしてください。")
    elif last_day < today:
        errors["last_day"] = _("終了日が過ぎています。今日以降の日付にしてください。")
    elif last_day > latest:
        errors["last_day"] = _(
            "お知らせは1年先（%(day)s）までの日付で登録してください。"
        ) % {"day": format_day(latest)}
    if errors:
        raise ValidationError(errors)
