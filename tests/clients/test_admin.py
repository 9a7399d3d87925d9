import datetime as dt

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clients import services
from clients.models import Client, LentNumber, NumberAssignment, User
from clients.months import (
    japan_today,
    month_bounds,
    month_end,
    month_start,
    next_month,
)
from clients.services import release_number, start_plan
from tests.dates import ja_day
from tests.factories import (
    CallFactory,
    ClientFactory,
    ClientPlanFactory,
    LentNumberFactory,
    NumberAssignmentFactory,
    OperatorFactory,
    ReportRecipientFactory,
    history_since_2025,
    switch_reports,
)
from tests.html_forms import form_values

pytestmark = pytest.mark.django_db
CHANGELIST = "admin:clients_client_changelist"


def _action(admin_client, action, clients, **extra):
    data = {"action": action, "_selected_action": [c.pk for c in clients], **extra}
    return admin_client.post(reverse(CHANGELIST), data, follow=True)


def test_plan_change_action_shows_the_effective_month_before_applying(
    admin_client, plans
):
    client = ClientFactory()
    start_plan(client=client, plan=plans["small"], first_month=dt.date(2025, 1, 1))
    page = _action(admin_client, "schedule_plan_change", [client])
    effective = next_month(japan_today())
    assert f"{effective.year}年{effective.month}月".encode() in page.content
    assert client.plan_history.count() == 1  # nothing changed yet

    done = _action(
        admin_client, "schedule_plan_change", [client], plan=plans["half"].pk, apply=1
    )
    text = done.content.decode()
    assert "ハーフ" in text and f"{effective.year}年{effective.month}月" in text
    assert client.plan_history.get(effective_month=effective).plan == plans["half"]


@pytest.mark.parametrize("first_plan", [False, True])
def test_plan_change_action_refuses_a_plan_with_no_price_from_that_month(
    admin_client, plans, first_plan
):
    """Billing cannot price a month on a plan with no price: the admin is told
    which price to register, and nothing is registered."""
    client = ClientFactory(name="料金待ち商事")
    if not first_plan:
        start_plan(client=client, plan=plans["small"], first_month=dt.date(2025, 1, 1))
    effective = next_month(japan_today())
    # The first plan is billed from the contract's first day (2025-01-11).
    day = dt.date(2025, 1, 11) if first_plan else effective
    plans["half"].prices.update(valid_from=next_month(effective))

    done = _action(
        admin_client, "schedule_plan_change", [client], plan=plans["half"].pk, apply=1
    )

    text = done.content.decode()
    assert (
        f"料金待ち商事: 「ハーフ」には {day.year}年{day.month}月{day.day}日 に"
        "適用される料金がないため、登録できません。" in text
    )
    assert not client.plan_history.filter(plan=plans["half"]).exists()


def test_plan_change_action_warns_on_a_third_change_in_twelve_months(
    admin_client, plans
):
    client = ClientFactory()
    start_plan(client=client, plan=plans["small"], first_month=dt.date(2024, 1, 1))
    # small -> half -> small: two changes; the one about to be made is the third.
    for months_ago, plan in ((4, plans["half"]), (2, plans["small"])):
        client.plan_history.create(
            plan=plan,
            effective_month=dt.date(2025, 12 - months_ago, 1),
            requested_at=timezone.now() - dt.timedelta(days=30 * months_ago),
        )
    page = _action(admin_client, "schedule_plan_change", [client])
    assert "12か月に3回以上" in page.content.decode()
    done = _action(
        admin_client, "schedule_plan_change", [client], plan=plans["half"].pk, apply=1
    )
    assert "ご遠慮" in done.content.decode()


def test_assign_number_action_lends_and_shows_the_extra_fee(admin_client):
    client = ClientFactory()
    NumberAssignmentFactory(client=client, assigned_on=dt.date(2025, 1, 1))
    number = LentNumberFactory()
    page = _action(
        admin_client,
        "assign_number",
        [client],
        number=number.pk,
        use="listed",
        assigned_on=japan_today().isoformat(),
        apply=1,
    )
    text = page.content.decode()
    assert "貸し出しました" in text
    assert "1,100" in text
    assert number.assignments.current().get().client == client


