"""Dates are read year first, as typed in Japan, on every page (clients.dates).

Django's defaults refused 2026/11/01 and read 01/11/2026 as 11 January."""

import datetime as dt

import pytest
from django.urls import reverse

from clients.dates import JapaneseDateField
from clients.models import Client, PlanPrice
from clients.months import japan_today
from tests.factories import PlanFactory
from tests.html_forms import form_values

EXPECTED_FORM = (
    "日付は 2026/11/01（または 2026-11-01、2026年11月1日）のように、"
    "年・月・日の順で入力してください。"
)


@pytest.mark.parametrize(
    "typed",
    [
        "2026/11/01",
        "2026-11-01",
        "2026年11月1日",
        "2026年11月01日",
        "2026/11/1",
        " 2026 / 11 / 01 ",
        "２０２６／１１／０１",
        "２０２６－１１－０１",
        "２０２６年１１月１日",
        "2026ー11ー01",  # the IME's long vowel mark for a hyphen
        "2026ｰ11ｰ01",  # half-width kana mode
    ],
)
def test_year_first_forms_are_read(typed):
    assert JapaneseDateField().clean(typed) == dt.date(2026, 11, 1)


@pytest.mark.parametrize(
    "typed",
    ["01/11/2026", "11/01/2026", "1/11/2026", "01-11-2026", "26/11/01"],
)
def test_day_or_month_first_forms_are_refused_naming_the_expected_form(typed):
    with pytest.raises(Exception) as refused:
        JapaneseDateField().clean(typed)
    assert refused.value.messages == [EXPECTED_FORM]


@pytest.mark.parametrize(
    ("typed", "said"),
    [("2026/02/30", "2026/02/30"), ("２０２６年１３月１日", "2026年13月1日")],
)
def test_a_day_that_does_not_exist_is_named_so(typed, said):
    """2026/02/30 was told to be typed year first, which it was."""
    with pytest.raises(Exception) as refused:
        JapaneseDateField().clean(typed)
    assert refused.value.messages == [f"{said} という日付はありません。"]


def test_an_empty_optional_date_is_none():
    assert JapaneseDateField(required=False).clean("　") is None


def _add_client(admin_client, **fields):
    url = reverse("admin:clients_client_add")
    data = form_values(admin_client.get(url).content.decode(), "client_form")
    data.update(
        {
            "name": "日付入力株式会社",
            "announce_name": "日付入力株式会社でございます",
            "status": "active",
            **fields,
        }
    )
    return admin_client.post(url, data)


@pytest.mark.django_db
def test_the_admin_reads_japanese_dates(admin_client):
    page = _add_client(
        admin_client,
        trial_started_on="2026/01/05",
        contract_started_on="２０２６年１月１５日",
    )
    assert page.status_code == 302
    client = Client.objects.get()
    assert client.trial_started_on == dt.date(2026, 1, 5)
    assert client.contract_started_on == dt.date(2026, 1, 15)


@pytest.mark.django_db
def test_the_admin_refuses_a_day_first_date_and_keeps_it(admin_client):
    page = _add_client(admin_client, contract_started_on="01/11/2026")
    assert page.status_code == 200
    form = page.context["adminform"].form
    assert form.errors["contract_started_on"] == [EXPECTED_FORM]
    assert 'value="01/11/2026"' in page.content.decode()
    assert not Client.objects.exists()


@pytest.mark.django_db
def test_an_admin_inline_row_reads_japanese_dates(admin_client):
    plan = PlanFactory()
    url = reverse("admin:clients_plan_change", args=[plan.pk])
    data = form_values(admin_client.get(url).content.decode(), "plan_form")
    later = japan_today() + dt.timedelta(days=10)
    row = {
        "prices-TOTAL_FORMS": "1",
        "prices-0-monthly_fee_yen": "2960",
        "prices-0-included_calls": "20",
        "prices-0-per_call_yen": "148",
    }
    ambiguous = f"{later.day:02}/{later.month:02}/{later.year}"
    page = admin_client.post(url, {**data, **row, "prices-0-valid_from": ambiguous})
    assert page.status_code == 200
    assert EXPECTED_FORM in page.content.decode()
    assert not PlanPrice.objects.exists()
    typed = f"{later.year}年{later.month}月{later.day}日"
    page = admin_client.post(url, {**data, **row, "prices-0-valid_from": typed})
    assert page.status_code == 302
    assert PlanPrice.objects.get().valid_from == later
