"""What clients ask for in the portal, for admins to process.

Clients never change their plan or recipients directly: a change touches the
invoice, so the portal records the request and an admin applies it.
"""

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.formats import date_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from clients.models import Client, Plan, ReportRecipient, validate_sendable_email
from clients.months import month_end, month_start, next_month

# How many month ends the portal offers for a cancellation: this month's and
# the next ones (a later end is a call to the company, not a form).
CANCELLATION_MONTHS_OFFERED = 6


def latest_desired_on(*, client: Client, today: dt.date) -> dt.date:
    """The last day a client may ask a recipient change for: a year ahead at
    most (a later date is a slip of the keyboard, or a wish nobody would
    remember), and never after the contract's last day."""
    try:
        latest = today.replace(year=today.year + 1)
    except ValueError:  # 29 February
        latest = today.replace(year=today.year + 1, day=28)
    if client.cancelled_on is not None:
        latest = min(latest, client.cancelled_on)
    return latest


def validate_desired_on(day: dt.date, *, client: Client, today: dt.date) -> None:
    """A desired date (希望日) is from today to ``latest_desired_on``."""
    if day < today:
        raise ValidationError(
            _("希望日は今日以降の日付にしてください。"), code="desired_in_past"
        )
    latest = latest_desired_on(client=client, today=today)
    if day <= latest:
        return
    if latest == client.cancelled_on:
        raise ValidationError(
            _("ご契約は%(day)sで終了します。希望日はそれまでの日付にしてください。"),
            code="desired_after_contract",
            params={"day": date_format(latest, "DATE_FORMAT")},
        )
    raise ValidationError(
        _("希望日は1年後（%(day)s）までの日付にしてください。"),
        code="desired_too_far",
        params={"day": date_format(latest, "DATE_FORMAT")},
    )


def cancellation_days(*, client: Client, today: dt.date) -> list[dt.date]:
    """The month ends a client may ask its contract to end on: from this
    month's (the month is billed in full whatever the day), never before the
    contract has begun (Client.clean), CANCELLATION_MONTHS_OFFERED of them."""
    first = month_end(today)
    if client.contract_started_on is not None:
        first = max(first, month_end(client.contract_started_on))
    days = [first]
    while len(days) < CANCELLATION_MONTHS_OFFERED:
        days.append(month_end(next_month(days[-1])))
    return days


def pro_rata_from(*, client: Client, last_day: dt.date) -> dt.date | None:
    """The first billed day of the month ending on ``last_day`` when it is
    after the month's 1st (the contract, or the day after the free trial,
    began in it): that last month is billed pro rata by days. None when the
    month is billed in full."""
    billed_from = client.first_billed_day(last_day)
    if billed_from is not None and billed_from > month_start(last_day):
        return billed_from
    return None


class RequestStatus(models.TextChoices):
    OPEN = "open", _("受付中")
    DONE = "done", _("対応済み")
    REJECTED = "rejected", _("お断り・取り下げ")


class SystemNote(models.TextChoices):
    """Why the service, not an admin, closed a request: stored as a code and
    said in the reader's language (an admin's 管理者メモ is shown as typed)."""

    SUPERSEDED = "superseded", _("同じ月の新しいお申し込みに置き換えられました。")
    WITHDRAWN = "withdrawn", _("お客様がお申し込みを取り消されました。")
    REPLACED_RECIPIENT = (
        "replaced_recipient",
        _("同じ報告先への新しいご依頼に置き換えられました。"),
    )
    AFTER_CONTRACT_END = (
        "after_contract_end",
        _("解約日より後の月のため取り下げました。"),
    )
    DESIRED_AFTER_CONTRACT_END = (
        "desired_after_contract_end",
        _("希望日が解約日より後のため取り下げました。"),
    )
    REPLACED_BILLING_EMAIL = (
        "replaced_billing_email",
        _("請求書送付先の新しいお申し込みに置き換えられました。"),
    )


