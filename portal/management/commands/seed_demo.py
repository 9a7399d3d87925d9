"""Demo data for a newcomer's laptop: clients in every state on the plans the
migrations made (a free trial, a cancellation), numbers (a FAX line among
them), recipients, a billing address, a few hundred calls over the last two
months (every category, a repeated nuisance caller, silent calls, surcharges,
angry or hurried callers, a correction), open plan, recipient and billing
address requests, two months of invoices (the earlier one issued and paid,
with a credit; last month's drafts to review, one changed since it was built,
and a refund to come), a failed report, and one login per role.

Idempotent: a second run finds what the first one made and adds nothing.
"""

import datetime as dt
import random

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from answering.models import (
    REPORTED_CATEGORIES,
    REQUIRED_OR_REASON,
    Call,
    Category,
    MissingReason,
)
from billing.company import demo_company_settings, own_company_settings
from billing.models import Invoice, InvoiceStatus
from billing.services import add_adjustment, bill_month, mark_paid
from clients.models import (
    Client,
    ClientPerson,
    ClientPlan,
    LentNumber,
    NumberAssignment,
    Plan,
    ReportRecipient,
    User,
)
from clients.months import (
    JST,
    is_answering_day,
    japan_today,
    month_start,
    next_month,
    previous_month,
)
from clients.phones import normalize_phone
from portal.models import (
    BillingEmailChangeRequest,
    CancellationReason,
    CancellationRequest,
    PlanChangeRequest,
    RecipientChangeRequest,
    cancellation_days,
)
from portal.services import (
    request_billing_email_change,
    request_cancellation,
    request_plan_change,
    request_recipient_change,
)
from reporting.models import Delivery
from reporting.services import (
    backoff_seconds,
    queue_call_reports,
    record_correction,
)

# A call's reports are sent within seconds of its save; those of the calls
# logged in the last few minutes are left to the relay `make run` starts.
PENDING_FOR = dt.timedelta(minutes=10)

DEMO_PASSWORD = "demo-pass-2026"
DEMO_LOGINS = [
    ("operator", User.Role.OPERATOR, "オペレーター（受電画面）"),
    ("admin", User.Role.ADMIN, "管理者（管理画面・請求）"),
    ("client", User.Role.CLIENT, "お客様（ポータル）"),
]

CLIENTS = [
    # name, kana, status, plan, channels(email, chatwork), numbers [(number, kind, use)], recipients
    {
        "name": "株式会社さくら不動産",
        "kana": "サクラフドウサン",
        "status": "active",
        "plan": "standard",
        "chatwork": False,
        "own": "03-3211-1001",
        "numbers": [
            ("03-5050-1001", "03", "forwarding"),
            ("03-5050-1002", "03", "listed"),
        ],
        "people": [
            ("佐藤 健", "代表取締役"),
            ("鈴木 花子", "営業部長"),
            ("高橋 誠", "管理部"),
        ],
        "recipients": 5,
        # Where its invoice notices go, instead of the recipients' PC addresses.
        "billing_email": "keiri@sakura-fudosan.example.jp",
        "notes": "賃貸・売買の不動産仲介。物件のお問い合わせは物件名と希望日時を伺う。\n社長（佐藤）宛の営業電話は不要。",
    },
    {
        "name": "山田税理士事務所",
        "kana": "ヤマダゼイリシジムショ",
        "status": "active",
        "plan": "half",
        "chatwork": True,
        "own": "",
        "numbers": [("03-5050-1003", "03", "listed"), ("03-5050-1009", "fax", "fax")],
        "people": [("山田 太郎", "税理士")],
        "recipients": 2,
        "billing_email": "yamada@yamada-zeirishi.example.jp",
        "notes": "確定申告の時期は問い合わせが増える。顧問先からの電話は「山田が折り返します」。",
    },
    {
        "name": "合同会社ミドリ設計",
        "kana": "ミドリセッケイ",
        "status": "active",
        "plan": "small",
        "chatwork": False,
        "own": "06-6123-4567",
        "numbers": [("050-3000-1004", "050", "forwarding")],
        "people": [("緑川 明", "代表")],
        "recipients": 1,
        "notes": "住宅設計事務所。現場に出ていることが多い。",
    },
    {
        "name": "ひまわり整体院",
        "kana": "ヒマワリセイタイイン",
        "status": "trial",
        "plan": "small",
        "chatwork": False,
        "own": "",
        "numbers": [("03-5050-1005", "03", "listed")],
        "people": [("日向 葵", "院長")],
        "recipients": 1,
        "notes": "予約の電話はお名前・希望日時・症状を伺う。",
    },
    {
        "name": "旧・青空商事株式会社",
        "kana": "アオゾラショウジ",
        "status": "cancelled",
        "plan": "small",
        "chatwork": False,
        "own": "",
        "numbers": [],
        "people": [("青木 空", "社長")],
        "recipients": 1,
        "notes": "先月末で解約。",
    },
]

