from django.core.management.base import BaseCommand

from clients.services import release_numbers_of_ended_contracts


class Command(BaseCommand):
    help = (
        "契約が終了した（解約日を過ぎた）顧客に貸出中のままの番号を、解約日付けで"
        "返却します。返却した番号は休止期間のあと再び貸し出せます。"
    )

    def handle(self, *args, **options) -> None:
        result = release_numbers_of_ended_contracts(
            progress=lambda message: self.stdout.write(message)
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"契約が終了した顧客 {result.clients:,} 件の番号 "
                f"{result.numbers:,} 件を返却しました。"
            )
        )
