import datetime as dt

from django.urls import reverse

from answering.models import Call, CallRevision
from answering.services import correct_call
from tests.factories import CallFactory


def test_calls_are_logged_in_the_console_not_added_in_the_admin(admin_client):
    # The admin would skip the received-time check and the client's reports.
    CallFactory()
    page = admin_client.get(reverse("admin:answering_call_changelist"))
    assert page.status_code == 200
    assert reverse("admin:answering_call_add") not in page.content.decode()
    assert admin_client.get(reverse("admin:answering_call_add")).status_code == 403


def test_calls_and_their_correction_history_cannot_be_deleted_in_the_admin(
    admin_client, admin_user
):
    call = CallFactory()
    revision = correct_call(
        call=call, corrected_by=admin_user, changes={"purpose": "別件"}
    )
    for url in (
        reverse("admin:answering_callrevision_delete", args=[revision.pk]),
        reverse("admin:answering_call_delete", args=[call.pk]),
    ):
        assert admin_client.get(url).status_code == 403
        admin_client.post(url, {"post": "yes"})
    assert CallRevision.objects.filter(pk=revision.pk).exists()
    assert Call.objects.filter(pk=call.pk).exists()


def test_the_call_page_names_the_call_and_its_corrections_in_japan_time(
    admin_client, admin_user
):
    # 16:33 UTC on the 27th is 01:33 on the 28th in Tokyo: the day an office
    # worker would look for.
    call = CallFactory(
        received_at=dt.datetime(2026, 11, 27, 16, 33, tzinfo=dt.UTC),
        caller_name="鈴木一郎",
    )
    revision = correct_call(
        call=call, corrected_by=admin_user, changes={"purpose": "別件"}
    )
    CallRevision.objects.filter(pk=revision.pk).update(
        changed_at=dt.datetime(2026, 11, 27, 16, 34, tzinfo=dt.UTC)
    )

    page = admin_client.get(reverse("admin:answering_call_change", args=[call.pk]))

    html = page.content.decode()
    assert "<title>2026年11月28日 01:33 鈴木一郎様 |" in html
    assert "2026年11月28日 01:33 鈴木一郎様 の訂正（2026年11月28日 01:34）" in html
    assert "2026-11-27" not in html
    assert f">{call.pk} 2026" not in html


def test_the_call_page_shows_corrections_as_the_console_does(admin_client, admin_user):
    call = CallFactory(callback_number="+819011112222")
    revision = correct_call(
        call=call,
        corrected_by=admin_user,
        changes={"callback_number": "+819011112233"},
    )

    for url in (
        reverse("admin:answering_call_change", args=[call.pk]),
        reverse("admin:answering_callrevision_change", args=[revision.pk]),
    ):
        html = admin_client.get(url).content.decode()
        assert "折り返し先 090-1111-2222 → 090-1111-2233" in html
        # The raw JSON of the changes (not the page's hidden row version).
        assert "&quot;callback_number&quot;: [" not in html
        assert "{項目: [旧, 新]}" not in html


def test_a_correction_erased_with_the_callers_details_says_so(admin_client, admin_user):
    call = CallFactory()
    revision = correct_call(
        call=call, corrected_by=admin_user, changes={"purpose": "別件"}
    )
    CallRevision.objects.filter(pk=revision.pk).update(changes={})

    html = admin_client.get(
        reverse("admin:answering_call_change", args=[call.pk])
    ).content.decode()

    assert "保存期間を過ぎたため、この訂正で変えた内容は消去済みです。" in html


def test_the_call_page_shows_phone_numbers_hyphenated(admin_client):
    call = CallFactory(
        dialed_number="+81350501001",
        caller_number="+819011112222",
        callback_number="+819011112233",
    )

    html = admin_client.get(
        reverse("admin:answering_call_change", args=[call.pk])
    ).content.decode()

    for shown in ("03-5050-1001", "090-1111-2222", "090-1111-2233"):
        assert shown in html
    assert "+81" not in html
    assert "E.164" not in html


def test_a_corrected_time_reads_the_japanese_way_on_the_call_page(
    admin_client, admin_user
):
    call = CallFactory(received_at=dt.datetime(2026, 11, 27, 16, 33, tzinfo=dt.UTC))
    correct_call(
        call=call,
        corrected_by=admin_user,
        changes={"received_at": dt.datetime(2026, 11, 27, 16, 5, tzinfo=dt.UTC)},
    )

    html = admin_client.get(
        reverse("admin:answering_call_change", args=[call.pk])
    ).content.decode()

    assert "受電日時 2026年11月28日 01:33 → 2026年11月28日 01:05" in html


def test_the_call_page_shows_a_blank_value_as_the_console_does(admin_client):
    call = CallFactory(caller_company="", addressee="")
    html = admin_client.get(
        reverse("admin:answering_call_change", args=[call.pk])
    ).content.decode()
    assert '<div class="readonly">—</div>' in html
    assert '<div class="readonly">-</div>' not in html


def test_a_withheld_caller_number_reads_the_same_in_the_list_and_on_the_page(
    admin_client,
):
    """The list said — where the call's page said 非通知."""
    call = CallFactory(caller_number="", purpose="非通知の件")
    listed = admin_client.get(
        reverse("admin:answering_call_changelist")
    ).content.decode()
    page = admin_client.get(
        reverse("admin:answering_call_change", args=[call.pk])
    ).content.decode()
    assert '<td class="field-caller_number_shown">非通知</td>' in listed
    assert '<div class="readonly">非通知</div>' in page