def _offered_numbers(page) -> list[str]:
    html = page.content.decode()
    select = html[html.index('name="number"') : html.index("</select>")]
    return [
        option.split(">", 1)[1].split("<", 1)[0]
        for option in select.split("<option")[1:]
        if 'value=""' not in option
    ]


def test_the_lend_page_offers_only_the_numbers_free_today(admin_client, settings):
    """The admin picks from the pool: numbers other clients hold, and those
    resting after their return, are not offered (they looked alike and were
    refused only once chosen); each says its kind."""
    settings.NUMBER_QUARANTINE_DAYS = 90
    today = japan_today()
    free_03 = LentNumberFactory(number="+81355550001", kind=LentNumber.Kind.TOKYO_03)
    free_050 = LentNumberFactory(number="+815055550002", kind=LentNumber.Kind.IP_050)
    held = LentNumberFactory(number="+81355550003")
    NumberAssignmentFactory(number=held, client=ClientFactory(name="先客"))
    resting = LentNumberFactory(number="+81355550004")
    rested = LentNumberFactory(number="+81355550005")
    for number, days_ago in [(resting, 90), (rested, 91)]:
        release_number(
            assignment=NumberAssignmentFactory(
                number=number, assigned_on=dt.date(2025, 1, 1)
            ),
            released_on=today - dt.timedelta(days=days_ago),
            today=today - dt.timedelta(days=days_ago),
        )
    assert services.quarantine_ends_on(resting) == today + dt.timedelta(days=1)
    assert services.quarantine_ends_on(rested) == today

    page = _action(admin_client, "assign_number", [ClientFactory()])

    assert _offered_numbers(page) == [
        f"{free_03.display}（東京03番号）",
        f"{rested.display}（東京03番号）",
        f"{free_050.display}（050番号）",
    ]


def test_the_lend_page_says_when_no_number_is_free(admin_client):
    NumberAssignmentFactory(client=ClientFactory(name="先客"))
    page = _action(admin_client, "assign_number", [ClientFactory()])
    assert _offered_numbers(page) == []
    assert "貸し出せる番号がありません（すべて貸出中か休止中です）。" in (
        page.content.decode()
    )


@pytest.mark.parametrize(
    "state", ["other_client", "second_use", "quarantine", "listed_050"]
)
def test_assign_number_action_refuses_with_a_clear_message(admin_client, state):
    client = ClientFactory(name="申込者")
    number = LentNumberFactory()
    today = japan_today()
    if state == "listed_050":
        number = LentNumberFactory(number="+815030009002", kind=LentNumber.Kind.IP_050)
        expected = "表記利用（名刺などに自社番号として表記）には東京03番号だけ"
    elif state == "other_client":
        NumberAssignmentFactory(number=number, client=ClientFactory(name="先客"))
        expected = "別の顧客（先客）に貸出中"
    elif state == "second_use":
        NumberAssignmentFactory(number=number, client=client, use="forwarding")
        expected = "2つの用途"
    else:
        held = NumberAssignmentFactory(
            number=number, assigned_on=today - dt.timedelta(days=40)
        )
        release_number(assignment=held, released_on=today - dt.timedelta(days=7))
        expected = "休止期間中"
    page = _action(
        admin_client,
        "assign_number",
        [client],
        number=number.pk,
        use="listed",
        assigned_on=today.isoformat(),
        apply=1,
    )
    assert page.content.decode().count(expected) == 1  # shown once, not twice
    assert not NumberAssignment.objects.filter(
        number=number, client=client, use="listed"
    ).exists()


def _release(admin_client, assignment, **extra):
    return admin_client.post(
        reverse("admin:clients_numberassignment_changelist"),
        {"action": "release_numbers", "_selected_action": [assignment.pk], **extra},
        follow=True,
    )


def test_release_action_asks_the_last_day_then_frees_the_number(admin_client):
    assignment = NumberAssignmentFactory(assigned_on=dt.date(2025, 1, 1))
    page = _release(admin_client, assignment)
    assert "2025年1月1日 から貸出" in page.content.decode()
    assert form_values(page.content.decode(), "release-form")["released_on"] == str(
        japan_today()
    )
    assignment.refresh_from_db()
    assert assignment.released_on is None  # nothing done before the date is confirmed

    # A month-end return processed on the following days: dated back.
    yesterday = japan_today() - dt.timedelta(days=1)
    page = _release(
        admin_client, assignment, released_on=yesterday.isoformat(), apply=1
    )
    assert f"{ja_day(yesterday)} 付けで返却しました" in page.content.decode()
    assignment.refresh_from_db()
    assert assignment.released_on == yesterday