CALLERS = [
    (
        "田中 一郎",
        "田中建設株式会社",
        "090-1111-2222",
        "見積もりの件で折り返しがほしい",
    ),
    ("伊藤 美咲", "", "080-3333-4444", "物件の内覧希望"),
    ("渡辺 大輔", "渡辺商店", "03-6666-7777", "請求書の送付先について"),
    ("小林 由美", "株式会社小林企画", "045-222-3333", "打ち合わせ日程の調整"),
    ("加藤 直樹", "", "070-5555-6666", "先日の件のお礼"),
]


class Command(BaseCommand):
    help = "デモデータを作成します（何度実行しても重複しません）。"

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--force",
            action="store_true",
            help=(
                "DEBUG が無効（本番設定）でも、会社情報がデモ用の値のままなら作成する。"
                "公開されたパスワードの管理者ができます"
            ),
        )

    def handle(self, *args, force: bool = False, **options) -> None:
        own_company = own_company_settings()
        if own_company:
            # Even with --force: its demo invoices would take real invoice
            # numbers, which must run without gaps of meaningless invoices.
            raise CommandError(
                "このサーバーには自社の会社情報（環境変数 "
                f"{'、'.join(own_company)}）が設定されているため、"
                "デモデータは作成しません（--force を付けても同じです）。"
                "デモの請求書が本物の請求書番号を使い、番号に意味のない請求書が"
                "混ざってしまいます。デモは DJANGO_DEBUG を有効にした手元の環境"
                "（make run）で作成してください。"
            )
        if not settings.DEBUG and not force:
            # Run against production by mistake, it would create an admin with
            # the password printed in the README.
            raise CommandError(
                "DJANGO_DEBUG が無効（本番設定）なので、デモデータは作成しません。"
                "デモのログインはパスワードが公開されています。"
                "どうしても作成するときは --force を付けてください。"
            )
        today = japan_today()
        with transaction.atomic():
            plans = self._plans()
            clients = [self._client(spec, plans, today) for spec in CLIENTS]
            # The operators first: they log the calls.
            self._users(clients[0])
            created_calls = self._calls(clients, today)
            self._requests(clients, plans)
        # The month before last issued, but on a server (--force): it still
        # carries the demo company (a real one is refused above), which issuing
        # refuses. Last month's are drafts either way, for the admin to review
        # and issue. Issued invoices are never touched by a rerun.
        issue = not demo_company_settings()
        last_month = previous_month(month_start(today))
        if not Invoice.objects.exists():
            self._invoices(today=today, issue=issue)
        elif not Invoice.objects.filter(billing_month=last_month).exists():
            # A demo kept into a new month: that month's invoices too.
            # That month's drafts too, as the job on the 1st builds them.
            bill_month(month=last_month, today=today)
        self.stdout.write(
            self.style.SUCCESS(
                f"デモデータを用意しました（顧客 {len(clients)} 件、"
                f"新しく追加した受電 {created_calls} 件）。"
            )
        )

    def _plans(self) -> dict[str, Plan]:
        """The plans and prices the migrations made (or an admin entered)."""
        plans = {plan.code: plan for plan in Plan.objects.all()}
        missing = sorted({spec["plan"] for spec in CLIENTS} - plans.keys())
        if missing:
            raise CommandError(
                f"プラン（{'、'.join(missing)}）がありません。"
                "先に manage.py migrate を実行してください。"
            )
        return plans

    def _client(self, spec: dict, plans: dict[str, Plan], today: dt.date) -> Client:
        existing = Client.objects.filter(name=spec["name"]).first()
        if existing:
            return existing
        two_months_ago = previous_month(previous_month(today))
        status = spec["status"]
        started = two_months_ago - dt.timedelta(days=30)
        trial_started = today - dt.timedelta(days=3) if status == "trial" else started
        client = Client.objects.create(
            name=spec["name"],
            name_kana=spec["kana"],
            announce_name=f"{spec['name']}でございます",
            status=status,
            trial_started_on=trial_started,
            contract_started_on=None
            if status == "trial"
            else trial_started + dt.timedelta(days=10),
            # At the end of last month: its final invoice, last month's,
            # returns the deposit.
            cancelled_on=month_start(today) - dt.timedelta(days=1)
            if status == "cancelled"
            else None,
            own_number=_e164(spec["own"]) if spec["own"] else "",
            report_by_email=True,
            report_by_chatwork=spec["chatwork"],
            chatwork_room_id="123456789" if spec["chatwork"] else "",
            operator_notes=spec["notes"],
            billing_email=spec.get("billing_email", ""),
        )
        ClientPlan.objects.create(
            client=client,
            plan=plans[spec["plan"]],
            effective_month=month_start(trial_started),
            requested_at=timezone.now(),
        )
        for order, (person, title) in enumerate(spec["people"]):
            ClientPerson.objects.create(
                client=client, name=person, title=title, display_order=order
            )
        for i in range(spec["recipients"]):
            ReportRecipient.objects.create(
                client=client,
                name=f"報告先{i + 1}",
                pc_email=f"report{i + 1}@client{client.pk}.example.jp",
                mobile_email=f"mobile{i + 1}@client{client.pk}.example.jp"
                if i % 2 == 0
                else "",
                active_from=trial_started,
            )
        for number, kind, use in spec["numbers"]:
            lent, _ = LentNumber.objects.get_or_create(
                number=_e164(number), defaults={"kind": kind}
            )
            NumberAssignment.objects.create(
                number=lent, client=client, use=use, assigned_on=trial_started
            )
        return client

    def _calls(self, clients: list[Client], today: dt.date) -> int:
        """About 300 calls over the last two months, in every category."""
        if Call.objects.exists():
            return 0
        rng = random.Random(2026)  # same demo data on every laptop
        first_day = previous_month(month_start(today))
        now = timezone.now()
        calls = []
        for client in clients:
            count = {"active": 90, "trial": 12, "cancelled": 10}[client.status]
            people = list(client.people.values_list("name", flat=True))
            days = _answering_days(client, first_day, today)
            if not days:
                continue
            for _ in range(count):
                at = dt.time(9 + rng.randrange(9), rng.randrange(60))
                received = dt.datetime.combine(rng.choice(days), at, tzinfo=JST)
                if received > now:  # later today: the same time on an earlier day
                    earlier = [day for day in days if day < today]
                    received = (
                        dt.datetime.combine(rng.choice(earlier), at, tzinfo=JST)
                        if earlier
                        else now
                    )
                category = rng.choices(
                    [Category.NORMAL, Category.SALES, Category.GREY, Category.NUISANCE],
                    weights=[70, 18, 7, 5],
                )[0]
                name, company, number, purpose = rng.choice(CALLERS)
                call = Call(
                    client=client,
                    received_at=received,
                    category=category,
                    caller_number=_e164(number),
                    addressee=rng.choice(people) if people else "",
                )
                if category == Category.SALES:
                    call.note = "営業電話（回線のご案内）"
                elif category == Category.NUISANCE:
                    _silent(call)
                else:
                    call.caller_name, call.caller_company = name, company
                    call.callback_number = _e164(number)
                    call.purpose = purpose
                    call.is_urgent = rng.random() < 0.15
                    if rng.random() < 0.03:
                        call.surcharge_yen = 300
                        call.surcharge_reason = "30分を超える長時間の対応"
                calls.append(call)
        demo = clients[0]
        to_correct = None
        earlier = [
            day for day in _answering_days(demo, first_day, today) if day < today
        ]
        if earlier:
            scripted = _scripted_calls(demo, earlier)
            calls += scripted
            to_correct = scripted[-1]
        # Numbered in the order they were logged, as the console numbers them,
        # and logged by the demo operators in turn.
        calls.sort(key=lambda call: call.received_at)
        operators = list(
            User.objects.filter(role=User.Role.OPERATOR, is_active=True).order_by("pk")
        )
        for n, call in enumerate(calls):
            call.logged_by = operators[n % len(operators)] if operators else None
        Call.objects.bulk_create(calls)
        # Saved a few minutes after it came in ("記録日時"; the insert stamped
        # the time of this run).
        for call in calls:
            call.created_at = min(
                call.received_at + dt.timedelta(seconds=rng.randrange(60, 300)), now
            )
        Call.objects.bulk_update(calls, ["created_at"])
        self._reports(calls, now, rng, demo=demo)
        if to_correct is not None and operators:
            # Its callback number, some minutes after it was logged.
            _correct(
                to_correct,
                by=operators[0],
                changes={"callback_number": _e164("03-6666-7777")},
                at=min(to_correct.created_at + dt.timedelta(minutes=25), now),
            )
        return len(calls)

    def _reports(
        self, calls: list[Call], now: dt.datetime, rng: random.Random, *, demo: Client
    ) -> None:
        """The reports of the calls, queued as the console's save queues them,
        and sent shortly after each call was logged, as the relay sends them.

        Written straight to the rows, not sent: the relay would write two months
        of mail into var/mail. Those of the last few minutes stay pending, for
        the relay that `make run` starts. One report failed, as one sometimes
        does, for the page that lists them: not one of ``demo``, the client whose
        login the demo gives (its portal would open on the warning).
        """
        today = timezone.localdate(now)
        to_fail: Delivery | None = None
        for call in calls:
            deliveries = queue_call_reports(call=call, new_call=True)
            if not deliveries:
                continue  # a sales call
            logged_at = call.created_at
            queued = Delivery.objects.filter(call=call)
            if now - logged_at < PENDING_FOR:
                queued.update(created_at=logged_at, next_attempt_at=logged_at)
                continue
            queued.update(
                created_at=logged_at,
                next_attempt_at=logged_at,
                status=Delivery.Status.SENT,
                attempts=1,
                sent_at=logged_at + dt.timedelta(seconds=rng.randrange(2, 20)),
                provider_message_id=F("message_id"),
            )
            if (
                call.client_id != demo.pk
                and timezone.localdate(call.received_at) < today
            ):
                # The calls come in order: the latest one before today wins.
                for delivery in deliveries:
                    if delivery.channel == Delivery.Channel.EMAIL_MOBILE:
                        to_fail = delivery
        if to_fail is not None:
            # A phone's mailbox was full through every retry.
            retried_for = sum(
                backoff_seconds(n) for n in range(1, settings.REPORT_MAX_ATTEMPTS)
            )
            failed_at = min(
                to_fail.call.created_at + dt.timedelta(seconds=retried_for), now
            )
            Delivery.objects.filter(pk=to_fail.pk).update(
                status=Delivery.Status.FAILED,
                attempts=settings.REPORT_MAX_ATTEMPTS,
                sent_at=None,
                provider_message_id="",
                failed_at=failed_at,
                last_error=f"{timezone.localtime(failed_at):%Y-%m-%d %H:%M:%S} "
                "SMTP 452 (RCPT): 4.2.2 Mailbox full",
            )

    def _invoices(self, *, today: dt.date, issue: bool) -> None:
        """The last two months' invoices, so the portal and the billing pages
        have something to show: those of the month before last issued on the
        2nd of the next month and paid, and a credit against the cancelled
        client's; last month's drafts as the job on the 1st builds them, for an
        admin to review and issue (the cancelled client's final one returns its
        deposit and the credit), one of them with a call corrected since.
        """
        last_month = previous_month(month_start(today))
        earlier = previous_month(last_month)
        bill_month(month=earlier, issue=issue, today=_issue_day(earlier, today))
        if issue:
            for invoice in Invoice.objects.filter(
                billing_month=earlier, status=InvoiceStatus.ISSUED, total_yen__gt=0
            ):
                mark_paid(
                    invoice=invoice,
                    paid_on=_settle_day(invoice, today),
                    today=today,
                )
            corrected = Invoice.objects.filter(
                billing_month=earlier, client__status="cancelled"
            ).first()
            if corrected is not None:
                add_adjustment(
                    invoice=corrected,
                    amount_yen=1000,
                    reason="回線障害で受電できなかった時間帯のおわび",
                    created_by=User.objects.filter(username="admin").first(),
                )
        bill_month(month=last_month, today=today)
        self._correct_after_drafts(last_month)

    def _correct_after_drafts(self, month: dt.date) -> None:
        """A grey-zone call (営業の可能性あり) of 合同会社ミドリ設計, over its
        included calls, found to be a sales call once the month's drafts were
        built: its draft is listed as changed, and issuing the month holds it
        back, built again, for the admin to look at before it goes out."""
        calls = Call.objects.in_month(month).filter(
            client__name="合同会社ミドリ設計", category__in=REPORTED_CATEGORIES
        )
        call = (
            calls.filter(category=Category.GREY).order_by("-received_at").first()
            or calls.order_by("-received_at").first()
        )
        operator = (
            User.objects.filter(role=User.Role.OPERATOR, is_active=True)
            .order_by("pk")
            .first()
        )
        if call is not None and operator is not None:
            _correct(
                call,
                by=operator,
                changes={"category": Category.SALES},
                at=timezone.now(),
            )

    def _requests(self, clients: list[Client], plans: dict[str, Plan]) -> None:
        """One open request of each kind for the admin to process (the admin
        home's 対応待ち), made as the portal makes them: a plan change, a new
        report recipient (the demo client's, shown in its portal), a change of
        billing address, and a cancellation at next month's end."""
        sakura, yamada, midori = clients[0], clients[1], clients[2]
        if not PlanChangeRequest.objects.exists():
            request_plan_change(
                client=midori,
                plan=plans["half"],
                message="毎月20件を超えるので、ハーフプランに変えたいです。",
            )
        if not RecipientChangeRequest.objects.exists():
            request_recipient_change(
                client=sakura,
                kind=RecipientChangeRequest.Kind.ADD,
                name="田村 美紀",
                pc_email="tamura@sakura-fudosan.example.jp",
                message="事務の田村も報告を受け取れるようにしてください。",
                requested_by=User.objects.filter(client=sakura).first(),
            )
        if not BillingEmailChangeRequest.objects.exists():
            request_billing_email_change(
                client=yamada,
                billing_email="keiri@yamada-zeirishi.example.jp",
                message="経理担当あてに送ってください。",
            )
        if not CancellationRequest.objects.exists():
            days = cancellation_days(client=yamada, today=japan_today())
            request_cancellation(
                client=yamada,
                last_day=days[1] if len(days) > 1 else days[0],
                reason=CancellationReason.IN_HOUSE,
                message="事務員を採用したため、電話は社内で受けることにしました。",
            )

    def _users(self, first_client: Client) -> None:
        for username, role, _label in DEMO_LOGINS:
            if User.objects.filter(username=username).exists():
                continue
            user = User(
                username=username,
                role=role,
                client=first_client if role == User.Role.CLIENT else None,
                is_staff=role == User.Role.ADMIN,
                is_superuser=role == User.Role.ADMIN,
                email=f"{username}@example.jp",
            )
            user.set_password(DEMO_PASSWORD)
            user.save()