class ChangeRequest(models.Model):
    """Fields shared by every kind of request (abstract)."""

    requested_at = models.DateTimeField(_("お申し込み日時"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("お申し込みユーザー"),
    )
    message = models.TextField(_("お客様からのメッセージ"), blank=True)
    status = models.CharField(
        _("状態"),
        max_length=20,
        choices=RequestStatus.choices,
        default=RequestStatus.OPEN,
    )
    admin_note = models.TextField(
        _("管理者メモ"), blank=True, help_text=_("お客様にも表示されます。")
    )
    system_note = models.CharField(
        _("自動処理の理由"),
        max_length=30,
        choices=SystemNote.choices,
        blank=True,
        help_text=_(
            "お客様の操作や解約で自動的に閉じた理由です。お客様にも表示されます。"
        ),
    )
    processed_at = models.DateTimeField(_("処理日時"), null=True, blank=True)
    processed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("処理した管理者"),
    )

    class Meta:
        abstract = True

    @property
    def is_open(self) -> bool:
        return self.status == RequestStatus.OPEN

    @property
    def note_for_client(self) -> str:
        """What the client reads from us: why the service closed the request,
        in the language of the page, then the admin's memo as it was typed."""
        return "\n".join(
            note for note in (self.get_system_note_display(), self.admin_note) if note
        )


class PlanChangeRequest(ChangeRequest):
    """A client asks for another plan from ``effective_month`` (the 1st of a month).

    The month was computed when the client asked (the 1st of the next month in
    Japan time), and the admin applies it for that month. A client has at most
    one open request per month: a newer one replaces the older (last one wins).
    """

    client = models.ForeignKey(
        Client,
        on_delete=models.PROTECT,
        related_name="plan_change_requests",
        verbose_name=_("顧客"),
    )
    plan = models.ForeignKey(
        Plan,
        on_delete=models.PROTECT,
        related_name="change_requests",
        verbose_name=_("希望プラン"),
    )
    effective_month = models.DateField(_("適用開始月"))

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = _("プラン変更のお申し込み")
        verbose_name_plural = _("プラン変更のお申し込み")
        constraints = [
            models.UniqueConstraint(
                fields=["client", "effective_month"],
                condition=Q(status="open"),
                name="plan_request_one_open_per_month",
            ),
            models.CheckConstraint(
                condition=Q(effective_month__day=1),
                name="plan_request_starts_on_first",
            ),
        ]

    def __str__(self) -> str:
        return gettext("%(client)s %(month)s〜 %(plan)s") % {
            "client": self.client,
            "month": date_format(self.effective_month, "YEAR_MONTH_FORMAT"),
            "plan": self.plan,
        }


