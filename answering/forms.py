"""The call form: what an operator types while the caller is on the line."""

import datetime as dt
import unicodedata
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import BigIntegerField
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.functional import cached_property
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from answering.models import (
    REQUIRED_OR_REASON,
    SILENT_ONLY_FOR_NUISANCE,
    Call,
    Category,
    MissingReason,
)
from answering.services import (
    EDITABLE_FIELDS,
    FIXED_ONCE_ERASED_FIELDS,
    LOGGED_ONLY_FIELDS,
    stored_value,
)
from clients.dates import JapaneseDateField, JapaneseDateTimeField
from clients.models import validate_plausible_date
from clients.months import is_answering_time, japan_now
from clients.phones import format_phone, normalize_phone, try_normalize_phone

# How a datetime-local input shows and sends a time: to the minute.
MINUTE_INPUT_FORMAT = "%Y-%m-%dT%H:%M"

# 無言 is not a reason chosen item by item: the silent tick sets all three.
REASON_CHOICES = [
    ("", _("（伺えた）")),
    *(choice for choice in MissingReason.choices if choice[0] != MissingReason.SILENT),
]
# "The client knows the number" is a reason for a number only.
NOT_A_NUMBER_REASON_CHOICES = [
    choice for choice in REASON_CHOICES if choice[0] != MissingReason.CLIENT_KNOWS
]

# What a silent call leaves out: the caller said nothing, so the tick hides
# these and saves them as not obtained (無言).
SILENT_BLANK_FIELDS = ("caller_name", "caller_company", "callback_number", "purpose")
SILENT_REASON_FIELDS = tuple(f"{f}_missing_reason" for f in REQUIRED_OR_REASON)

CATEGORY_KEYS: dict[str, str] = {
    Category.NORMAL: "1",
    Category.SALES: "2",
    Category.GREY: "3",
    Category.NUISANCE: "4",
}


# What the console hides for a sales call (its `.reported-only` block): a sales
# call is its category and a note, two keystrokes.
# A call started on longer ago than this (a form left open since) is dated by
# its save instead.
STARTED_AT_MAX_AGE = dt.timedelta(hours=3)
SALES_HIDDEN_FIELDS = tuple(
    f for f in EDITABLE_FIELDS if f not in ("category", "note", "received_at")
)


def _reason_field(label: Any, choices: list = REASON_CHOICES) -> forms.ChoiceField:
    return forms.ChoiceField(label=label, choices=choices, required=False)


class YenField(forms.IntegerField):
    """Yen as operators type them: "３００", "1,000", "300円".

    A text input, not a number input: a browser sends a number input it cannot
    read ("300-") as blank, and the amount was lost without a word.
    """

    widget = forms.TextInput(attrs={"inputmode": "numeric"})
    default_error_messages = {
        "invalid": _("金額は数字で入れてください（例: 300）。"),
    }

    def to_python(self, value: Any) -> int | None:
        if isinstance(value, str):
            value = unicodedata.normalize("NFKC", value).replace(",", "")
            value = value.strip().removesuffix("円").strip()
            # Yen have no fractions: "1.000" is a slip for "1,000", and Django
            # would read it as 1 yen.
            if "." in value:
                raise ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


