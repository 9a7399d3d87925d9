"""Admin lists of the tables that grow by the million (calls, deliveries).

Django's list counts its rows exactly: COUNT(*) over the whole table for the
unfiltered list, read row by row on PostgreSQL (about half a second at
1,000,000 calls, and the deliveries are three times as many), and a second
count of the unfiltered table beside a filtered one ("10 件 (全1,000,000件)"); and the
date drill-down's years (or a year's months) are SELECT DISTINCT over every row
(over a second at 1,000,000 calls).
"""

import copy
import datetime as dt

from django.contrib.admin.templatetags.admin_list import date_hierarchy
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Max, Min, Q, QuerySet
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.text import smart_split, unescape_string_literal
from django.utils.translation import gettext as _

from clients.models import Client
from clients.selectors import width_variants

# Below this many rows an exact count is quick: the estimate is not used.
EXACT_COUNT_BELOW = 10_000
# From this row on, a page's rows are found by their keys first (page()).
KEYS_FIRST_FROM = 10_000
# From this many rows on, the date drill-down looks up each period
# (date_drilldown).
PERIODS_LOOKED_UP_FROM = 10_000


def _rounded(count: int) -> int:
    """To three significant digits: 999,872 reads 約1,000,000件."""
    digits = len(str(count))
    return round(count, 3 - digits) if digits > 3 else count


def table_row_estimate(queryset: QuerySet) -> int | None:
    """The rows of ``queryset``'s table as PostgreSQL's statistics have them
    (pg_class.reltuples, which ANALYZE and autovacuum keep), when
    ``queryset`` is the whole table; None when it is filtered, or on another
    database, or when the table was never analysed."""
    query = queryset.query
    if query.where or query.distinct or query.combinator or query.is_sliced:
        return None
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None  # SQLite (the embedded default) counts quickly enough
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples FROM pg_class WHERE oid = to_regclass(%s)",
            [connection.ops.quote_name(queryset.model._meta.db_table)],
        )
        row = cursor.fetchone()
    if row is None or row[0] < 0:  # -1: never analysed
        return None
    return int(row[0])


class EstimatedCountPaginator(Paginator):
    """Counts the unfiltered list of a big table from the table's statistics,
    exactly otherwise (a filter, a search, a small table, SQLite). A page
    beyond the real last one shows no rows; one the estimate falls short of
    is reached with a filter."""

    estimated = False

    @cached_property
    def count(self) -> int:
        estimate = None
        if isinstance(self.object_list, QuerySet):
            estimate = table_row_estimate(self.object_list)
        if estimate is None or estimate < EXACT_COUNT_BELOW:
            return super().count
        self.estimated = True
        return _rounded(estimate)

    def page(self, number):  # type: ignore[no-untyped-def]
        # A far page (?p=5000) read and threw away every row before it
        # (OFFSET): over a second at 1,000,000 calls. Its keys alone, in the
        # list's order, come from an index that holds them (call_received_at,
        # delivery_created) without reading the rows; then its rows by key.
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        if bottom < KEYS_FIRST_FROM or not isinstance(self.object_list, QuerySet):
            return super().page(number)
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        keys = list(self.object_list.values_list("pk", flat=True)[bottom:top])
        return self._get_page(self.object_list.filter(pk__in=keys), number, self)

    @property
    def estimate_label(self) -> str:
        """The estimated count as the list says it: 約1,000,000件."""
        return _("約%(count)s件") % {"count": f"{self.count:,}"}


class BigTableAdminMixin:
    """For the admin of a table that grows by the million: the unfiltered list
    is counted from the statistics (labelled as approximate), a filtered list
    is not counted a second time without its filter, and the date drill-down
    finds its years and months through the index."""

    paginator = EstimatedCountPaginator
    show_full_result_count = False
    change_list_template = "admin/big_table_change_list.html"

    def get_changelist_instance(self, request):  # type: ignore[no-untyped-def]
        cl = super().get_changelist_instance(request)  # type: ignore[misc]
        # Read by the template's drill-down.
        cl.date_drilldown = date_drilldown(cl) if cl.date_hierarchy else {}
        return cl