@pytest.mark.parametrize(
    ("days_from_today", "expected"),
    [(1, "未来の日付は入れられません"), (-8, "さかのぼれるのは7日前までです")],
)
def test_release_action_refuses_a_future_or_far_past_day(
    admin_client, days_from_today, expected
):
    assignment = NumberAssignmentFactory(assigned_on=dt.date(2025, 1, 1))
    day = japan_today() + dt.timedelta(days=days_from_today)
    page = _release(admin_client, assignment, released_on=day.isoformat(), apply=1)
    assert expected in page.content.decode()
    assignment.refresh_from_db()
    assert assignment.released_on is None


def test_client_page_shows_fee_effects_of_extra_numbers_and_recipients(admin_client):
    client = ClientFactory()
    for _ in range(2):
        NumberAssignmentFactory(client=client, assigned_on=dt.date(2025, 1, 1))
    for _ in range(5):
        ReportRecipientFactory(client=client, active_from=dt.date(2025, 1, 1))
    page = admin_client.get(reverse("admin:clients_client_change", args=[client.pk]))
    text = page.content.decode()
    assert "追加 1 件 × 1,100円 = 1,100円" in text
    assert "追加 2 名 × 210円 = 420円" in text
    assert "1,520円" in text


def _billed(client, month: dt.date):
    """The client's invoice for ``month`` as billing makes it, or None."""
    from billing.models import Invoice
    from billing.services import bill_month

    bill_month(month=month, today=next_month(month))
    return Invoice.objects.filter(client=client, billing_month=month).first()


def _extra_lines_yen(invoice) -> int:
    """What an invoice charges for extra numbers and recipients."""
    from billing.models import LineKind

    return sum(
        line.amount_yen
        for line in invoice.lines.filter(
            kind__in=[LineKind.EXTRA_NUMBER, LineKind.EXTRA_RECIPIENTS]
        )
    )


def test_the_fee_effects_leave_out_the_free_trial_as_the_invoice_does(
    admin_client, plans
):
    """A number returned and two recipients ended during the free trial were
    counted as billed: 1,520円 a month shown, while the invoice charged none."""
    month = month_start(japan_today())
    trial_end = month + dt.timedelta(days=4)  # within the 10-day trial
    client = ClientFactory(trial_started_on=month, contract_started_on=month)
    start_plan(client=client, plan=plans["small"], first_month=month)
    NumberAssignmentFactory(client=client, assigned_on=month)
    NumberAssignmentFactory(client=client, assigned_on=month, released_on=trial_end)
    for ended in (None, None, None, trial_end, trial_end):
        ReportRecipientFactory(client=client, active_from=month, active_to=ended)

    page = admin_client.get(reverse("admin:clients_client_change", args=[client.pk]))

    text = page.content.decode()
    assert "番号 1 件（基本料金に含む電話番号 1 件、追加 0 件" in text
    assert "報告先 最大 3 名（3名まで無料、追加 0 名" in text
    assert "追加料金の合計: 0円／月" in text
    first_billed = month + dt.timedelta(days=10)
    assert f"{ja_day(first_billed)} からの請求分" in text
    assert _extra_lines_yen(_billed(client, month)) == 0


@pytest.mark.parametrize(
    ("uses", "expected"),
    [
        # The included number is a phone number: a FAX alone is charged.
        (
            ["fax"],
            "番号 1 件（基本料金に含む電話番号 0 件、追加 1 件 × 1,100円 = 1,100円）",
        ),
        (
            ["forwarding", "fax"],
            "番号 2 件（基本料金に含む電話番号 1 件、追加 1 件 × 1,100円 = 1,100円）",
        ),
    ],
    ids=["fax-only", "phone-and-fax"],
)
def test_the_fee_effects_of_a_fax_number_say_what_the_invoice_charges(
    admin_client, plans, uses, expected
):
    """A client whose only number was a FAX read 「1件は基本料金に含む」 while
    its invoice charged the FAX 1,100円."""
    month = month_start(japan_today())
    client = ClientFactory()
    start_plan(client=client, plan=plans["small"], first_month=dt.date(2025, 1, 1))
    for use in uses:
        NumberAssignmentFactory(
            client=client,
            use=use,
            number__kind=LentNumber.Kind.FAX if use == "fax" else "03",
            assigned_on=dt.date(2025, 1, 1),
        )

    page = admin_client.get(reverse("admin:clients_client_change", args=[client.pk]))

    assert expected in page.content.decode()
    assert _extra_lines_yen(_billed(client, month)) == 1100