class CallForm(forms.Form):
    """Logs a new call, or corrects one (``instance``)."""

    category = forms.ChoiceField(
        label=_("分類"),
        choices=Category.choices,
        initial=Category.NORMAL,
        widget=forms.RadioSelect,
    )
    # A nuisance call in which the caller never spoke: one tick (or the key 5)
    # instead of three reasons, none of them true.
    is_silent = forms.BooleanField(
        label=_("無言（お声がありませんでした）"), required=False
    )
    caller_name = forms.CharField(label=_("お名前"), max_length=100, required=False)
    caller_name_missing_reason = _reason_field(
        _("お名前を伺えなかった理由"), NOT_A_NUMBER_REASON_CHOICES
    )
    caller_company = forms.CharField(label=_("会社名"), max_length=200, required=False)
    callback_number = forms.CharField(
        label=_("折り返し先"),
        max_length=30,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "inputmode": "tel"}),
    )
    callback_number_missing_reason = _reason_field(_("折り返し先を伺えなかった理由"))
    purpose = forms.CharField(
        label=_("用件"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    purpose_missing_reason = _reason_field(
        _("用件を伺えなかった理由"), NOT_A_NUMBER_REASON_CHOICES
    )
    missing_note = forms.CharField(
        label=_("伺えなかった理由の補足"), max_length=200, required=False
    )
    addressee = forms.CharField(
        label=_("宛先（担当者）"),
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"list": "people-list"}),
    )
    is_urgent = forms.BooleanField(label=_("お急ぎ"), required=False)
    is_angry = forms.BooleanField(label=_("お怒り"), required=False)
    is_troubled = forms.BooleanField(label=_("お困り"), required=False)
    demeanour_note = forms.CharField(
        label=_("様子のメモ"), max_length=200, required=False
    )
    note = forms.CharField(
        label=_("メモ"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    surcharge_yen = YenField(label=_("割増料金（円）"), min_value=0, required=False)
    surcharge_reason = forms.CharField(
        label=_("割増の理由"), max_length=200, required=False
    )
    received_at = JapaneseDateTimeField(
        label=_("受電日時"),
        required=False,
        help_text=_(
            "空欄なら電話を受けた時刻（着信で開いた時刻、または入力を始めた時刻）。"
            "遅れて記録するときだけ入れてください。"
        ),
        widget=forms.DateTimeInput(
            attrs={"type": "datetime-local"}, format=MINUTE_INPUT_FORMAT
        ),
        # Typed where a browser shows no picker: year first.
        error_messages={
            "invalid": _(
                "受電日時は 2026/11/01 10:30 のように、年・月・日・時刻の順で"
                "入力してください。"
            )
        },
    )
    # Shown with the warning on a typed time outside the service's hours: late
    # evening overflow happens, so the time is never refused, only confirmed.
    confirm_off_hours = forms.BooleanField(
        label=_("受付時間外の時刻で保存する"), required=False
    )
    # From the screen pop; kept through a validation error.
    caller_number = forms.CharField(
        required=False, max_length=30, widget=forms.HiddenInput
    )
    dialed_number = forms.CharField(
        required=False, max_length=30, widget=forms.HiddenInput
    )
    # New for each blank form: the same form sent twice saves one call.
    submission_id = forms.UUIDField(required=False, widget=forms.HiddenInput)
    # When the operator started on this call: the ring for a screen pop, else the
    # first key typed. Set by the page's script on the server's clock; a blank
    # received time dates the call by it rather than by the save.
    started_at = forms.CharField(
        required=False, max_length=40, widget=forms.HiddenInput
    )
    # A correction: the version of the call on the corrector's screen, so a
    # change someone saved meanwhile is never silently reverted.
    seen_version = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(
        self,
        *args: Any,
        instance: Call | None = None,
        now: dt.datetime | None = None,
        **kwargs: Any,
    ) -> None:
        self.instance = instance
        self.now = now
        # Set by clean(): the typed received time is outside the service's hours.
        self.off_hours = False
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = initial_from_call(instance)
        super().__init__(*args, **kwargs)
        if instance is not None:
            # A correction keeps the call's own time unless it is changed.
            self.fields["received_at"].help_text = ""
            del self.fields["caller_number"]
            del self.fields["dialed_number"]
            del self.fields["submission_id"]
            del self.fields["started_at"]
        else:
            del self.fields["seen_version"]

    def _lines(self, name: str) -> str:
        """A textarea's text with its line ends as stored: "\\n".

        Browsers send a textarea's line ends as "\\r\\n": a call stored with
        "\\n" (or the other way round) saved untouched must be no correction.
        """
        value = _one_line_end(self.cleaned_data[name])
        if self.instance is not None:
            stored = getattr(self.instance, name)
            # The form strips what surrounds the text; a call stored with it
            # (made outside the console) is not corrected by that alone.
            if _one_line_end(stored).strip() == value:
                return stored
        return value

    def clean_purpose(self) -> str:
        return self._lines("purpose")

    def clean_note(self) -> str:
        return self._lines("note")

    def clean_callback_number(self) -> str:
        value = self.cleaned_data["callback_number"].strip()
        if not value:
            return ""
        return normalize_phone(value)

    def clean_seen_version(self) -> dt.datetime | None:
        value = self.cleaned_data["seen_version"]
        if not value:
            return None
        try:
            version = dt.datetime.fromisoformat(value)
            if version.tzinfo is not None:
                return version.astimezone(dt.UTC)  # in range for the database
        except (ValueError, OverflowError):
            pass
        # Not what the page sent: a version no call has, so nothing is
        # overwritten and the corrector is asked to look again.
        return dt.datetime.min.replace(tzinfo=dt.UTC)

    def clean_started_at(self) -> dt.datetime | None:
        """A time the page set, or None when it is not one, or too old to be
        this call's (a form left open since): the call is then dated by its save."""
        value = self.cleaned_data["started_at"]
        try:
            moment = dt.datetime.fromisoformat(value) if value else None
        except ValueError:
            return None
        now = self.now or timezone.now()
        if moment is None or moment.tzinfo is None or moment < now - STARTED_AT_MAX_AGE:
            return None
        return min(moment, now)

    def clean_surcharge_yen(self) -> int:
        return self.cleaned_data["surcharge_yen"] or 0

    def clean_received_at(self) -> dt.datetime | None:
        value = self.cleaned_data["received_at"]
        if value is None:
            return None
        if self.instance is not None and value == _to_the_minute(
            self.instance.received_at
        ):
            # The form shows minutes only: a minute left as it was keeps the
            # call's exact time, so saving unchanged is no correction.
            return self.instance.received_at
        try:
            Call(received_at=value).validate_received_at(now=self.now)
        except ValidationError as exc:
            raise ValidationError(exc.message_dict["received_at"]) from exc
        return value

    # Set by the page or the phone system, never typed: the operator could not
    # fix a bad one, and the call must still be saved.
    QUIETLY_DROPPED = ("caller_number", "dialed_number", "submission_id", "started_at")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for name in self.QUIETLY_DROPPED:
            if self.errors.pop(name, None) is not None:
                cleaned[name] = None if name == "submission_id" else ""
        if cleaned.get("category") == Category.SALES:
            # What the operator cannot see is neither checked nor saved: a half-typed
            # number left behind when the call turned out to be a sales call must
            # not block it. A correction keeps the call's own values.
            for name in SALES_HIDDEN_FIELDS:
                self.errors.pop(name, None)
                cleaned[name] = (
                    getattr(self.instance, name)
                    if self.instance is not None
                    else Call._meta.get_field(name).get_default()
                )
        self._log_a_silent_call(cleaned)
        self._ask_about_an_off_hours_time(cleaned)
        if cleaned.get("received_at") is None and cleaned.get("started_at"):
            cleaned["received_at"] = cleaned["started_at"]
        fields = {
            f: cleaned[f]
            for f in EDITABLE_FIELDS
            if f in cleaned and f != "received_at"
        }
        # The call's own rules (value or reason, "other" needs a note, surcharge
        # reason), checked on an unsaved call so the messages match the service's.
        erased_at = self.instance.personal_data_erased_at if self.instance else None
        try:
            Call(personal_data_erased_at=erased_at, **fields).clean()
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                if field not in self.errors:
                    for message in messages:
                        self.add_error(field, message)
        return cleaned

    def _log_a_silent_call(self, cleaned: dict[str, Any]) -> None:
        """The 無言 tick: name, number and purpose not obtained, for that reason.

        What the hidden fields hold (the screen pop's callback number) is
        neither checked nor saved; the caller's number stays on the call."""
        if not cleaned.get("is_silent"):
            return
        if cleaned.get("category") != Category.NUISANCE:
            self.add_error("is_silent", SILENT_ONLY_FOR_NUISANCE)
            return
        for name in (*SILENT_BLANK_FIELDS, *SILENT_REASON_FIELDS):
            self.errors.pop(name, None)
        for name in SILENT_BLANK_FIELDS:
            cleaned[name] = ""
        for name in SILENT_REASON_FIELDS:
            cleaned[name] = MissingReason.SILENT.value

    def _ask_about_an_off_hours_time(self, cleaned: dict[str, Any]) -> None:
        """A typed time outside weekday 9:00-18:00 (Japan time, holidays off) is
        often a slip (03:00 for 15:00, or the wrong day): saved only once the
        operator confirms it. A blank time (when she started) is never asked
        about, nor a correction's time left as it was."""
        typed = cleaned.get("received_at")
        if typed is None or is_answering_time(typed):
            return
        if self.instance is not None and typed == self.instance.received_at:
            return
        self.off_hours = True
        if not cleaned.get("confirm_off_hours"):
            self.add_error(
                "received_at",
                _(
                    "%(when)s は受付時間外です（受付は平日 9:00〜18:00、祝日を除く）。"
                    "日付や時刻の打ち間違い（15:00 を 03:00 など）がないか確かめてください。"
                    "このままで正しければ「受付時間外の時刻で保存する」にチェックを入れて"
                    "保存してください。"
                )
                % {"when": date_format(japan_now(typed), gettext("Y/m/d（D）H:i"))},
            )

    def call_fields(self) -> dict[str, Any]:
        """Keyword arguments for ``log_call`` / ``correct_call``."""
        data = {
            f: self.cleaned_data[f]
            for f in (*EDITABLE_FIELDS, *LOGGED_ONLY_FIELDS)
            if f in self.cleaned_data
        }
        if data.get("received_at") is None:
            data.pop("received_at", None)
        return data

    def rebased(self, call: Call, seen: dict[str, Any]) -> "CallForm":
        """This correction again, over ``call`` as someone else saved it since.

        ``seen`` holds what the fields they changed said on this corrector's
        screen: where the corrector left such a field as it was, the form now
        shows the other person's value; where both changed it, what this
        corrector typed stays.
        """
        data = self.data.copy()
        current = initial_from_call(call)
        for field, old in seen.items():
            if field not in self.fields or field not in self.cleaned_data:
                continue
            if field == "received_at":
                # The screen shows minutes: compare what it showed, not the
                # exact time the other correction left behind.
                shown = dt.datetime.fromisoformat(old).strftime(MINUTE_INPUT_FORMAT)
                untouched = self.data.get(field, "") == shown
            else:
                untouched = stored_value(self.cleaned_data[field]) == old
            if not untouched:
                continue  # changed on this screen too: what was typed stays
            value = current[field]
            if isinstance(value, bool):
                data.pop(field, None)
                if value:
                    data[field] = "on"
            elif isinstance(value, dt.datetime):
                data[field] = value.strftime(MINUTE_INPUT_FORMAT)
            else:
                data[field] = "" if value is None else str(value)
        if call.personal_data_erased_at is not None:
            # Erased since (retention period): nothing of the caller comes back,
            # and what can no longer be changed shows as the call has it.
            for field in FIXED_ONCE_ERASED_FIELDS:
                if field in self.fields:
                    data[field] = current[field]
        form = CallForm(data, instance=call, now=self.now)
        form.is_valid()
        if (
            call.category == Category.SALES
            and self.cleaned_data.get("category") != Category.SALES
            and form.cleaned_data.get("category") == Category.SALES
            and any(
                self.cleaned_data[f] != getattr(call, f)
                for f in SALES_HIDDEN_FIELDS
                if f in self.cleaned_data
            )
        ):
            # The sales call's form hides what this corrector typed, and a
            # sales call saves none of it: say so rather than drop it unseen.
            form.add_error(
                None,
                _(
                    "この受電は「営業」に分類し直されました。営業の受電には、"
                    "入力したお名前・用件などは保存されません。報告する受電なら、"
                    "分類を選び直してから保存してください。"
                ),
            )
        return form

    def category_options(self) -> list[dict[str, Any]]:
        """The category radios with their keyboard keys (1-4), for the template."""
        current = str(self["category"].value() or Category.NORMAL)
        return [
            {
                "value": value,
                "label": label,
                "key": CATEGORY_KEYS[value],
                "checked": value == current,
                "id": f"id_category_{value}",
            }
            for value, label in Category.choices
        ]

    @cached_property
    def ui(self) -> dict[str, dict[str, Any]]:
        """Each field's current value, errors and options, for hand-written inputs.

        The console renders its inputs as plain HTML: Django's widget templates cost
        several milliseconds per page, and this page is opened on every call.
        """
        fields: dict[str, dict[str, Any]] = {}
        for name, field in self.fields.items():
            bound = self[name]
            value = bound.value()
            if isinstance(value, dt.datetime):
                # prepare_value() already gave local time.
                value = value.strftime(MINUTE_INPUT_FORMAT)
            entry: dict[str, Any] = {
                "name": name,
                "id": f"id_{name}",
                "label": field.label,
                "value": "" if value is None else value,
                "errors": self.errors.get(name, []) if self.is_bound else [],
                "help": field.help_text,
            }
            if name.endswith("_missing_reason"):
                entry["options"] = [
                    {"value": v, "label": label, "selected": v == (value or "")}
                    for v, label in field.choices
                ]
            fields[name] = entry
        return fields

    def first_error_field(self) -> str | None:
        for name in self.fields:
            if name in self.errors:
                return name
        return None


def _one_line_end(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _to_the_minute(moment: dt.datetime) -> dt.datetime:
    return moment.replace(second=0, microsecond=0)


def initial_from_call(call: Call) -> dict[str, Any]:
    initial: dict[str, Any] = {f: getattr(call, f) for f in EDITABLE_FIELDS}
    initial["callback_number"] = format_phone(call.callback_number)
    initial["is_silent"] = call.is_silent
    initial["received_at"] = timezone.localtime(call.received_at)
    return initial


class SearchForm(forms.Form):
    q = forms.CharField(label=_("顧客を検索"), max_length=100, required=False)
    # The caller of a screen pop that found no client: kept on the way to the
    # client the operator picks. A number as E.164; what the phone system sent
    # for a hidden or garbled one ("anonymous", "0312") as sent, so the call
    # form says 非通知 or 読み取れません as it would have on the ring.
    caller = forms.CharField(required=False, max_length=40, widget=forms.HiddenInput)

    def clean_caller(self) -> str:
        sent = self.cleaned_data["caller"]
        return try_normalize_phone(sent) or sent[:30]


class DayFilterForm(forms.Form):
    """The console's list of calls: one day (default today), a client, a category."""

    day = JapaneseDateField(
        label=_("日付"),
        required=False,
        validators=[validate_plausible_date],
    )
    # A row id fits in 64 bits: a longer number would crash SQLite's filter.
    client = forms.IntegerField(
        label=_("顧客"),
        required=False,
        min_value=1,
        max_value=BigIntegerField.MAX_BIGINT,
        widget=forms.HiddenInput,
        # Only a hand-made address gets here: one message, not the value limits.
        error_messages={
            code: _("その顧客は見つかりません。一覧から選んでください。")
            for code in ("invalid", "min_value", "max_value")
        },
    )
    category = forms.ChoiceField(
        label=_("分類"),
        required=False,
        choices=[("", _("すべて")), *Category.choices],
    )
