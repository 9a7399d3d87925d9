"""factory_boy factories shared by every app's tests."""

import datetime as dt

import factory
from django.utils import timezone

from answering.models import Call, Category
from clients.models import (
    Client,
    ClientPerson,
    ClientPlan,
    LentNumber,
    NumberAssignment,
    OperatorNotice,
    Plan,
    PlanPrice,
    ReportRecipient,
    User,
)
from clients.months import JST, is_answering_day, japan_now

PASSWORD = "test-pass-2026"


class PlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Plan
        django_get_or_create = ["code"]

    code = Plan.Code.SMALL
    name = factory.LazyAttribute(lambda o: str(Plan.Code(o.code).label))
    display_order = factory.LazyAttribute(
        lambda o: [c.value for c in Plan.Code].index(o.code) + 1
    )


class PlanPriceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PlanPrice
        django_get_or_create = ["plan", "valid_from"]

    plan = factory.SubFactory(PlanFactory)
    valid_from = dt.date(2024, 4, 1)
    monthly_fee_yen = 2960
    included_calls = 20
    per_call_yen = 148


# The prices in DOMAIN.md: code -> (fee, included calls, per call over).
CURRENT_PRICES = {
    "small": (2960, 20, 148),
    "half": (5720, 40, 143),
    "standard": (11040, 80, 138),
}


def make_plans() -> dict[str, Plan]:
    """The three plans with today's prices."""
    plans = {}
    for code, (fee, included, per_call) in CURRENT_PRICES.items():
        plan = PlanFactory(code=code)
        PlanPriceFactory(
            plan=plan,
            monthly_fee_yen=fee,
            included_calls=included,
            per_call_yen=per_call,
        )
        plans[code] = plan
    return plans


class ClientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Client

    name = factory.Sequence(lambda n: f"テスト株式会社{n}")
    name_kana = factory.Sequence(lambda n: f"テストカブシキガイシャ{n}")
    announce_name = factory.LazyAttribute(lambda o: f"{o.name}でございます")
    status = Client.Status.ACTIVE
    trial_started_on = dt.date(2025, 1, 1)
    contract_started_on = dt.date(2025, 1, 11)
    report_by_email = True


class ClientPlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ClientPlan

    client = factory.SubFactory(ClientFactory)
    plan = factory.LazyFunction(lambda: make_plans()["small"])
    effective_month = dt.date(2025, 1, 1)
    requested_at = factory.LazyFunction(timezone.now)


class ClientPersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ClientPerson

    client = factory.SubFactory(ClientFactory)
    name = factory.Sequence(lambda n: f"担当者{n}")


class ReportRecipientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ReportRecipient

    client = factory.SubFactory(ClientFactory)
    name = factory.Sequence(lambda n: f"報告先{n}")
    pc_email = factory.Sequence(lambda n: f"pc{n}@example.jp")
    mobile_email = factory.Sequence(lambda n: f"mobile{n}@example.jp")
    active_from = dt.date(2025, 1, 1)


class OperatorNoticeFactory(factory.django.DjangoModelFactory):
    """A notice in force today (Japan time), for a week."""

    class Meta:
        model = OperatorNotice

    client = factory.SubFactory(ClientFactory)
    text = factory.Sequence(lambda n: f"お知らせ{n}: 来週は不在です")
    first_day = factory.LazyFunction(lambda: japan_now().date())
    last_day = factory.LazyAttribute(lambda o: o.first_day + dt.timedelta(days=6))
    written_at = factory.LazyFunction(timezone.now)


class LentNumberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LentNumber

    number = factory.Sequence(lambda n: f"+8135050{n:04d}")
    kind = LentNumber.Kind.TOKYO_03


class NumberAssignmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = NumberAssignment

    number = factory.SubFactory(LentNumberFactory)
    client = factory.SubFactory(ClientFactory)
    use = NumberAssignment.Use.FORWARDING
    assigned_on = dt.date(2025, 1, 1)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    role = User.Role.OPERATOR
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class OperatorFactory(UserFactory):
    role = User.Role.OPERATOR


class AdminFactory(UserFactory):
    role = User.Role.ADMIN
    is_staff = True
    is_superuser = True


class ClientUserFactory(UserFactory):
    role = User.Role.CLIENT
    client = factory.SubFactory(ClientFactory)


class CallFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Call

    client = factory.SubFactory(ClientFactory)
    received_at = factory.LazyFunction(timezone.now)
    category = Category.NORMAL
    caller_name = factory.Sequence(lambda n: f"発信者{n}")
    caller_company = "株式会社サンプル"
    callback_number = "+819012345678"
    caller_number = "+819012345678"
    purpose = "折り返しのお願い"


def silent_calls(
    client: Client, *, count: int, numbers: int, from_: dt.datetime
) -> None:
    """``count`` silent calls (無言, hung up before a callback number was
    asked), a minute apart from ``from_``, from ``numbers`` caller numbers in
    turn."""
    Call.objects.bulk_create(
        Call(
            client=client,
            category=Category.NUISANCE,
            received_at=from_ + dt.timedelta(minutes=i),
            caller_number=f"+8190{i % numbers:08d}",
            caller_name="無言",
            purpose="無言",
            callback_number_missing_reason="hung_up",
        )
        for i in range(count)
    )


def history_since_2025(client: Client) -> None:
    """Date the client's creation in its history back to when it was made."""
    client.history.update(history_date=dt.datetime(2025, 1, 1, tzinfo=JST))


def switch_reports(client: Client, *, email: bool, at: dt.datetime) -> None:
    """The client moves its reports to e-mail (or to Chatwork) at ``at``, as its
    history records it."""
    client.report_by_email, client.report_by_chatwork = email, not email
    client.chatwork_room_id = "" if email else "12345"
    client._history_date = at  # type: ignore[attr-defined]
    client.save()


def answered_at(before: dt.datetime | None = None) -> dt.datetime:
    """The latest minute up to ``before`` (default now) at which the service
    answers calls (weekday, not a holiday, 9:00-17:00 Japan time, leaving a
    margin before 18:00): a received time typed in a test that must not be
    asked about as outside the service's hours."""
    local = japan_now(before).replace(second=0, microsecond=0)
    day = local.date()
    while True:
        if is_answering_day(day):
            opens = dt.datetime.combine(day, dt.time(9, 0), tzinfo=JST)
            candidate = min(local, opens.replace(hour=17))
            if candidate >= opens:
                return candidate
        day -= dt.timedelta(days=1)
