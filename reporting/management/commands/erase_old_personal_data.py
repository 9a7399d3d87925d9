from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from clients.dates import format_day
from reporting.services import count_old_personal_data, erase_old_personal_data


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

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="消去せず、消去される受電と報告の件数だけを表示する",
        )

    def handle(self, *args, **options) -> None:
        if options["dry_run"]:
            result = count_old_personal_data()
            self.stdout.write(
                f"{self._period(result.before)}: "
                f"受電 {result.calls:,} 件、報告 {result.deliveries:,} 件の個人情報が"
                "消去されます（--dry-run のため、何も消去していません）。"
            )
            return
        result = erase_old_personal_data(
            progress=lambda message: self.stdout.write(message)
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"{self._period(result.before)}: "
                f"受電 {result.calls:,} 件、報告 {result.deliveries:,} 件の個人情報を消去しました。"
            )
        )

    @staticmethod
    def _period(before) -> str:  # type: ignore[no-untyped-def]
        return (
            f"{format_day(timezone.localdate(before))} より前の受電（保存期間 "
            f"{settings.CALLER_DATA_RETENTION_MONTHS} か月）"
        )
