from django.core.management.base import BaseCommand

from billing.services import send_invoice_notices


class Command(BaseCommand):
    help = (
        "発行済みでまだお知らせしていない請求書を、顧客の報告先（PCアドレス）に"
        "メールでお知らせします。発行した月の INVOICE_NOTICE_DAY 日以降（それより"
        "前の月に発行したものはすぐ）に送ります。毎日実行され、送信に失敗したものは"
        "翌日に再送します。2回実行しても二重には送りません。"
    )

    def handle(self, *args, **options) -> None:
        summary = send_invoice_notices(progress=lambda line: self.stdout.write(line))
        self.stdout.write(
            self.style.SUCCESS(
                f"送信 {len(summary.sent)} 件、送信失敗 {len(summary.failed)} 件"
                f"（次回再送）、宛先なし {len(summary.no_address)} 件"
            )
        )
        for label in summary.no_address:
            self.stdout.write(self.style.WARNING(f"宛先なし: {label}"))
        for line in summary.failed:
            self.stdout.write(self.style.WARNING(f"送信失敗: {line}"))
