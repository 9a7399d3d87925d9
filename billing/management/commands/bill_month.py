from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.formats import date_format

from billing.forms import MonthForm
from billing.selectors import unbilled_contracts
from billing.services import bill_month


class Command(BaseCommand):
    help = (
        "月の請求書の下書きを作ります（作り直します）。例: bill_month 2026-10。"
        "--issue を付けると番号を振って発行します。発行済みの請求書は変わりません。"
    )
    # argparse's own "the following arguments are required: month" is English.
    missing_args_message = "請求する月を指定してください（例: bill_month 2026-10）。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("month", help="請求する月（YYYY-MM、日本時間）")
        parser.add_argument(
            "--issue", action="store_true", help="下書きを作ったあと発行する"
        )

    def handle(self, *args, **options) -> None:
        # The billing page's own reading of a month: its format and its range.
        form = MonthForm({"month": options["month"]})
        if not form.is_valid():
            raise CommandError(
                f"{' '.join(form.errors['month'])}（指定された値: {options['month']}）"
            )
        try:
            summary = bill_month(
                month=form.cleaned_data["month"],
                issue=options["issue"],
                progress=lambda message: self.stdout.write(message),
            )
        except ValidationError as error:  # a month not over yet
            raise CommandError(" ".join(error.messages)) from error
        self.stdout.write(
            self.style.SUCCESS(
                f"{date_format(summary.month, 'YEAR_MONTH_FORMAT')}: "
                f"請求 {summary.clients_billed} 件、"
                f"対象外 {summary.clients_skipped} 件"
                f"（うち発行済み {summary.already_issued} 件）、"
                f"合計 {summary.total_yen:,}円、発行 {summary.issued} 件"
            )
        )
        # Those the run could not bill, and, in a month already billed, those
        # whose plan or dates were entered after it: the page's own list.
        for unbilled in unbilled_contracts(month=summary.month):
            self.stdout.write(
                self.style.WARNING(
                    f"請求書のない契約中の顧客: {unbilled.client_name}"
                    f"（{date_format(unbilled.billed_from)} から請求）"
                    f" {unbilled.reason}"
                )
            )