class RecipientChangeRequest(ChangeRequest):
    """A client asks to add, change or stop a report recipient.

    The admin applies it by hand in the client's admin page, then marks it done.
    A recipient has at most one open request: a newer one replaces the older
    (the last wish wins), so the admin never holds two that contradict.
    """

    class Kind(models.TextChoices):
        ADD = "add", _("追加")
        CHANGE = "change", _("変更")
        REMOVE = "remove", _("停止")

    client = models.ForeignKey(
        Client,
        on_delete=models.PROTECT,
        related_name="recipient_change_requests",
        verbose_name=_("顧客"),
    )
    kind = models.CharField(_("内容"), max_length=10, choices=Kind.choices)
    recipient = models.ForeignKey(
        ReportRecipient,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="change_requests",
        verbose_name=_("対象の報告先"),
    )
    name = models.CharField(_("氏名"), max_length=100, blank=True)
    pc_email = models.EmailField(_("PCメールアドレス"), blank=True)
    mobile_email = models.EmailField(_("携帯メールアドレス"), blank=True)
    desired_on = models.DateField(_("希望日"), null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = _("報告先変更のお申し込み")
        verbose_name_plural = _("報告先変更のお申し込み")
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="add") & Q(recipient__isnull=True))
                | (~Q(kind="add") & Q(recipient__isnull=False)),
                name="recipient_request_target_iff_not_add",
                violation_error_message=_(
                    "変更・停止には対象の報告先が必要です（追加には不要です）。"
                ),
            ),
            models.CheckConstraint(
                condition=Q(kind="remove") | ~Q(pc_email="") | ~Q(mobile_email=""),
                name="recipient_request_has_an_address",
                violation_error_message=_(
                    "PCか携帯のメールアドレスを少なくとも1つ入力してください。"
                ),
            ),
            models.UniqueConstraint(
                fields=["recipient"],
                condition=Q(status="open"),
                name="recipient_request_one_open_per_recipient",
                violation_error_message=_("この報告先へのご依頼はすでに受付中です。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.client} {self.get_kind_display()} {self.who}"

    @property
    def who(self) -> str:
        """The person the request is about: the name given, or the recipient's."""
        return self.name or (self.recipient.name if self.recipient else "")


class BillingEmailChangeRequest(ChangeRequest):
    """A client asks to set, change or clear its billing address
    (``Client.billing_email``, where invoice notices go).

    An empty ``billing_email`` asks to clear it: notices then go to the report
    recipients' PC addresses again. The admin applies it with an action that
    sets the client's address. A client has at most one open request: a newer
    one replaces the older (the last wish wins).
    """

    client = models.ForeignKey(
        Client,
        on_delete=models.PROTECT,
        related_name="billing_email_change_requests",
        verbose_name=_("顧客"),
    )
    billing_email = models.EmailField(
        _("請求書送付先メールアドレス"),
        blank=True,
        validators=[validate_sendable_email],
        help_text=_("空欄は、報告先のPCメールアドレスに戻すご依頼です。"),
    )

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = _("請求書送付先のお申し込み")
        verbose_name_plural = _("請求書送付先のお申し込み")
        constraints = [
            models.UniqueConstraint(
                fields=["client"],
                condition=Q(status="open"),
                name="billing_email_request_one_open_per_client",
                violation_error_message=_(
                    "請求書送付先のお申し込みはすでに受付中です。"
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.client} {self.wish}"

    @property
    def wish(self) -> str:
        """What the client asked for: the address, or going back to the
        recipients' addresses."""
        return self.billing_email or str(_("報告先のPCメールアドレスに戻す"))


class CancellationReason(models.TextChoices):
    """Why a client cancels (optional): for the company to learn from."""

    COST = "cost", _("料金の負担")
    FEWER_CALLS = "fewer_calls", _("電話が減った・必要がなくなった")
    IN_HOUSE = "in_house", _("社内で対応できるようになった")
    OTHER_SERVICE = "other_service", _("他のサービスに切り替える")
    BUSINESS_CLOSED = "business_closed", _("事業の終了・休止・移転")
    DISSATISFIED = "dissatisfied", _("サービス内容にご不満")
    OTHER = "other", _("その他")


class CancellationRequest(ChangeRequest):
    """A client asks to end its contract on ``last_day``, a month end (a
    cancellation takes effect at a month end; that month is billed in full).

    The admin applies it with an action that sets the client's 解約日 through
    the client page's own checks and closing of requests
    (portal.services.cancel_contract), or closes it with a reason. A client
    has at most one open request (a database constraint too).
    """

    client = models.ForeignKey(
        Client,
        on_delete=models.PROTECT,
        related_name="cancellation_requests",
        verbose_name=_("顧客"),
    )
    last_day = models.DateField(
        _("解約希望日"), help_text=_("契約の最終日（月末日）。")
    )
    reason = models.CharField(
        _("解約の理由"),
        max_length=20,
        choices=CancellationReason.choices,
        blank=True,
    )

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = _("解約のお申し込み")
        verbose_name_plural = _("解約のお申し込み")
        constraints = [
            models.UniqueConstraint(
                fields=["client"],
                condition=Q(status="open"),
                name="cancellation_request_one_open_per_client",
                violation_error_message=_("解約のお申し込みはすでに受付中です。"),
            ),
        ]

    def __str__(self) -> str:
        return gettext("%(client)s %(day)s で解約") % {
            "client": self.client,
            "day": date_format(self.last_day, "DATE_FORMAT"),
        }
