import datetime as dt

from django import forms
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from answering.models import REPORTED_CATEGORIES, Category
from clients.dates import JapaneseDateField
from clients.forms import TypedEmailField
from clients.models import (
    NOTICE_MAX_CHARS,
    Client,
    Plan,
    ReportRecipient,
    validate_plausible_date,
    validate_sendable_email,
)
from portal.models import (
    CancellationReason,
    RecipientChangeRequest,
    latest_desired_on,
    pro_rata_from,
    validate_desired_on,
)
from portal.selectors import HistoryFilters


class HistoryFilterForm(forms.Form):
    date_from = JapaneseDateField(
        label=_("期間（から）"),
        required=False,
        validators=[validate_plausible_date],
    )
    date_to = JapaneseDateField(
        label=_("期間（まで）"),
        required=False,
        validators=[validate_plausible_date],
    )
    category = forms.ChoiceField(
        label=_("分類"),
        required=False,
        choices=[("", _("すべて"))]
        + [(c.value, c.label) for c in Category if c in REPORTED_CATEGORIES],
    )
    addressee = forms.CharField(label=_("宛先"), required=False, max_length=100)
    q = forms.CharField(
        label=_("キーワード"),
        required=False,
        max_length=100,
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "placeholder": _("お名前・会社名・用件・電話番号"),
            }
        ),
    )

    def clean(self):
        cleaned = super().clean()
        date_from, date_to = cleaned.get("date_from"), cleaned.get("date_to")
        if date_from and date_to and date_from > date_to:
            self.add_error("date_to", _("終了日は開始日以降の日付にしてください。"))
        return cleaned

    def to_filters(self) -> HistoryFilters:
        data = self.cleaned_data
        return HistoryFilters(
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            category=data.get("category") or "",
            addressee=(data.get("addressee") or "").strip(),
            text=(data.get("q") or "").strip(),
        )