def test_the_fee_effects_count_recipients_as_billing_does_after_a_switch(
    admin_client, plans
):
    """Five persons got the reports by e-mail until the client moved to
    Chatwork this month: the month's invoice bills two of them (420円), the
    page counted none, from the setting as it is now."""
    month = month_start(japan_today())
    client = ClientFactory()
    start_plan(client=client, plan=plans["small"], first_month=dt.date(2025, 1, 1))
    for _ in range(5):
        ReportRecipientFactory(client=client, active_from=dt.date(2025, 1, 1))
    history_since_2025(client)
    # Early on the 1st: the 1st went by e-mail.
    switched_at = month_bounds(month)[0] + dt.timedelta(minutes=1)
    switch_reports(client, email=False, at=switched_at)

    page = admin_client.get(reverse("admin:clients_client_change", args=[client.pk]))

    text = page.content.decode()
    assert "報告先 最大 5 名（3名まで無料、追加 2 名 × 210円 = 420円）" in text
    assert _extra_lines_yen(_billed(client, month)) == 420


def test_the_fee_effects_say_nothing_is_billed_in_a_month_all_in_the_trial(
    admin_client,
):
    month = month_start(japan_today())
    trial_start = month_end(month) - dt.timedelta(days=2)
    client = ClientFactory(
        status="trial", trial_started_on=trial_start, contract_started_on=trial_start
    )
    for _ in range(2):
        NumberAssignmentFactory(client=client, assigned_on=trial_start)

    page = admin_client.get(reverse("admin:clients_client_change", args=[client.pk]))

    text = page.content.decode()
    first_billed = trial_start + dt.timedelta(days=10)
    assert (
        f"請求は {ja_day(first_billed)} からです（無料お試し期間・契約開始前のため、"
        "今月の請求はありません）。"
    ) in text
    assert "追加料金の合計" not in text
    assert _billed(client, month) is None


def test_the_fee_block_speaks_english_to_an_english_admin(admin_client):
    client = ClientFactory()
    for _ in range(2):
        NumberAssignmentFactory(client=client, assigned_on=dt.date(2025, 1, 1))
    page = admin_client.get(
        reverse("admin:clients_client_change", args=[client.pk]),
        HTTP_ACCEPT_LANGUAGE="en",
    ).content.decode()
    assert "1 extra × 1,100 yen = 1,100 yen" in page
    assert "Extra charges in total: 1,100 yen/month" in page
    assert "追加料金の合計" not in page


def test_lent_number_form_normalises_and_rejects_bad_numbers(admin_client):
    url = reverse("admin:clients_lentnumber_add")
    bad = admin_client.post(url, {"number": "03-1234", "kind": "03"})
    assert bad.status_code == 200
    assert "有効な電話番号ではありません" in bad.content.decode()
    admin_client.post(url, {"number": "03-1234-5678", "kind": "03"})
    assert LentNumber.objects.get().number == "+81312345678"


def test_admin_pages_are_in_japanese_and_closed_to_operators(
    admin_client, operator_client
):
    page = admin_client.get(reverse(CHANGELIST))
    assert "顧客" in page.content.decode()
    assert operator_client.get(reverse(CHANGELIST)).status_code == 302


