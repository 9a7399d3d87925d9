import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from answering.models import Call, Category
from clients.models import Client, LentNumber, NumberAssignment, Plan, PlanPrice, User
from clients.months import JST, is_answering_day

# The plans the migrations make on every database (the tests run without them).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_company", "plans")]


def _counts():
    return {
        model.__name__: model.objects.count()
        for model in (Plan, Client, LentNumber, User, Call)
    }


def test_seed_demo_is_idempotent_and_covers_every_state():
    call_command("seed_demo", force=True, verbosity=0)
    first = _counts()
    call_command("seed_demo", force=True, verbosity=0)
    assert _counts() == first
    assert {p.code for p in Plan.objects.all()} == {"small", "half", "standard"}
    assert set(Client.objects.values_list("status", flat=True)) == {
        "trial",
        "active",
        "cancelled",
    }
    assert set(Call.objects.values_list("category", flat=True)) == set(Category.values)
    assert Call.objects.count() >= 200
    assert max(c.recipients.count() for c in Client.objects.all()) == 5
    assert set(User.objects.values_list("role", flat=True)) == {
        "operator",
        "admin",
        "client",
    }
    # Lent as the admin's action would: listed use only on Tokyo 03 numbers.
    assert set(
        NumberAssignment.objects.filter(use="listed").values_list(
            "number__kind", flat=True
        )
    ) == {"03"}
    small = Plan.objects.get(code="small").prices.order_by("-valid_from").first()
    assert (small.monthly_fee_yen, small.included_calls, small.per_call_yen) == (
        2960,
        20,
        148,
    )


def test_demo_logins_work(client):
    call_command("seed_demo", force=True, verbosity=0)
    for username in ("operator", "admin", "client"):
        client.logout()
        page = client.post(
            reverse("login"),
            {"username": username, "password": "demo-pass-2026"},
            REMOTE_ADDR="127.0.0.1",
        )
        assert page.status_code == 302, username


def test_login_page_is_japanese_and_home_needs_login(client):
    assert "ログイン" in client.get(reverse("login")).content.decode()
    assert client.get(reverse("home")).url.startswith(reverse("login"))


def test_repeated_failures_lock_the_login(client, settings):
    call_command("seed_demo", force=True, verbosity=0)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(
            reverse("login"),
            {"username": "operator", "password": "wrong"},
            REMOTE_ADDR="10.0.0.9",
        )
    locked = client.post(
        reverse("login"),
        {"username": "operator", "password": "demo-pass-2026"},
        REMOTE_ADDR="10.0.0.9",
    )
    assert locked.status_code == 429
    assert "停止" in locked.content.decode()


def test_seed_demo_refuses_production_settings_unless_forced(settings):
    """Run on a server by mistake, it would create an admin whose password is
    in the README."""
    settings.DEBUG = False
    with pytest.raises(CommandError, match="--force"):
        call_command("seed_demo", verbosity=0)
    assert not User.objects.exists()
    settings.DEBUG = True
    call_command("seed_demo", verbosity=0)
    assert User.objects.filter(username="admin").exists()


def test_demo_calls_come_when_the_service_answers():
    """Weekdays 9:00-18:00 but national holidays, and not before a client's
    first day (a trial that began three days ago has no calls before it)."""
    call_command("seed_demo", force=True, verbosity=0)
    now = timezone.now()
    for call in Call.objects.select_related("client"):
        received = timezone.localtime(call.received_at, JST)
        assert is_answering_day(received.date()), received
        assert 9 <= received.hour < 18, received
        assert received <= now
        assert received.date() >= call.client.trial_started_on, received
    trial = Client.objects.get(status="trial")
    assert trial.calls.exists()


def test_seed_demo_without_plans_asks_for_the_migrations():
    """The demo uses the plans the migrations make; it keeps no prices of its own."""
    PlanPrice.objects.all().delete()
    Plan.objects.all().delete()
    with pytest.raises(CommandError, match="先に manage.py migrate を実行してください"):
        call_command("seed_demo", force=True, verbosity=0)
    assert not Client.objects.exists()
