from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from clients.dates import format_day
from reporting.services import erase_old_personal_data


class Command(BaseCommand):
    @property
    def help(self) -> str:  # type: ignore[override]
        # The period in force, not only the setting's name: the admin must
        # know what is about to be erased before running it.
        return (
            f"保存期間（{settings.CALLER_DATA_RETENTION_MONTHS}か月。"
            "CALLER_DATA_RETENTION_MONTHS で設定）を過ぎた受電の発信者情報"
            "（お名前・電話番号・用件など）と、それを含む報告本文を消去します。"
            "元には戻せません。"
        )

    def handle(self, *args, **options) -> None:
        result = erase_old_personal_data(
            progress=lambda message: self.stdout.write(message)
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"{format_day(timezone.localdate(result.before))} より前の受電（保存期間 "
                f"{settings.CALLER_DATA_RETENTION_MONTHS} か月）: "
                f"受電 {result.calls:,} 件、報告 {result.deliveries:,} 件の個人情報を消去しました。"
            )
        )