def test_a_new_clients_first_plan_bills_its_first_month(admin_client, plans):
    """The only plan action started next month: a contract beginning mid-month
    had no plan for that month and was silently not billed."""
    from billing.models import Invoice
    from billing.services import bill_month

    client = ClientFactory(
        trial_started_on=None, contract_started_on=dt.date(2026, 10, 16)
    )
    page = _action(admin_client, "schedule_plan_change", [client])
    assert "最初のプラン: 2026年10月から" in page.content.decode()
    done = _action(
        admin_client, "schedule_plan_change", [client], plan=plans["small"].pk, apply=1
    )
    assert "最初のプラン「スモール」を 2026年10月 から登録しました。" in (
        done.content.decode()
    )
    assert client.plan_history.get().effective_month == dt.date(2026, 10, 1)
    bill_month(month=dt.date(2026, 10, 1), today=dt.date(2026, 11, 2))
    invoice = Invoice.objects.get(client=client)
    assert invoice.period_start == dt.date(2026, 10, 16)
    assert invoice.lines.get(kind="plan_fee").amount_yen == 2960 * 16 // 31


def test_the_role_decides_who_opens_the_admin_site(admin_client, client):
    """A user created as 管理者 could not open the admin site, and an operator
    could be given it: the admin-site flags now follow the role."""
    url = reverse("admin:clients_user_add")
    admin_client.post(
        url,
        {
            "username": "office2",
            "password1": "Shinjuku-2026-pass",
            "password2": "Shinjuku-2026-pass",
            "role": "admin",
            "usable_password": "true",
        },
    )
    office2 = User.objects.get(username="office2")
    assert (office2.is_staff, office2.is_superuser) == (True, True)
    client.force_login(office2)
    assert client.get(reverse("admin:index")).status_code == 200

    change = reverse("admin:clients_user_change", args=[office2.pk])
    data = form_values(admin_client.get(change).content.decode(), "user_form")
    data.update(role="operator", is_staff="on", is_superuser="on")
    admin_client.post(change, data)
    office2.refresh_from_db()
    assert (office2.role, office2.is_staff, office2.is_superuser) == (
        "operator",
        False,
        False,
    )
    assert client.get(reverse("admin:index")).status_code == 302

    call_command("createsuperuser", "--noinput", username="root2", email="r@example.jp")
    assert User.objects.get(username="root2").role == User.Role.ADMIN


def test_an_english_admin_reads_months_in_english(admin_client, plans):
    client = ClientFactory()
    start_plan(client=client, plan=plans["small"], first_month=dt.date(2025, 1, 1))
    admin_client.cookies.load({"django_language": "en"})
    done = _action(
        admin_client, "schedule_plan_change", [client], plan=plans["half"].pk, apply=1
    )
    effective = next_month(japan_today())
    text = done.content.decode()
    assert f"{effective:%B %Y}" in text
    assert "年" not in text.split("messagelist")[1].split("</ul>")[0]


def test_a_user_is_deactivated_never_deleted(admin_client):
    """Deleting an operator blanked 記録者 on her calls and the 'who' of her
    corrections; unticking 有効 stops her login and keeps them."""
    operator = OperatorFactory()
    CallFactory(logged_by=operator)
    change_url = reverse("admin:clients_user_change", args=[operator.pk])
    page = admin_client.get(change_url).content.decode()
    assert reverse("admin:clients_user_delete", args=[operator.pk]) not in page
    assert (
        admin_client.get(
            reverse("admin:clients_user_delete", args=[operator.pk])
        ).status_code
        == 403
    )
    listing = admin_client.get(reverse("admin:clients_user_changelist"))
    assert "delete_selected" not in listing.content.decode()
    admin_client.post(
        reverse("admin:clients_user_changelist"),
        {"action": "delete_selected", "_selected_action": [operator.pk]},
    )
    assert User.objects.filter(pk=operator.pk).exists()


LISTED_050 = "050番号が表記利用で貸し出されています（表記利用は東京03番号のみ）"


