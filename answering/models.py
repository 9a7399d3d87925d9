import datetime as dt
from typing import Any

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.text import Truncator
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from clients.dates import format_moment
from clients.models import Client
from clients.months import month_bounds
from clients.phones import format_phone


class Category(models.TextChoices):
    NORMAL = "normal", _("通常")
    SALES = "sales", _("営業電話")
    GREY = "grey", _("営業の可能性あり")
    NUISANCE = "nuisance", _("いたずら・嫌がらせ・無言")


# Sales calls are neither billed nor reported; every other category is both.
REPORTED_CATEGORIES = (Category.NORMAL, Category.GREY, Category.NUISANCE)


class MissingReason(models.TextChoices):
    # Shown after the name, the callback number or the purpose alike (reports,
    # portal, console): worded to fit each, as the seeds put it.
    REFUSED = "refused", _("お聞きしましたが、お伝えいただけませんでした")
    HUNG_UP = "hung_up", _("お伺いする前に切られた")
    CLIENT_KNOWS = "client_knows", _("番号はご存じとのこと")
    OTHER = "other", _("その他")
    # Set on all three at once by the console's 無言 tick (a nuisance call in
    # which the caller never spoke), never chosen item by item.
    SILENT = "silent", _("無言（お声がありませんでした）")


# Each of these needs a value or the reason it was not obtained (reported calls).
REQUIRED_OR_REASON = {
    "caller_name": _("お名前を入力するか、伺えなかった理由を選んでください。"),
    "purpose": _("用件を入力するか、伺えなかった理由を選んでください。"),
    "callback_number": _("折り返し先を入力するか、伺えなかった理由を選んでください。"),
}

SILENT_ONLY_FOR_NUISANCE = _(
    "「無言」は分類が「いたずら・嫌がらせ・無言」のときだけ選べます。"
    "分類を選び直すか、無言のチェックを外してください。"
)

# A guard against a slipped digit; real surcharges are a few hundred yen.
MAX_SURCHARGE_YEN = 10_000

# Late logging is for a call logged after the fact, not for history: a time set
# further back is a slip of the keyboard (year 0001 broke the admin's date list
# and the portal's paging), and would fall into a month that may be billed.
LATE_LOGGING_DAYS = 31


class CallQuerySet(models.QuerySet["Call"]):
    def counted(self) -> "CallQuerySet":
        """Calls that count for billing: everything but sales calls.

        The free trial is a billing rule and is applied by billing itself.
        """
        return self.exclude(category=Category.SALES)

    def reported(self) -> "CallQuerySet":
        return self.exclude(category=Category.SALES)

    def in_month(self, month: dt.date) -> "CallQuerySet":
        start, end = month_bounds(month)
        return self.filter(received_at__gte=start, received_at__lt=end)

    def with_caller_data_before(self, before: dt.datetime) -> "CallQuerySet":
        """Calls received before ``before`` whose caller's data is not yet
        erased: what the retention erasure erases, and its dry run counts."""
        return self.filter(received_at__lt=before, personal_data_erased_at__isnull=True)

    def between(self, start: dt.datetime, end: dt.datetime) -> "CallQuerySet":
        return self.filter(received_at__gte=start, received_at__lt=end)

    def nuisance_to(self, *, client_id: int) -> "CallQuerySet":
        """Nuisance calls to one client from a number the phone system showed:
        what makes a repeat harasser, wherever it is counted (the console's
        warning, the report's "N 件目", the portal and the admin). A withheld
        number (非通知) is no one caller, so it never adds up."""
        return self.filter(client_id=client_id, category=Category.NUISANCE).exclude(
            caller_number=""
        )

    def up_to(self, call: "Call") -> "CallQuerySet":
        """Calls received no later than ``call`` (itself included), in the
        history's order of (received_at, id)."""
        return self.filter(
            Q(received_at__lt=call.received_at)
            | Q(received_at=call.received_at, id__lte=call.pk)
        )


def caller_number_text(caller_number: str, *, erased: bool) -> str:
    """A call's 発信者番号 as clients read it: hyphenated, 非通知 when the phone
    system showed none, and blank once the caller's data is erased (it was
    shown then, and is gone now)."""
    if erased:
        return ""
    return format_phone(caller_number) or str(_("非通知"))


