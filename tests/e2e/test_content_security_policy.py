"""The main pages of each role in a real browser under the Content-Security-Policy
(config/security_headers.py): any inline script, inline style or resource the
policy refuses fails the test, and the pages' own JavaScript must still work.

The browser reports every refusal as a ``securitypolicyviolation`` event; a
script added to each page before its own passes them to the test.
"""

import pytest

from billing import services as billing_services
from clients.months import japan_today, month_start, previous_month
from config.security_headers import CONTENT_SECURITY_POLICY as POLICY
from tests import factories
from tests.factories import PASSWORD

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (e) => {
  window.reportCspViolation({
    page: document.location.pathname,
    directive: e.effectiveDirective,
    blocked: e.blockedURI,
    sample: e.sample,
    source: e.sourceFile + ":" + e.lineNumber,
  });
});
"""


class Watched:
    """A browser context whose pages report CSP violations into ``violations``."""

    def __init__(self, browser, base_url: str) -> None:
        self.base_url = base_url
        self.violations: list[dict] = []
        self.context = browser.new_context(locale="ja-JP")
        self.context.set_default_timeout(15_000)
        self.context.expose_function("reportCspViolation", self._report)
        self.context.add_init_script(REPORT_VIOLATIONS)
        self.page = self.context.new_page()

    def _report(self, violation: dict) -> None:
        self.violations.append(violation)

    def open(self, path: str, *, status: int = 200):
        response = self.page.goto(f"{self.base_url}{path}")
        assert response.status == status, (path, response.status)
        # Without the header there is nothing to violate and the test proves nothing.
        assert response.headers.get("content-security-policy") == POLICY, path
        return self.page

    def log_in(self, user) -> None:
        page = self.open("/login/")
        page.fill("#id_username", user.username)
        page.fill("#id_password", PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_load_state()
        assert "/login/" not in page.url

    def assert_no_violation(self) -> None:
        # An event is dispatched as a task after the refusal: let the last arrive.
        self.page.wait_for_timeout(300)
        assert self.violations == [], "\n".join(
            f"{v['page']}: {v['directive']} refused {v['blocked']} ({v['source']})"
            for v in self.violations
        )


@pytest.fixture
def watched(browser, live):
    contexts = []

    def _watched(user) -> Watched:
        w = Watched(browser, live["server"].url)
        contexts.append(w.context)
        w.log_in(user)
        return w

    yield _watched
    for context in contexts:
        context.close()


def a_client(**kwargs):
    plans = factories.make_plans()
    client = factories.ClientFactory(**kwargs)
    factories.ClientPlanFactory(client=client, plan=plans["small"])
    return client


def test_operator_console_and_call_form(watched):
    client = a_client(
        name="山田税理士事務所",
        name_kana="ヤマダゼイリシジムショ",
        announce_name="山田税理士事務所でございます",
    )
    call = factories.CallFactory(
        client=client, caller_number="+819011112222", category="nuisance"
    )
    w = watched(factories.OperatorFactory())

    page = w.open("/operator/")
    page.focus("#console-search")
    page.keyboard.insert_text("ヤマダ")
    page.wait_for_selector("#search-results li")
    assert "山田税理士事務所" in page.inner_text("#search-results")

    page = w.open(f"/operator/calls/new?client={client.pk}")
    assert page.inner_text("#announce") == "山田税理士事務所でございます"
    page.fill("#id_callback_number", "09011112222")
    page.press("#id_callback_number", "Tab")  # the read-back comes on blur
    page.wait_for_selector("#callback-check strong")
    assert page.inner_text("#callback-check strong") == "090-1111-2222"
    assert page.is_visible("#callback-check .phone-history")
    assert page.inner_text("#callback-check .nuisance-alert") == (
        "この番号からの過去のいたずら・嫌がらせ電話: 1 件"
    )
    w.open(f"/operator/calls/{call.pk}/edit")
    w.open("/operator/calls/new?dialed=0399999999")  # a number nobody holds

    # An error page: the portal is not the operator's.
    assert "権限がありません" in w.open("/portal/", status=403).inner_text("h1")
    w.assert_no_violation()


def test_client_portal(watched):
    client = a_client(name="白浜デザイン")
    call = factories.CallFactory(client=client, caller_name="佐藤花子")
    billing_services.bill_month(
        month=previous_month(japan_today()), client_ids=[client.pk], issue=True
    )
    w = watched(factories.ClientUserFactory(client=client))

    page = w.open("/portal/")
    assert page.is_visible("meter.usage-meter")
    page = w.open("/portal/calls/")
    assert "佐藤花子" in page.inner_text("table")
    page = w.open("/portal/plan/")
    assert page.is_visible("svg.chart")
    w.open("/portal/invoices/")
    w.open(f"/portal/invoices/{client.invoices.get().pk}/")
    w.open(f"/portal/calls/{call.pk}/")
    w.open("/portal/recipients/")
    w.open("/portal/invoices/billing-email/")
    w.open("/portal/requests/")
    w.open("/portal/cancellation/")
    w.assert_no_violation()


def open_action(w: Watched, changelist: str, pk: int, action: str):
    page = w.open(changelist)
    page.check(f"input[name=_selected_action][value='{pk}']")
    page.select_option("select[name=action]", action)
    page.click("button[name=index]")
    page.wait_for_load_state()
    assert page.is_visible("#content a.cancel-link")  # templates/admin/includes
    return page


def test_admin_billing_and_admin_site(watched):
    client = a_client(name="黒川法律事務所")
    # Plan changes in the last months: the plan change page warns.
    plans = factories.make_plans()
    month = month_start(japan_today())
    for plan in ["half", "small", "half"]:
        month = previous_month(month)
        factories.ClientPlanFactory(
            client=client, plan=plans[plan], effective_month=month
        )
    factories.ReportRecipientFactory(client=client)
    call = factories.CallFactory(client=client)
    assignment = factories.NumberAssignmentFactory(client=client)
    billing_services.bill_month(
        month=previous_month(japan_today()), client_ids=[client.pk], issue=True
    )
    w = watched(factories.AdminFactory())

    w.open("/billing/")
    w.open(f"/billing/clients/{client.pk}/usage/")
    w.open(f"/billing/invoices/{client.invoices.get().pk}/")
    w.open("/reports/failed/")
    w.open(f"/reports/calls/{call.pk}/")

    # The changelist: select-all and the action's confirmation page.
    page = w.open("/admin/clients/client/")
    page.check("#action-toggle")
    assert page.is_checked(f"input[name=_selected_action][value='{client.pk}']")
    page.select_option("select[name=action]", "schedule_plan_change")
    page.click("button[name=index]")
    page.wait_for_load_state()
    assert page.is_visible("#content strong.plan-change-warning")
    # The other confirmation pages of templates/admin/.
    open_action(w, "/admin/clients/client/", client.pk, "assign_number")
    open_action(w, "/admin/clients/numberassignment/", assignment.pk, "release_numbers")

    # The change form: a date widget's calendar, an inline's "add another" row.
    page = w.open(f"/admin/clients/client/{client.pk}/change/")
    page.click("#calendarlink0")
    assert page.is_visible("#calendarbox0")
    page.click("#calendarbox0 .calendar-shortcuts >> text=今日")
    assert page.input_value("#id_trial_started_on") == f"{japan_today():%Y-%m-%d}"
    rows = page.locator("#people-group tbody tr.form-row").count()
    page.click("#people-group .add-row a")
    assert page.locator("#people-group tbody tr.form-row").count() == rows + 1

    # A raw-id field's lookup in its popup window.
    page = w.open("/admin/billing/adjustment/add/")
    with w.context.expect_page() as popup_info:
        page.click("#lookup_id_client")
    popup = popup_info.value
    popup.wait_for_load_state()
    # The popup closes itself on the click, which Playwright's click reports as
    # an error: click from a timer, then wait for the close.
    with popup.expect_event("close"):
        popup.locator(f"#result_list a[href*='/{client.pk}/']").evaluate(
            "(a) => setTimeout(() => a.click())"
        )
    assert page.input_value("#id_client") == str(client.pk)

    # The user form, and a history page.
    w.open(f"/admin/clients/user/{factories.OperatorFactory().pk}/change/")
    w.open(f"/admin/clients/client/{client.pk}/history/")
    w.assert_no_violation()


def test_the_test_sees_a_violation(watched):
    """The watch itself: a page that breaks the policy must fail the check."""
    w = watched(factories.OperatorFactory())
    page = w.open("/operator/")
    page.evaluate(
        "document.body.insertAdjacentHTML('beforeend', '<p style=\"color:red\">x</p>')"
    )
    with pytest.raises(AssertionError, match="/operator/: style-src-attr refused"):
        w.assert_no_violation()
    assert [v["directive"] for v in w.violations] == ["style-src-attr"]