def _answering_days(
    client: Client, first_day: dt.date, today: dt.date
) -> list[dt.date]:
    """The days the service answered the client's calls since ``first_day``:
    weekdays but national holidays (9:00-18:00), from its first day to its
    last."""
    opened = max(first_day, client.trial_started_on or first_day)
    closed = min(today, client.cancelled_on or today)
    return [
        opened + dt.timedelta(days=n)
        for n in range((closed - opened).days + 1)
        if is_answering_day(opened + dt.timedelta(days=n))
    ]


def _silent(call: Call) -> None:
    """A silent call (無言), as the console's tick logs it: nothing obtained,
    for that reason, on all three."""
    for field in REQUIRED_OR_REASON:
        setattr(call, field, "")
        setattr(call, f"{field}_missing_reason", MissingReason.SILENT)


# One caller who keeps harassing the demo client: the console warns of the
# repeat, the report says "N 件目", the portal and the admin count them.
HARASSER = "080-9999-0101"


def _scripted_calls(client: Client, days: list[dt.date]) -> list[Call]:
    """Calls that show, on the client whose login the demo gives, what random
    ones may miss: a caller's repeated nuisance calls (one silent), a grey-zone
    call, an angry caller in a hurry whose long call carries a surcharge, and a
    call whose callback number is corrected afterwards (the last one)."""

    def at(days_back: int, hour: int, minute: int) -> dt.datetime:
        day = days[max(len(days) - days_back, 0)]
        return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=JST)

    harasser = _e164(HARASSER)
    addressee = client.people.values_list("name", flat=True).first() or ""
    calls = [
        Call(
            client=client,
            received_at=at(6, 11, 5),
            category=Category.NUISANCE,
            caller_number=harasser,
            caller_name_missing_reason=MissingReason.REFUSED,
            callback_number_missing_reason=MissingReason.REFUSED,
            purpose="「責任者を出せ」と繰り返し、用件を言わずに切断。",
            is_angry=True,
        ),
        Call(
            client=client,
            received_at=at(4, 15, 40),
            category=Category.NUISANCE,
            caller_number=harasser,
        ),
        Call(
            client=client,
            received_at=at(2, 10, 12),
            category=Category.NUISANCE,
            caller_number=harasser,
            caller_name_missing_reason=MissingReason.REFUSED,
            callback_number_missing_reason=MissingReason.HUNG_UP,
            purpose="社長の帰社時間をしつこく尋ね、お答えできないと伝えると切断。",
            demeanour_note="前回と同じ声",
        ),
        Call(
            client=client,
            received_at=at(3, 14, 20),
            category=Category.GREY,
            caller_number=_e164("03-4567-8901"),
            caller_name="山本 隆",
            caller_company="株式会社日本回線サービス",
            callback_number=_e164("03-4567-8901"),
            purpose="「電話料金の見直しの件で社長と話したい」とのこと。"
            "ご用件の詳細は言わず。",
            addressee=addressee,
        ),
        Call(
            client=client,
            received_at=at(5, 16, 30),
            category=Category.NORMAL,
            caller_number=_e164("090-2468-1357"),
            caller_name="森 和夫",
            callback_number=_e164("090-2468-1357"),
            purpose="入居中の物件の水漏れ。管理会社に連絡がつかないとのこと。",
            addressee=addressee,
            is_urgent=True,
            is_angry=True,
            demeanour_note="管理会社の対応にご立腹",
            surcharge_yen=300,
            surcharge_reason="40分にわたりご立腹のお客様に対応",
        ),
        Call(
            client=client,
            received_at=at(1, 9, 45),
            category=Category.NORMAL,
            caller_number=_e164("03-6666-7777"),
            caller_name="渡辺 大輔",
            caller_company="渡辺商店",
            # One digit slipped; corrected once the operator noticed.
            callback_number=_e164("03-6666-7771"),
            purpose="契約書の控えを送ってほしい",
            addressee=addressee,
            is_troubled=True,
        ),
    ]
    _silent(calls[1])
    return calls