def test_a_050_number_lent_for_listed_use_before_the_rule_is_pointed_out(
    admin_client,
):
    """Lent before listed use was kept to Tokyo 03 numbers: the client's page,
    the number's and the lending's say so and what to do, and the lending is
    left as it is."""
    client = ClientFactory(name="ひなた歯科")
    old = NumberAssignmentFactory(
        client=client,
        use="listed",
        number=LentNumberFactory(number="+815030001005", kind="050"),
        assigned_on=dt.date(2025, 4, 1),
    )
    # Lent as the rules allow, or no longer held: nothing to say.
    NumberAssignmentFactory(client=client, use="listed")
    forwarded = NumberAssignmentFactory(
        client=client,
        number=LentNumberFactory(number="+815030001006", kind="050"),
    )
    returned = NumberAssignmentFactory(
        client=client,
        use="listed",
        number=LentNumberFactory(number="+815030001007", kind="050"),
        released_on=dt.date(2025, 2, 1),
    )

    for url in [
        reverse("admin:clients_client_change", args=[client.pk]),
        reverse("admin:clients_lentnumber_change", args=[old.number.pk]),
        reverse("admin:clients_numberassignment_change", args=[old.pk]),
    ]:
        text = admin_client.get(url).content.decode()
        assert text.count(LISTED_050) == 1, url
        assert "050-3000-1005 → ひなた歯科（2025年4月1日 から）" in text
        assert "東京03番号を表記利用で貸し出し" in text
        assert "この050番号を返却してください" in text
    for url in [
        reverse("admin:clients_lentnumber_change", args=[forwarded.number.pk]),
        reverse("admin:clients_lentnumber_change", args=[returned.number.pk]),
        reverse("admin:clients_numberassignment_change", args=[returned.pk]),
    ]:
        assert LISTED_050 not in admin_client.get(url).content.decode(), url

    # Saving the client's page keeps the lending, and the warning, as they were.
    url = reverse("admin:clients_client_change", args=[client.pk])
    values = form_values(admin_client.get(url).content.decode(), "client_form")
    saved = admin_client.post(
        url, {**values, "operator_notes": "確認済み"}, follow=True
    )
    assert saved.redirect_chain[0][1] == 302
    assert LISTED_050 not in saved.content.decode()  # said on the page, not after it
    old.refresh_from_db()
    assert (old.use, old.released_on) == ("listed", None)
    assert LISTED_050 in admin_client.get(url).content.decode()


def test_a_lent_number_is_returned_from_its_own_page(admin_client):
    """The client's page links each lent number to its page: there the admin
    returns it (swapping a client's number), the date asked first, as the
    list's action does; a page that edits nothing offers no 保存."""
    assignment = NumberAssignmentFactory(assigned_on=dt.date(2025, 1, 1))
    url = reverse("admin:clients_numberassignment_change", args=[assignment.pk])
    html = admin_client.get(url).content.decode()
    assert 'name="_save"' not in html
    button = form_values(html, "release-this-number")

    confirm = admin_client.post(
        reverse("admin:clients_numberassignment_changelist"), button, follow=True
    )
    form = form_values(confirm.content.decode(), "release-form")
    assert "2025年1月1日 から貸出" in confirm.content.decode()
    done = admin_client.post(
        reverse("admin:clients_numberassignment_changelist"), form, follow=True
    )

    assert "付けで返却しました" in done.content.decode()
    assignment.refresh_from_db()
    assert assignment.released_on == japan_today()
    assert 'id="release-this-number"' not in admin_client.get(url).content.decode()


def test_the_number_list_reads_its_holders_with_its_rows(
    admin_client, django_assert_num_queries, settings
):
    """The pool's list says for each number who holds it or until when it
    rests: without a query per row (two each, before), however many rows."""
    settings.NUMBER_QUARANTINE_DAYS = 90
    url = reverse("admin:clients_lentnumber_changelist")
    NumberAssignmentFactory(client=ClientFactory(name="甲社"))
    admin_client.get(url)
    with CaptureQueriesContext(connection) as one_row:
        admin_client.get(url)
    today = japan_today()
    for _ in range(3):
        NumberAssignmentFactory(client=ClientFactory())
    returned = NumberAssignmentFactory(assigned_on=dt.date(2025, 1, 1))
    release_number(assignment=returned, released_on=today, today=today)
    LentNumberFactory()

    with django_assert_num_queries(len(one_row)):
        text = admin_client.get(url).content.decode()

    assert "甲社（転送利用）" in text
    resting = ja_day(today + dt.timedelta(days=91))
    assert f"休止中（{resting} から貸出可）" in text
    assert "空き" in text


