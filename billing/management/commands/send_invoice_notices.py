import datetime as dt

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from billing.services import send_invoice_notices
from clients.models import is_plausible_date
from clients.months import JST


def _parse_now(value: str) -> dt.datetime:
    """An ISO 8601 date-time; one without an offset is Japan time, as every
    date the office types is."""
    try:
        now = dt.datetime.fromisoformat(value)
    except ValueError:
        now = None
    if now is None or not is_plausible_date(now.date()):
        raise CommandError(
            f"--now は日時（例: 2026-11-10T09:00、日本時間）で指定してください: {value}"
        )
    return timezone.make_aware(now, JST) if timezone.is_naive(now) else now


class Command(BaseCommand):
    @property
    def help(self) -> str:  # type: ignore[override]
        # The day in force, not only the setting's name.
        return (
            "発行済みでまだお知らせしていない請求書を、顧客の請求書送付先メール"
            "アドレス（未設定なら報告先のPCアドレス）にメールでお知らせします。"
            f"発行した月の{settings.INVOICE_NOTICE_DAY}日（INVOICE_NOTICE_DAY で設定）"
            "以降（それより前の月に発行したものはすぐ）に送ります。毎日実行され、"
            "送信に失敗したものは翌日に再送します。2回実行しても二重には送りません。"
        )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--now",
            help=(
                "この日時に実行したものとして送る（ISO 8601、例: 2026-11-10T09:00。"
                "時差の指定がなければ日本時間）。省略時は現在日時"
            ),
        )

    def handle(self, *args, **options) -> None:
        now = None if options["now"] is None else _parse_now(options["now"])
        summary = send_invoice_notices(
            now=now, progress=lambda line: self.stdout.write(line)
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"送信 {len(summary.sent)} 件、送信失敗 {len(summary.failed)} 件"
                f"（次回再送）、宛先なし {len(summary.no_address)} 件"
            )
        )
        for label in summary.no_address:
            self.stdout.write(
                self.style.WARNING(
                    f"宛先なし: {label}（請求書送付先メールアドレスも、"
                    "報告先のPCアドレスもありません）"
                )
            )
        for line in summary.failed:
            self.stdout.write(self.style.WARNING(f"送信失敗: {line}"))