class _PeriodsWithRows:
    """The list's rows as Django's date drill-down reads them (its
    ``cl.queryset``), but the years, or a year's months, that hold rows are
    found by one look-up per period between the first and the last row, each
    served by the index on the date, instead of SELECT DISTINCT over every
    row. The same periods, in the same order; a month's days as Django finds
    them (one month's rows)."""

    def __init__(self, queryset: QuerySet) -> None:
        self._queryset = queryset
        self._span: dict | None = None

    def aggregate(self, **kwargs):  # type: ignore[no-untyped-def]
        # Django's first and last row, which _periods needs too.
        self._span = self._queryset.aggregate(**kwargs)
        return self._span

    def dates(self, field_name: str, kind: str) -> list:
        return self._periods(field_name, kind, aware=False)

    def datetimes(self, field_name: str, kind: str) -> list:
        return self._periods(field_name, kind, aware=True)

    def _periods(self, field_name: str, kind: str, *, aware: bool) -> list:
        queryset = self._queryset
        if kind not in ("year", "month"):
            method = queryset.datetimes if aware else queryset.dates
            return list(method(field_name, kind))
        span = self._span or queryset.aggregate(
            first=Min(field_name), last=Max(field_name)
        )
        if span["first"] is None:
            return []
        first, last = span["first"], span["last"]
        if aware:
            first, last = timezone.localtime(first), timezone.localtime(last)
        if kind == "year":
            starts = [(year, 1) for year in range(first.year, last.year + 1)]
        else:  # the months of one year (the drill-down's ?...__year=)
            starts = [
                (first.year, month) for month in range(first.month, last.month + 1)
            ]
        found = []
        for year, month in starts:
            lookups = {f"{field_name}__year": year}
            if kind == "month":
                lookups[f"{field_name}__month"] = month
            # The first row by the date, not any row (EXISTS): PostgreSQL
            # took EXISTS as a scan of the table until a row of that year
            # turned up, half of it for a year in the middle.
            in_period = queryset.filter(**lookups).order_by(field_name)
            if in_period.values_list(field_name, flat=True)[:1]:
                start = dt.date(year, month, 1)
                if aware:
                    start = dt.datetime(
                        year, month, 1, tzinfo=timezone.get_current_timezone()
                    )
                found.append(start)
        return found


def date_drilldown(cl) -> dict:  # type: ignore[no-untyped-def]
    """Django's date drill-down (the context of admin/date_hierarchy.html),
    its periods found as _PeriodsWithRows finds them when the list is long.
    A short one (a search, a client's month) is read once by Django's
    DISTINCT, where each period's look-up would repeat its search."""
    if not cl.paginator.estimated and cl.result_count < PERIODS_LOOKED_UP_FROM:
        return date_hierarchy(cl)
    shown = copy.copy(cl)
    shown.queryset = _PeriodsWithRows(cl.queryset)
    return date_hierarchy(shown)


def search_words(search_term: str) -> list[str]:
    """The words of an admin search, as Django's own search splits them
    ("山田 商事" is two words, '"山田 商事"' one)."""
    words = []
    for bit in smart_split(search_term):
        if len(bit) > 1 and bit[0] in "\"'" and bit[-1] == bit[0]:
            bit = unescape_string_literal(bit)
        words.append(bit)
    return words


def of_clients_named(word: str) -> Q:
    """Rows of the clients whose name holds ``word`` (in any width): the
    clients are found first, so that the rows are found by an index starting
    with the client instead of a join read for every row. Django's search of
    ``client__name`` was UPPER(name) LIKE, joined to each row."""
    client_ids = list(
        Client.objects.filter(name__icontains_any=width_variants(word)).values_list(
            "pk", flat=True
        )
    )
    return Q(client_id__in=client_ids) if client_ids else Q(pk__in=[])