class PlanChangeRequestForm(forms.Form):
    plan = forms.ModelChoiceField(
        label=_("ご希望のプラン"),
        queryset=Plan.objects.all(),
        empty_label=None,
        widget=forms.RadioSelect,
    )
    message = forms.CharField(
        label=_("メッセージ（任意）"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(
        self,
        *args,
        effective_month: dt.date,
        plan_from_effective_month: Plan | None = None,
        has_open_request: bool = False,
        **kwargs,
    ):
        self.plan_from_effective_month = plan_from_effective_month
        self.has_open_request = has_open_request
        super().__init__(*args, **kwargs)
        # Only the plans billing can price from the month the change applies.
        plan_field = self.fields["plan"]
        plan_field.queryset = Plan.objects.priced_on(effective_month)
        plan_field.error_messages["invalid_choice"] = _(
            "このプランは今はお申し込みいただけません。表にあるプランからお選びください。"
        )

    def clean_plan(self):
        plan = self.cleaned_data["plan"]
        # With a request open, choosing the plan already scheduled withdraws it.
        if plan == self.plan_from_effective_month and not self.has_open_request:
            raise forms.ValidationError(
                _("翌月からのプランはすでに「%(plan)s」です。"),
                params={"plan": plan.name},
            )
        return plan


class RecipientChangeRequestForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("ご依頼の内容"),
        choices=RecipientChangeRequest.Kind.choices,
        widget=forms.RadioSelect,
    )
    recipient = forms.ModelChoiceField(
        label=_("対象の報告先（変更・停止のとき）"),
        queryset=ReportRecipient.objects.none(),
        required=False,
        # Left as is when adding one; Django's "---------" reads as a fault.
        empty_label=_("選ばない"),
    )
    name = forms.CharField(label=_("氏名"), required=False, max_length=100)
    pc_email = TypedEmailField(
        label=_("PCメールアドレス"),
        required=False,
        validators=[validate_sendable_email],
    )
    mobile_email = TypedEmailField(
        label=_("携帯メールアドレス"),
        required=False,
        validators=[validate_sendable_email],
    )
    desired_on = JapaneseDateField(label=_("希望日（任意）"), required=False)
    message = forms.CharField(
        label=_("メッセージ（任意）"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, client: Client, today: dt.date, **kwargs):
        super().__init__(*args, **kwargs)
        self.client, self.today = client, today
        # The browser's calendar offers only the days a request may ask for.
        self.fields["desired_on"].widget.attrs.update(
            min=today.isoformat(),
            max=latest_desired_on(client=client, today=today).isoformat(),
        )
        # Only this client's current or future recipients can be chosen: an id
        # of another client's recipient is "not one of the available choices".
        self.fields["recipient"].queryset = ReportRecipient.objects.filter(
            client=client, active_to__isnull=True
        ) | ReportRecipient.objects.filter(client=client, active_to__gte=today)

    def clean(self):
        cleaned = super().clean()
        kind = cleaned.get("kind")
        Kind = RecipientChangeRequest.Kind
        has_address = cleaned.get("pc_email") or cleaned.get("mobile_email")
        if kind == Kind.ADD:
            cleaned["recipient"] = None
            if not cleaned.get("name") and not self.has_error("name"):
                self.add_error("name", _("追加する方の氏名を入力してください。"))
        elif (
            kind in (Kind.CHANGE, Kind.REMOVE)
            and not cleaned.get("recipient")
            and "recipient" not in self.errors
        ):
            self.add_error("recipient", _("対象の報告先を選んでください。"))
        address_error = self.has_error("pc_email") or self.has_error("mobile_email")
        if kind in (Kind.ADD, Kind.CHANGE) and not has_address and not address_error:
            self.add_error(
                "pc_email",
                _("PCか携帯のメールアドレスを少なくとも1つ入力してください。"),
            )
        return cleaned

    def clean_desired_on(self) -> dt.date | None:
        desired_on = self.cleaned_data["desired_on"]
        if desired_on is not None:
            validate_desired_on(desired_on, client=self.client, today=self.today)
        return desired_on


class BillingEmailChangeRequestForm(forms.Form):
    # Empty asks to go back to the recipients' PC addresses.
    billing_email = TypedEmailField(
        label=_("請求書送付先メールアドレス"),
        required=False,
        # The model's length: a longer one is refused here, not by the database.
        max_length=254,
        validators=[validate_sendable_email],
    )
    message = forms.CharField(
        label=_("メッセージ（任意）"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, current: str, has_open_request: bool, **kwargs):
        self.current, self.has_open_request = current, has_open_request
        super().__init__(*args, **kwargs)

    def clean_billing_email(self) -> str:
        billing_email = self.cleaned_data["billing_email"]
        # With a request open, asking for the address in force withdraws it
        # (the last wish wins, as for plans); without one it changes nothing.
        if (
            billing_email.casefold() == self.current.casefold()
            and not self.has_open_request
        ):
            if billing_email:
                raise forms.ValidationError(
                    _("請求書のお知らせはすでに %(address)s にお送りしています。"),
                    params={"address": billing_email},
                )
            raise forms.ValidationError(
                _(
                    "請求書のお知らせはすでに報告先のPCメールアドレスにお送りしています。"
                    "別のアドレスにお送りするときは、そのアドレスを入力してください。"
                )
            )
        return billing_email


class CancellationRequestForm(forms.Form):
    last_day = forms.TypedChoiceField(
        label=_("ご契約の終了日（月末）"),
        coerce=dt.date.fromisoformat,
        widget=forms.RadioSelect,
        error_messages={
            "invalid_choice": _(
                "ご契約の終了日は、表示されている月末日からお選びください。"
            ),
        },
    )
    reason = forms.ChoiceField(
        label=_("解約の理由（任意）"),
        required=False,
        choices=[("", _("選ばない")), *CancellationReason.choices],
    )
    message = forms.CharField(
        label=_("理由の詳しい内容・メッセージ（任意）"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, days: list[dt.date], client: Client, **kwargs):
        super().__init__(*args, **kwargs)
        # The month ends offered (portal.models.cancellation_days), each read
        # with the month it ends, which is billed in full, or by days from
        # its first billed day in the month the billing began.
        self.fields["last_day"].choices = [
            (day.isoformat(), self._day_label(day, client=client)) for day in days
        ]

    @staticmethod
    def _day_label(day: dt.date, *, client: Client) -> str:
        values = {
            "day": date_format(day, "DATE_FORMAT"),
            "month": date_format(day, "YEAR_MONTH_FORMAT"),
        }
        start = pro_rata_from(client=client, last_day=day)
        if start is None:
            return _("%(day)s（%(month)s分まで）") % values
        return _("%(day)s（%(month)s分まで、%(start)sからの日割り）") % {
            **values,
            "start": date_format(start, "MONTH_DAY_FORMAT"),
        }


class OperatorNoticeForm(forms.Form):
    """A notice to the operators for a period (clients.services.post_operator_notice
    checks the days against today and the contract)."""

    text = forms.CharField(
        label=_("お知らせの内容"),
        max_length=NOTICE_MAX_CHARS,
        widget=forms.Textarea(
            attrs={
                "rows": 3,
                "placeholder": _(
                    "例: 12月29日〜1月3日は休業です。急ぎのご用件は1月4日以降に"
                    "折り返しますとお伝えください。"
                ),
            }
        ),
    )
    first_day = JapaneseDateField(
        label=_("開始日"), validators=[validate_plausible_date]
    )
    last_day = JapaneseDateField(
        label=_("終了日"), validators=[validate_plausible_date]
    )

    def clean(self):
        cleaned = super().clean()
        first_day, last_day = cleaned.get("first_day"), cleaned.get("last_day")
        if first_day and last_day and first_day > last_day:
            self.add_error("last_day", _("終了日は開始日以降にしてください。"))
        return cleaned
