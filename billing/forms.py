import datetime as dt

from django import forms
from django.utils.translation import gettext_lazy as _

from clients.dates import JapaneseDateField
from clients.models import (
    EARLIEST_PLAUSIBLE_DATE,
    LATEST_PLAUSIBLE_DATE,
    validate_plausible_date,
)
from clients.months import parse_month


class MonthForm(forms.Form):
    month = forms.CharField(
        label=_("請求対象月"),
        max_length=20,
        widget=forms.TextInput(
            attrs={
                "placeholder": "2026-10",
                "type": "month",
                "min": f"{EARLIEST_PLAUSIBLE_DATE:%Y-%m}",
                "max": f"{LATEST_PLAUSIBLE_DATE:%Y-%m}",
            }
        ),
    )

    # Only drafts: where a message about drafts left to look at leads.
    status = forms.ChoiceField(
        choices=[("", _("すべて")), ("draft", _("下書き"))], required=False
    )

    def clean_month(self) -> dt.date:
        try:
            month = parse_month(self.cleaned_data["month"])
        except ValueError as error:
            raise forms.ValidationError(
                _("月は 2026-10（または 2026年10月）の形で入力してください。")
            ) from error
        # Such as 9999-12: the arithmetic around the month would overflow.
        validate_plausible_date(month)
        return month


# The invoice page shows the next forms together: a prefix each keeps
# their fields' ids (and the labels pointing at them) apart.
class MarkPaidForm(forms.Form):
    prefix = "paid"

    paid_on = JapaneseDateField(label=_("入金日"))


class MarkRefundedForm(forms.Form):
    prefix = "refund"

    refunded_on = JapaneseDateField(label=_("返金日"))


class ConfirmedForm(forms.Form):
    """A form for a step the admin confirms first: the first post shows what
    will happen and acts on nothing; only the confirmation page's button sends
    ``confirmed`` (a page of its own: no script, under the strict CSP)."""

    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)


class VoidForm(ConfirmedForm):
    prefix = "void"

    reason = forms.CharField(
        label=_("無効にする理由"),
        max_length=200,
        help_text=_("無効にした請求書は残り、同じ月の請求書を作り直して発行します。"),
    )


class UndoPaymentForm(ConfirmedForm):
    prefix = "unpay"


class AdjustmentForm(forms.Form):
    prefix = "adjust"

    # No bounds here: the credit's rules are the model's (Adjustment.clean),
    # the same for this page and the Django admin.
    amount_yen = forms.IntegerField(label=_("減額する金額（税込・円）"))
    reason = forms.CharField(label=_("理由"), max_length=200)
    # New for each blank form: the same form sent twice records one credit.
    submission_id = forms.UUIDField(required=False, widget=forms.HiddenInput)