def _present_or_reason(field: str) -> Q:
    return ~Q(**{field: ""}) | ~Q(**{f"{field}_missing_reason": ""})


class Call(models.Model):
    """One answered call, as the operator logged it."""

    # No index of its own: every index in Meta starts with the client.
    client = models.ForeignKey(
        Client,
        on_delete=models.PROTECT,
        related_name="calls",
        verbose_name=_("顧客"),
        db_index=False,
    )
    received_at = models.DateTimeField(_("受電日時"))
    category = models.CharField(
        _("分類"), max_length=20, choices=Category.choices, default=Category.NORMAL
    )
    dialed_number = models.CharField(_("着信番号"), max_length=20, blank=True)
    caller_number = models.CharField(
        _("発信者番号"),
        max_length=20,
        blank=True,
        help_text=_("着信時に表示された番号"),
    )
    caller_name = models.CharField(_("お名前"), max_length=100, blank=True)
    caller_name_missing_reason = models.CharField(
        _("お名前を伺えなかった理由"),
        max_length=20,
        choices=MissingReason.choices,
        blank=True,
    )
    caller_company = models.CharField(_("会社名"), max_length=200, blank=True)
    callback_number = models.CharField(_("折り返し先"), max_length=20, blank=True)
    callback_number_missing_reason = models.CharField(
        _("折り返し先を伺えなかった理由"),
        max_length=20,
        choices=MissingReason.choices,
        blank=True,
    )
    purpose = models.TextField(_("用件"), blank=True)
    purpose_missing_reason = models.CharField(
        _("用件を伺えなかった理由"),
        max_length=20,
        choices=MissingReason.choices,
        blank=True,
    )
    missing_note = models.CharField(
        _("伺えなかった理由の補足"), max_length=200, blank=True
    )
    addressee = models.CharField(_("宛先（担当者）"), max_length=100, blank=True)
    is_urgent = models.BooleanField(_("お急ぎ"), default=False)
    is_angry = models.BooleanField(_("お怒り"), default=False)
    is_troubled = models.BooleanField(_("お困り"), default=False)
    demeanour_note = models.CharField(_("様子のメモ"), max_length=200, blank=True)
    note = models.TextField(_("メモ"), blank=True)
    surcharge_yen = models.PositiveIntegerField(_("割増料金（円）"), default=0)
    surcharge_reason = models.CharField(_("割増の理由"), max_length=200, blank=True)
    logged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("記録者"),
    )
    # Set by the console form: the same form sent twice (a double press, a resend
    # after a dropped answer) is recognised and saves the call once.
    submission_id = models.UUIDField(_("送信ID"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("記録日時"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新日時"), auto_now=True)
    personal_data_erased_at = models.DateTimeField(
        _("個人情報の消去日時"), null=True, blank=True
    )

    objects = CallQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("受電")
        verbose_name_plural = _("受電")
        indexes = [
            models.Index(
                fields=["client", "-received_at", "-id"], name="call_client_recent"
            ),
            # Repeat-caller history: the last few calls of one number to one client.
            models.Index(
                fields=["client", "caller_number", "-received_at"],
                name="call_client_caller_recent",
            ),
            # With the id: the admin's list in its order (Meta.ordering), far
            # pages too, by this index alone (config.admin_paging).
            models.Index(fields=["-received_at", "-id"], name="call_received_at_id"),
            # The portal's search by a callback number typed in any format.
            models.Index(
                fields=["client", "callback_number"], name="call_client_callback"
            ),
            # Harassment from one number stays visible however many calls it made.
            models.Index(
                fields=["client", "caller_number"],
                condition=Q(category="nuisance"),
                name="call_nuisance_caller",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["submission_id"],
                condition=Q(submission_id__isnull=False),
                name="call_one_per_submission",
            ),
            models.CheckConstraint(
                condition=Q(surcharge_yen=0) | ~Q(surcharge_reason=""),
                name="call_surcharge_has_reason",
                violation_error_message=_("割増料金には理由が必要です。"),
            ),
            # A reported call never has a silently blank name, purpose or callback
            # number: each one holds a value or the reason it was not obtained.
            models.CheckConstraint(
                condition=Q(category=Category.SALES)
                | Q(personal_data_erased_at__isnull=False)
                | (
                    _present_or_reason("caller_name")
                    & _present_or_reason("callback_number")
                    & _present_or_reason("purpose")
                ),
                name="call_reported_fields_present",
                violation_error_message=_(
                    "お名前・用件・折り返し先は、内容か伺えなかった理由のどちらかが必要です。"
                ),
            ),
        ]

    def __str__(self) -> str:
        # As the console and the reports name a call: Japan time, then who.
        who = (
            gettext("%(name)s様") % {"name": self.caller_name}
            if self.caller_name
            else self.get_category_display()
        )
        return f"{format_moment(self.received_at)} {who}"

    def clean(self) -> None:
        """The rules of one call, with a Japanese message on each field concerned.

        No queries here: the console validates with this on every save.
        """
        errors: dict[str, list[str]] = {}
        for field in REQUIRED_OR_REASON:
            if (getattr(self, field) or "").strip():
                # A value wins over a reason chosen before it was obtained.
                setattr(self, f"{field}_missing_reason", "")
        if self.is_reported and self.personal_data_erased_at is None:
            for field, message in REQUIRED_OR_REASON.items():
                if not (getattr(self, field) or "").strip() and not getattr(
                    self, f"{field}_missing_reason"
                ):
                    errors.setdefault(field, []).append(str(message))
        if (
            self.personal_data_erased_at is None  # the erasure blanked the note
            and any(
                getattr(self, f"{field}_missing_reason") == MissingReason.OTHER
                for field in REQUIRED_OR_REASON
            )
            and not self.missing_note.strip()
        ):
            errors.setdefault("missing_note", []).append(
                str(_("「その他」を選んだときは、伺えなかった理由を書いてください。"))
            )
        # The note explains what was not obtained, and a report shows it only
        # beside such an item. With none missing it would reach no one, and a
        # correction of it alone would tell the client of a change its report
        # does not show. Refused rather than dropped: the operator learns where
        # it belongs (the purpose, if the client is to read it) instead of
        # losing what was typed, and the client's report and its corrections
        # always agree. A call saved with such a note before this rule asks for
        # it to be cleared on its next correction; the client then reads of its
        # removal, which its report also no longer shows.
        if (
            self.is_reported
            and self.missing_note.strip()
            and all(
                (getattr(self, field) or "").strip() for field in REQUIRED_OR_REASON
            )
        ):
            errors.setdefault("missing_note", []).append(
                str(
                    _(
                        "お名前・折り返し先・用件がそろっているため、この補足は報告に"
                        "載りません。補足を消してください（報告に載せたいことは用件へ）。"
                    )
                )
            )
        if self.category != Category.NUISANCE and any(
            getattr(self, f"{field}_missing_reason") == MissingReason.SILENT
            for field in REQUIRED_OR_REASON
        ):
            errors.setdefault("category", []).append(str(SILENT_ONLY_FOR_NUISANCE))
        if self.surcharge_yen and not self.surcharge_reason.strip():
            errors.setdefault("surcharge_reason", []).append(
                str(_("割増料金を入れたときは、理由を書いてください。"))
            )
        # A reason with no amount is almost always an amount that got lost.
        if not self.surcharge_yen and self.surcharge_reason.strip():
            errors.setdefault("surcharge_yen", []).append(
                str(
                    _(
                        "割増の理由が入っています。金額を入れるか、理由を消してください。"
                    )
                )
            )
        if self.surcharge_yen and self.surcharge_yen > MAX_SURCHARGE_YEN:
            errors.setdefault("surcharge_yen", []).append(
                str(
                    _("割増料金は%(max)s円までです。桁を確認してください。")
                    % {"max": f"{MAX_SURCHARGE_YEN:,}"}
                )
            )
        if errors:
            raise ValidationError(errors)

    def validate_received_at(self, *, now: dt.datetime | None = None) -> None:
        """A call may be logged late (up to LATE_LOGGING_DAYS), never in the future."""
        now = now or timezone.now()
        if not self.received_at:
            return
        if self.received_at > now:
            raise ValidationError(
                {
                    "received_at": _(
                        "受電日時が未来になっています。現在より前の日時を入れてください。"
                    )
                }
            )
        if self.received_at < now - dt.timedelta(days=LATE_LOGGING_DAYS):
            raise ValidationError(
                {
                    "received_at": _(
                        "受電日時が%(days)s日以上前になっています。日付を確かめてください。"
                    )
                    % {"days": LATE_LOGGING_DAYS}
                }
            )

    def get_category_display(self) -> str:
        # Django's own builds a dict of every choice on each call, and lists of
        # calls show this on every row.
        try:
            return str(Category(self.category).label)
        except ValueError:
            return self.category

    @property
    def is_nuisance(self) -> bool:
        return self.category == Category.NUISANCE

    @property
    def is_silent(self) -> bool:
        """A silent call (無言): nothing obtained because the caller never spoke."""
        return all(
            getattr(self, f"{field}_missing_reason") == MissingReason.SILENT
            for field in REQUIRED_OR_REASON
        )

    def purpose_preview(self, chars: int) -> str:
        """What a row of calls shows as the call's 用件, cut to ``chars``: 無言 for
        a silent call (as its page and report say it), — when none was recorded.

        Here rather than with the template's |default:"—"|truncatechars: those
        filters cost about 50 µs a row each, on lists opened all day.
        """
        if self.is_silent:
            return gettext("無言")
        return Truncator(self.purpose or "—").chars(chars)

    @property
    def is_grey(self) -> bool:
        return self.category == Category.GREY

    @property
    def is_counted(self) -> bool:
        return self.category != Category.SALES

    @property
    def is_reported(self) -> bool:
        return self.category in REPORTED_CATEGORIES

    @property
    def callback_number_display(self) -> str:
        return format_phone(self.callback_number)

    @property
    def caller_number_display(self) -> str:
        return format_phone(self.caller_number)

    @property
    def demeanour_labels(self) -> list[str]:
        labels = []
        if self.is_urgent:
            labels.append(str(_("お急ぎ")))
        if self.is_angry:
            labels.append(str(_("お怒り")))
        if self.is_troubled:
            labels.append(str(_("お困り")))
        return labels


class CallRevision(models.Model):
    """What a correction changed on a call: who, when, and the old and new values."""

    call = models.ForeignKey(
        Call, on_delete=models.CASCADE, related_name="revisions", verbose_name=_("受電")
    )
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("訂正者"),
    )
    changed_at = models.DateTimeField(_("訂正日時"), default=timezone.now)
    changes = models.JSONField(
        _("変更内容"), help_text=_("訂正した項目ごとの、訂正前と訂正後の値")
    )

    class Meta:
        ordering = ["call", "changed_at", "id"]
        verbose_name = _("受電の訂正履歴")
        verbose_name_plural = _("受電の訂正履歴")

    def __str__(self) -> str:
        return gettext("%(call)s の訂正（%(changed_at)s）") % {
            "call": self.call,
            "changed_at": format_moment(self.changed_at),
        }


def _readable_value(field: str, value: Any) -> str:
    if value in ("", None):
        return "—"
    if isinstance(value, bool):
        return str(_("はい") if value else _("いいえ"))
    if field == "category":
        return str(Category(value).label) if value in Category.values else str(value)
    if field.endswith("_missing_reason"):
        return (
            str(MissingReason(value).label)
            if value in MissingReason.values
            else str(value)
        )
    if field in ("callback_number", "caller_number", "dialed_number"):
        return format_phone(value)
    if field == "surcharge_yen":
        return str(_("%(amount)s円") % {"amount": f"{value:,}"})
    if field == "received_at":
        # Stored as ISO 8601 text in the revision's JSON.
        try:
            moment = dt.datetime.fromisoformat(str(value))
        except ValueError:
            return str(value)
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment)  # written in Japan time
        return format_moment(moment)
    return str(value)


def readable_changes(changes: dict[str, list[Any]]) -> dict[str, tuple[str, str]]:
    """``{field: [old, new]}`` as stored on a revision -> ``{label: (old, new)}``
    in the words a person reads (on the console and in correction reports)."""
    readable = {}
    for field, (old, new) in changes.items():
        try:
            label = str(Call._meta.get_field(field).verbose_name)
        except FieldDoesNotExist:
            label = field
        if field == "surcharge_yen":
            # The values carry their unit (200円): 割増料金（円）: 200円 said it twice.
            label = str(_("割増料金"))
        readable[label] = (_readable_value(field, old), _readable_value(field, new))
    return readable