def test_the_client_list_reads_each_plan_in_force_with_its_rows(
    admin_client, django_assert_num_queries, plans
):
    """The list's 今月のプラン took a query per client (105 queries for a page
    of 100): it is read with the rows, and is the plan in force this month,
    not a change asked for next month."""
    this_month = month_start(japan_today())
    url = reverse(CHANGELIST)
    ClientPlanFactory(client=ClientFactory(name="甲社"), plan=plans["small"])
    admin_client.get(url)
    with CaptureQueriesContext(connection) as one_client:
        admin_client.get(url)
    changing = ClientFactory(name="乙社")
    ClientPlanFactory(client=changing, plan=plans["half"], effective_month=this_month)
    ClientPlanFactory(
        client=changing, plan=plans["standard"], effective_month=next_month(this_month)
    )
    for _ in range(3):
        ClientPlanFactory(client=ClientFactory(), plan=plans["small"])
    ClientFactory(name="丙社")  # no plan yet

    with django_assert_num_queries(len(one_client)):
        response = admin_client.get(url)

    shown = {
        client.name: client.plan_name_in_force
        for client in response.context["cl"].result_list
    }
    assert shown["甲社"] == plans["small"].name
    assert shown["乙社"] == plans["half"].name
    assert shown["丙社"] is None
    assert "—" in response.content.decode()


HOW_TO_SET_A_PLAN = (
    "プランは、顧客一覧でこの顧客を選び、操作「プラン変更を登録する」で登録します。"
)


def test_a_new_clients_page_says_where_its_plan_is_set(admin_client, plans):
    """The client's page shows its plan but cannot set it: an admin signing a
    client up is told where, until the client has one."""
    add = admin_client.get(reverse("admin:clients_client_add")).content.decode()
    assert f"保存した後に登録します。{HOW_TO_SET_A_PLAN}" in add

    client = ClientFactory()
    url = reverse("admin:clients_client_change", args=[client.pk])
    assert HOW_TO_SET_A_PLAN in admin_client.get(url).content.decode()

    start_plan(client=client, plan=plans["small"], first_month=japan_today())
    page = admin_client.get(url).content.decode()
    assert "今月: スモール / 来月: スモール" in page
    assert HOW_TO_SET_A_PLAN not in page


def _add_client_named(admin_client, name: str):
    url = reverse("admin:clients_client_add")
    data = form_values(admin_client.get(url).content.decode(), "client_form")
    data.update({"name": name, "announce_name": f"{name}でございます"})
    return admin_client.post(url, data, follow=True)


def test_a_client_added_again_under_the_same_name_is_pointed_out(admin_client):
    """Added twice, a client's calls, numbers and invoices split between two
    rows the console lists alike: the admin hears of the first one while the
    new one can still be deleted."""
    first = _add_client_named(admin_client, "株式会社ふたご").content.decode()
    assert "同じ会社名の顧客" not in first
    ClientFactory(name="株式会社ふたご商事")

    again = _add_client_named(admin_client, "株式会社ふたご").content.decode()

    kept = Client.objects.filter(name="株式会社ふたご").order_by("pk").first()
    url = reverse("admin:clients_client_change", args=[kept.pk])
    assert (
        f'同じ会社名の顧客がすでに登録されています（<a href="{url}">株式会社ふたご</a>、'
        "無料お試し中）。二重登録でしたら、いま追加した顧客を削除してください。"
    ) in again
    assert again.count("同じ会社名の顧客") == 1  # not the one only alike


PLAN_CHANGES_WARNING = "注意: 12か月に3回以上の変更です。"


@pytest.mark.parametrize(("changes", "warned"), [(2, False), (3, True)])
def test_the_client_page_warns_of_frequent_plan_changes(
    admin_client, plans, changes, warned
):
    """The page said 直近12か月の変更 18 回 as plainly as 1 回; the plan change
    page warns from the third change in 12 months, and so does this one."""
    client = ClientFactory()
    order = ["small", "half", "standard", "small"]
    for n, code in enumerate(order[: changes + 1]):
        ClientPlanFactory(
            client=client, plan=plans[code], effective_month=dt.date(2026, n + 1, 1)
        )
    url = reverse("admin:clients_client_change", args=[client.pk])

    page = admin_client.get(url).content.decode()

    assert f"直近12か月の変更 {changes} 回" in page
    assert (PLAN_CHANGES_WARNING in page) is warned