def _correct(call: Call, *, by: User, changes: dict, at: dt.datetime) -> None:
    """Correct the call as the console's correction does (its history, and a
    correction report to the client) at ``at``; the correction's reports
    sent, as the relay sends them."""
    corrected_at = at
    record_correction(call=call, corrected_by=by, changes=changes, now=corrected_at)
    Delivery.objects.filter(call=call, kind=Delivery.Kind.CORRECTION).update(
        created_at=corrected_at,
        next_attempt_at=corrected_at,
        status=Delivery.Status.SENT,
        attempts=1,
        sent_at=corrected_at + dt.timedelta(seconds=5),
        provider_message_id=F("message_id"),
    )


def _issue_day(month: dt.date, today: dt.date) -> dt.date:
    """A month's invoices are issued on the 2nd of the next month."""
    return min(next_month(month) + dt.timedelta(days=1), today)


def _settle_day(invoice: Invoice, today: dt.date) -> dt.date:
    """Paid (or refunded) two weeks after the invoice was issued."""
    assert invoice.issued_on is not None
    return min(invoice.issued_on + dt.timedelta(days=14), today)


def _e164(text: str) -> str:
    return normalize_phone(text)


def demo_logins_text(base_url: str) -> str:
    lines = [
        f"  URL: {base_url}",
        "  デモ用ログイン（パスワードはすべて " + DEMO_PASSWORD + "）:",
    ]
    lines += [f"    {username:<9} {label}" for username, _role, label in DEMO_LOGINS]
    if settings.EMAIL_BACKEND.endswith("filebased.EmailBackend"):
        lines.append(
            f"  送信した報告メールはここに保存されます: {settings.EMAIL_FILE_PATH}"
        )
    if settings.CHATWORK_FILE_PATH and not settings.CHATWORK_API_TOKEN:
        lines.append(
            f"  Chatworkへの報告はここに保存されます: {settings.CHATWORK_FILE_PATH}"
        )
    return "\n".join(lines)
