"""The call form shows the client's notices to the operators (written in the
portal): today's prominently beside the name to announce, coming ones small."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from clients.months import japan_today
from tests.factories import CallFactory, ClientFactory, OperatorNoticeFactory

pytestmark = pytest.mark.django_db

NEW = reverse("console:call_new")


def _panel(page: str) -> str:
    return page.split('class="client-panel')[1].split("</section>")[0]


def _notice_boxes(panel: str) -> list[str]:
    return [box.split("</div>")[0] for box in panel.split('class="client-notice"')[1:]]


def test_todays_notice_is_shown_with_its_period_above_the_memo(operator_client, acme):
    acme.operator_notices.all().delete()
    acme.operator_notes = "いつもの応答メモ"
    acme.save()
    today = japan_today()
    OperatorNoticeFactory(
        client=acme,
        text="山田様からのお電話は\n携帯へ転送と伝えてください",
        first_day=today - dt.timedelta(days=1),
        last_day=today + dt.timedelta(days=2),
    )
    page = operator_client.get(f"{NEW}?client={acme.pk}").content.decode()
    panel = _panel(page)
    (box,) = _notice_boxes(panel)
    assert "山田様からのお電話は<br>携帯へ転送と伝えてください" in box
    first, last = today - dt.timedelta(days=1), today + dt.timedelta(days=2)
    assert f"{first.month}/{first.day}（" in box and f"{last.month}/{last.day}（" in box
    # Between the name to announce and the standing memo.
    assert panel.index('id="announce"') < panel.index("client-notice")
    assert panel.index("client-notice") < panel.index("いつもの応答メモ")


def test_expired_withdrawn_and_other_clients_notices_are_not_shown(
    operator_client, acme
):
    today = japan_today()
    OperatorNoticeFactory(
        client=acme,
        text="昨日までの不在",
        first_day=today - dt.timedelta(days=5),
        last_day=today - dt.timedelta(days=1),
    )
    OperatorNoticeFactory(client=acme, text="取り下げた", withdrawn_at=timezone.now())
    OperatorNoticeFactory(client=ClientFactory(), text="他社の不在")
    OperatorNoticeFactory(client=acme, text="今日から不在", first_day=today)
    page = operator_client.get(f"{NEW}?client={acme.pk}").content.decode()
    (box,) = _notice_boxes(_panel(page))
    assert "今日から不在" in box
    assert "client-notices-coming" not in page
    for text in ("昨日までの不在", "取り下げた", "他社の不在"):
        assert text not in page


def test_a_coming_notice_is_in_small_text_not_in_the_box(operator_client, acme):
    start = japan_today() + dt.timedelta(days=4)
    OperatorNoticeFactory(
        client=acme, text="年末年始休業", first_day=start, last_day=start
    )
    panel = _panel(operator_client.get(f"{NEW}?client={acme.pk}").content.decode())
    assert _notice_boxes(panel) == []
    coming = panel.split('class="client-notices-coming"')[1].split("</ul>")[0]
    assert "<small>" in coming and "年末年始休業" in coming
    assert f"予定 {start.month}/{start.day}（" in coming


def test_the_notice_is_escaped(operator_client, acme):
    OperatorNoticeFactory(client=acme, text='<img src=x onerror="alert(1)">')
    page = operator_client.get(f"{NEW}?client={acme.pk}").content.decode()
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page


def test_the_correction_page_shows_todays_notice_too(operator_client, acme):
    OperatorNoticeFactory(client=acme, text="今週は不在")
    call = CallFactory(client=acme)
    page = operator_client.get(reverse("console:call_edit", args=[call.pk]))
    assert "今週は不在" in _notice_boxes(_panel(page.content.decode()))[0]
