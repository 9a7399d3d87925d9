from django.urls import reverse

from tests.factories import CallFactory


def test_calls_are_logged_in_the_console_not_added_in_the_admin(admin_client):
    # The admin would skip the received-time check and the client's reports.
    CallFactory()
    page = admin_client.get(reverse("admin:answering_call_changelist"))
    assert page.status_code == 200
    assert reverse("admin:answering_call_add") not in page.content.decode()
    assert admin_client.get(reverse("admin:answering_call_add")).status_code == 403
