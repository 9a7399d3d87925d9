"""The operator console: find the client, log the call, correct it afterwards.

Each view parses input with a form and calls one answering service; nothing here
talks to the outside world, so a save returns as soon as the call is written.
"""

import datetime as dt
import uuid
from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Model, Prefetch, QuerySet, prefetch_related_objects
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from answering import selectors
from answering.forms import CallForm, DayFilterForm, SearchForm
from answering.models import Call, Category, MissingReason, readable_changes
from clients.access import operator_required
from clients.dates import office_day, office_moment
from clients.models import NOTICE_MAX_OPEN, Client, NumberAssignment, User
from clients.months import japan_today
from clients.phones import format_phone, normalize_phone, try_normalize_phone
from clients.selectors import search_clients
from config.row_ids import parse_row_id
from reporting.selectors import report_status_by_call, report_status_of
from reporting.services import record_call, record_correction

SEARCH_LIMIT = 10
# A row of calls shows this much of a call's 用件 (the console's rows are narrow).
PURPOSE_PREVIEW_CHARS = 40
_M = TypeVar("_M", bound=Model)


def _user(request: HttpRequest) -> User:
    # operator_required has already turned anonymous users away.
    assert isinstance(request.user, User)
    return request.user


def _by_id(rows: QuerySet[_M]) -> _M | None:
    """The one row of a lookup by id, or None.

    Not first(): it orders by the model's ordering, which one row does not need
    and which costs about 0.3 ms to compile on every save and screen pop.
    """
    return next(iter(rows.order_by()[:1]), None)


def _with_current_numbers(clients: list[Client]) -> list[Client]:
    prefetch_related_objects(
        clients,
        Prefetch(
            "number_assignments",
            queryset=NumberAssignment.objects.current().select_related("number"),
            to_attr="current_assignments",
        ),
    )
    return clients


def _links_by_id(viewname: str) -> Callable[[int], str]:
    """``reverse(viewname, args=[id])`` for a long list of ids.

    reverse() costs about 50 µs a call; a list of 500 calls with two links each
    reversed every link. This reverses once and fills in each id.
    """
    marker = 2_147_483_647
    head, tail = reverse(viewname, args=[marker]).split(str(marker))
    return lambda pk: f"{head}{pk}{tail}"


def _with_links(calls: Iterable[Call], *, list_query: str = "") -> list[Call]:
    """Each call with its report status and the links its row shows.

    ``list_query`` is the day and filters of the list the rows are on: the edit
    page's way back returns to that list, not to today's.
    """
    calls = list(calls)
    statuses = report_status_by_call(call.pk for call in calls)
    edit_link = _links_by_id("console:call_edit")
    back = f"?{urlencode({'back': list_query})}" if list_query else ""

    def edit_url(pk: int) -> str:
        return f"{edit_link(pk)}{back}"

    report_url = _links_by_id("reporting:call_deliveries")
    for call in calls:
        call.report_status = report_status_of(call, statuses)  # type: ignore[attr-defined]
        call.report_url = report_url(call.pk) if call.pk in statuses else ""  # type: ignore[attr-defined]
        call.edit_url = edit_url(call.pk)  # type: ignore[attr-defined]
        call.purpose_display = call.purpose_preview(PURPOSE_PREVIEW_CHARS)  # type: ignore[attr-defined]
    return calls


def _report_context(call: Call | None) -> dict[str, Any]:
    """The report status badge of one call, and the link to its deliveries."""
    if call is None:
        return {"report_status": None, "report_url": ""}
    statuses = report_status_by_call([call.pk])
    return {
        "report_status": report_status_of(call, statuses),
        "report_url": reverse("reporting:call_deliveries", args=[call.pk])
        if call.pk in statuses
        else "",
    }


def _search(text: str) -> list[Client]:
    return _with_current_numbers(search_clients(text=text, limit=SEARCH_LIMIT))


def _call_form_url(*, client: int, caller: str = "", **params: Any) -> str:
    """The call form of ``client``, with the screen pop's caller when known
    (and any other parameter given a value)."""
    params["caller"] = caller
    query = {"client": client, **{k: v for k, v in params.items() if v}}
    return f"{reverse('console:call_new')}?{urlencode(query)}"


def _search_input(request: HttpRequest) -> tuple[str, str]:
    """What the search box sent: (text, the caller's E.164 or "")."""
    search = SearchForm(request.GET)
    if not search.is_valid():
        return "", ""
    return search.cleaned_data["q"], search.cleaned_data["caller"]


def _list_query(**params: Any) -> str:
    """The query string of the console's list of calls (day, client, category)."""
    return urlencode({name: value for name, value in params.items() if value})


def _list_url(back: str) -> str:
    """The console's list that an edit page was opened from (``?back=``).

    Read through the list's own form: only its day and filters go on, so the
    link cannot be made to lead anywhere else.
    """
    filters = DayFilterForm(QueryDict(back[:200]))
    filters.is_valid()
    query = _list_query(**filters.cleaned_data)
    home = reverse("console:home")
    return f"{home}?{query}" if query else home


@operator_required
@never_cache
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    text, caller = _search_input(request)
    results = _search(text) if text else []
    if len(results) == 1:
        # Enter before the list appeared: the one client it names opens at once.
        return redirect(_call_form_url(client=results[0].pk, caller=caller))
    filters = DayFilterForm(request.GET)
    # A bad value is named on the page; the good ones still apply.
    filters.is_valid()
    today = japan_today()
    day = filters.cleaned_data.get("day") or today
    client_id = filters.cleaned_data.get("client")
    category = filters.cleaned_data.get("category") or None
    # One row past the limit tells whether the list was cut.
    limit = selectors.DAY_CALLS_LIMIT
    calls = selectors.calls_on_day(
        day=day, client_id=client_id, category=category, limit=limit + 1
    )

    def day_query(on: dt.date | None) -> str:
        """Another day's list, with the same client and category."""
        return _list_query(day=on, client=client_id, category=category)

    clients_of_day = selectors.clients_called_on(day=day)
    if client_id is not None and all(c.pk != client_id for c in clients_of_day):
        # The client filtered on stays selected on a day it had no call.
        clients_of_day += list(Client.objects.filter(pk=client_id))
    return render(
        request,
        "console/home.html",
        {
            "query": text,
            "caller": caller,
            "results": [
                (client, _call_form_url(client=client.pk, caller=caller))
                for client in results
            ],
            "filters": filters,
            "day": day,
            "day_label": office_day(day, today=today),
            "is_today": day == today,
            "previous_day_query": day_query(day - dt.timedelta(days=1)),
            "next_day_query": day_query(day + dt.timedelta(days=1))
            if day < today
            else None,
            "today_query": day_query(None),
            "calls": _with_links(
                calls[:limit], list_query=day_query(None if day == today else day)
            ),
            "more_calls": len(calls) > limit,
            "call_new_url": reverse("console:call_new"),
            "clients_of_day": clients_of_day,
            "selected_client_id": client_id,
            "selected_category": category or "",
            "categories": Category.choices,
        },
    )


@operator_required
@never_cache
@require_GET
def search_json(request: HttpRequest) -> JsonResponse:
    """Clients matching what the operator is typing (for the search box)."""
    text, caller = _search_input(request)
    results = [
        {
            "id": client.pk,
            "name": client.name,
            "name_kana": client.name_kana,
            "status": client.status,
            "status_label": client.get_status_display(),
            "numbers": [
                a.number.display
                for a in client.current_assignments  # type: ignore[attr-defined]
            ],
            "own_number": client.own_number_display,
            "url": _call_form_url(client=client.pk, caller=caller),
        }
        for client in (_search(text) if text else [])
    ]
    return JsonResponse({"query": text, "results": results})


@operator_required
@never_cache
@require_GET
def phone_json(request: HttpRequest) -> JsonResponse:
    """Check a typed number while the caller is on the line: the hyphenated form to
    read back, or why it is not a number; and, given a client, the earlier calls
    from that number."""
    text = (request.GET.get("number") or "")[:40]
    try:
        e164 = normalize_phone(text)
    except ValidationError as exc:
        return JsonResponse({"ok": False, "error": " ".join(exc.messages)})
    calls = []
    nuisance_count = 0
    client_id = parse_row_id(request.GET.get("client", ""))
    if client_id is not None:
        client = _by_id(Client.objects.filter(pk=client_id))
        if client is not None:
            today = japan_today()
            history = selectors.caller_history(
                client=client,
                caller_number=e164,
                # On a correction's page: the call itself is not an earlier call.
                other_than=parse_row_id(request.GET.get("call", "")),
            )
            # All its nuisance calls, not only those among the last few shown.
            nuisance_count = history.nuisance_count
            calls = [
                {
                    "received_at": office_moment(c.received_at, today=today),
                    "category": c.get_category_display(),
                    "nuisance": c.is_nuisance,
                    "purpose": c.purpose_preview(PURPOSE_PREVIEW_CHARS),
                }
                for c in history.calls
            ]
    return JsonResponse(
        {
            "ok": True,
            "e164": e164,
            "display": format_phone(e164),
            "calls": calls,
            "nuisance_count": nuisance_count,
        }
    )


def _screen_pop_caller(sent: str) -> tuple[str, bool, str]:
    """What the phone system sent of the caller: their E.164, whether it hid the
    number, and what it sent when that was digits that make no number.

    It sends "anonymous", 非通知 or the like for a hidden number: no digit in
    it. Digits that make no number ("0312") are a number garbled on the way,
    not a hidden one: said as sent, never taken as the callback number nor
    looked up for earlier calls.
    """
    sent = sent.strip()
    caller_number = try_normalize_phone(sent) or ""
    if caller_number or not sent:
        return caller_number, False, ""
    if any(ch.isdigit() for ch in sent):
        return "", False, sent
    return "", True, ""


def _client_from_params(request: HttpRequest) -> tuple[Client | None, Any]:
    """The client named by ``?client=`` or by the screen pop ``?dialed=``."""
    raw_id = request.GET.get("client", "")
    if raw_id:
        client_id = parse_row_id(raw_id)
        return _by_id(Client.objects.filter(pk=client_id)) if client_id else None, None
    dialed = request.GET.get("dialed", "")
    if dialed:
        lookup = selectors.lookup_dialed(dialed=dialed)
        return lookup.client, lookup
    return None, None


def _is_fax_line_of(client: Client, dialed: str) -> bool:
    """``dialed`` (sent back with the form) is ``client``'s FAX line."""
    if not dialed:
        return False
    lookup = selectors.lookup_dialed(dialed=dialed)
    return lookup.is_fax and lookup.client == client


def _client_panel_context(client: Client) -> dict[str, Any]:
    """What the client panel beside a call shows (console/_client_panel.html)."""
    today = japan_today()
    # The client's own notices (away, closed, a call expected), in force today
    # or to come: one query, never more rows than a client may have open.
    notices = list(
        client.operator_notices.open_on(today).order_by("first_day", "id")[
            :NOTICE_MAX_OPEN
        ]
    )
    return {
        "client": client,
        # Cancelled with a month end still to come: answered as usual till then.
        "client_contract_ended": client.contract_ended_before(today),
        "notices_today": [n for n in notices if n.first_day <= today],
        "notices_coming": [n for n in notices if n.first_day > today],
        # What the panel and the addressee list show of each person: rows, not
        # model instances, on a page opened on every call.
        "people": list(client.people.values("name", "name_kana", "title", "note")),
    }


def _caller_context(client: Client, caller_number: str) -> dict[str, Any]:
    history = selectors.caller_history(client=client, caller_number=caller_number)
    edit_url = _links_by_id("console:call_edit")
    today = japan_today()
    for call in history.calls:
        call.edit_url = edit_url(call.pk)  # type: ignore[attr-defined]
        # Here rather than with template filters: they cost about 50 µs a row
        # each, on a page opened on every call.
        call.received_display = office_moment(call.received_at, today=today)  # type: ignore[attr-defined]
        call.purpose_display = call.purpose_preview(PURPOSE_PREVIEW_CHARS)  # type: ignore[attr-defined]
    return {
        "caller_calls": history.calls,
        "caller_nuisance_count": history.nuisance_count,
    }


def _saved_at_label(saved: Call) -> str:
    """The saved banner's time: 14:05 today, 11/26（木） 14:05 another day."""
    local = timezone.localtime(saved.received_at)
    if local.date() == japan_today():
        return f"{local:%H:%M}"
    return office_moment(saved.received_at)


def _render_call_form(
    request: HttpRequest,
    *,
    client: Client,
    form: CallForm,
    caller_number: str,
    dialed_number: str,
    saved: Call | None = None,
    status: int = 200,
    rang: bool = False,
    dialed_fax: bool = False,
    caller_withheld: bool = False,
    caller_unreadable: str = "",
    sent_caller: str = "",
) -> HttpResponse:
    context = {
        # Sent to the URL of the screen pop, client made explicit: the page shown
        # after an error still has the dialed and caller numbers in its address,
        # for a reload or a login that expired meanwhile.
        "form_action": _call_form_url(
            client=client.pk, dialed=dialed_number, caller=sent_caller
        ),
        # The page's script dates the call on the server's clock: when the page
        # was made, plus the time since (a PC's clock may be wrong).
        "opened_at_ms": int(timezone.now().timestamp() * 1000),
        # Opened by the phone's ring (the screen pop): the call started now.
        "rang": rang,
        **_client_panel_context(client),
        "form": form,
        "caller_number": caller_number,
        # The side search box: another client picked there keeps the caller
        # (a hidden or garbled number as sent).
        "caller": sent_caller,
        "caller_number_display": format_phone(caller_number),
        "dialed_number_display": format_phone(dialed_number),
        # A ring on the client's FAX line: said above the form.
        "dialed_fax": dialed_fax,
        # A ring from a number the phone system did not show (非通知).
        "caller_withheld": caller_withheld,
        # Digits the phone system sent that make no number, as sent.
        "caller_unreadable": caller_unreadable,
        "saved": saved,
        "saved_at_label": _saved_at_label(saved) if saved else "",
        **_report_context(saved),
        "focus_field": form.first_error_field() if form.is_bound else None,
        "missing_reason_other": MissingReason.OTHER.value,
        **_caller_context(client, caller_number),
    }
    return render(request, "console/call_form.html", context, status=status)


# A call sent after its operator's login ended (the shift's hours, or a logout
# in another tab): kept in the browser's session until she has logged in again
# and the same page shows it back, unsaved. It was lost at the login page.
UNSAVED_CALL_KEY = "console_unsaved_call"


def _keep_a_call_sent_logged_out(view: Callable[..., HttpResponse]) -> Callable:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method == "POST" and not request.user.is_authenticated:
            request.session[UNSAVED_CALL_KEY] = {
                "path": request.get_full_path(),
                "data": {
                    name: request.POST.getlist(name)
                    for name in CallForm.base_fields
                    if name in request.POST
                },
            }
        return view(request, *args, **kwargs)

    return wrapper


def _unsaved_call(request: HttpRequest) -> QueryDict | None:
    """What this page's form sent while logged out, once (then it is gone)."""
    kept = request.session.get(UNSAVED_CALL_KEY)
    if not kept or kept.get("path") != request.get_full_path():
        return None
    del request.session[UNSAVED_CALL_KEY]
    data = QueryDict(mutable=True)
    for name, values in kept["data"].items():
        data.setlist(name, values)
    messages.warning(
        request,
        _(
            "ログインの期限が切れていたため、この受電はまだ保存されていません。"
            "送ろうとした内容を戻しました。確かめて保存してください。"
        ),
    )
    return data


@_keep_a_call_sent_logged_out
@operator_required
# Never kept by the browser: Back asks again for a form whose clock (console.js)
# starts now, and the next person at a shared PC cannot page back through
# callers' names and numbers (on each of the console's pages).
@never_cache
@require_http_methods(["GET", "POST"])
def call_new(request: HttpRequest) -> HttpResponse:
    client, lookup = _client_from_params(request)
    if client is None:
        sent_caller = request.GET.get("caller", "").strip()[:30]
        caller_number, caller_withheld, caller_unreadable = _screen_pop_caller(
            sent_caller
        )
        # The caller goes on through the search to the client the operator
        # picks: their number, or what the phone system sent for a hidden or
        # garbled one (the call form says so again).
        caller = caller_number or sent_caller
        if lookup is None and not request.GET.get("client"):
            # A screen pop without the dialed number.
            home = reverse("console:home")
            return redirect(
                f"{home}?{urlencode({'caller': caller})}" if caller else home
            )
        return render(
            request,
            "console/no_client.html",
            {
                "lookup": lookup,
                # Hyphenated when it reads as a number; as sent otherwise.
                "dialed": format_phone(lookup.e164)
                if lookup is not None and lookup.e164
                else request.GET.get("dialed", ""),
                "caller": caller,
                "caller_display": format_phone(caller_number),
                "caller_withheld": caller_withheld,
                "caller_unreadable": caller_unreadable,
            },
            status=200 if lookup is not None else 404,
        )

    unsaved = _unsaved_call(request) if request.method == "GET" else None
    if request.method == "POST" or unsaved is not None:
        form = CallForm(request.POST if unsaved is None else unsaved)
        if unsaved is None and form.is_valid():
            fields = form.call_fields()
            try:
                call = record_call(client=client, logged_by=_user(request), **fields)
            except ValidationError as exc:
                for field, field_messages in exc.message_dict.items():
                    for message in field_messages:
                        form.add_error(field if field in form.fields else None, message)
            else:
                return redirect(_call_form_url(client=client.pk, saved=call.pk))
        dialed_number = form.data.get("dialed_number", "")
        sent_caller = form.data.get("caller_number", "")
        caller_number, caller_withheld, caller_unreadable = _screen_pop_caller(
            sent_caller
        )
        return _render_call_form(
            request,
            client=client,
            form=form,
            caller_number=caller_number,
            dialed_number=dialed_number,
            dialed_fax=_is_fax_line_of(client, dialed_number),
            caller_withheld=caller_withheld,
            caller_unreadable=caller_unreadable,
            sent_caller=sent_caller,
        )

    sent_caller = request.GET.get("caller", "")[:30]
    caller_number, caller_withheld, caller_unreadable = _screen_pop_caller(sent_caller)
    if lookup is not None:
        dialed_number = lookup.e164 or ""
        dialed_fax = lookup.is_fax
    else:
        # ``?client=`` with the screen pop's ``dialed`` (the form's own address
        # after an error): the number that rang, as the ring showed it.
        dialed_number = try_normalize_phone(request.GET.get("dialed", "")) or ""
        dialed_fax = _is_fax_line_of(client, dialed_number)
    saved = None
    saved_id = parse_row_id(request.GET.get("saved", ""))
    if saved_id is not None:
        saved = _by_id(Call.objects.filter(pk=saved_id, client=client))
    form = CallForm(
        initial={
            "callback_number": format_phone(caller_number),
            # As the phone system sent it when it hid the number ("anonymous")
            # or garbled it: sent back with the form, so the page says so again
            # after an error. The save keeps only a real number.
            "caller_number": caller_number or sent_caller,
            "dialed_number": dialed_number,
            "submission_id": uuid.uuid4(),
        }
    )
    return _render_call_form(
        request,
        client=client,
        form=form,
        caller_number=caller_number,
        dialed_number=dialed_number,
        saved=saved,
        rang=bool(caller_number or dialed_number),
        dialed_fax=dialed_fax,
        caller_withheld=caller_withheld,
        caller_unreadable=caller_unreadable,
        sent_caller=caller_number or sent_caller,
    )


def _revision_rows(call: Call) -> list[dict[str, Any]]:
    erased = call.personal_data_erased_at is not None
    return [
        {
            "revision": revision,
            # The erasure keeps who corrected and when, but drops what they
            # changed; a correction made since has its values.
            "values_erased": erased and not revision.changes,
            "changes": [
                {"label": label, "old": old, "new": new}
                for label, (old, new) in readable_changes(revision.changes).items()
            ],
        }
        # Newest first: an operator opens the page to see what the last
        # correction changed, which was at the foot of a long history.
        for revision in call.revisions.select_related("changed_by").order_by(
            "-changed_at", "-id"
        )
    ]


@_keep_a_call_sent_logged_out
@operator_required
@never_cache
@require_http_methods(["GET", "POST"])
def call_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Correct a saved call; the history keeps who changed what, and when."""
    call = get_object_or_404(Call.objects.select_related("client", "logged_by"), pk=pk)
    version = call.updated_at.isoformat()
    if request.method == "POST":
        form = CallForm(request.POST, instance=call)
        # Shown again after an error, what was typed still rests on the version
        # of the call the page was opened on: a later save must be checked
        # against that one, not silently against the newest.
        version = request.POST.get("seen_version", "") or version
        if form.is_valid():
            try:
                revision = record_correction(
                    call=call,
                    corrected_by=_user(request),
                    changes=form.call_fields(),
                    seen_updated_at=form.cleaned_data["seen_version"],
                )
            except ValidationError as exc:
                for field, field_messages in exc.message_dict.items():
                    for message in field_messages:
                        form.add_error(field if field in form.fields else None, message)
                # Shown again with what was typed, the history and the version
                # of the call as it is now.
                seen_version = form.cleaned_data["seen_version"]
                call.refresh_from_db()
                if seen_version is not None and seen_version != call.updated_at:
                    errors = form.non_field_errors()
                    form = form.rebased(
                        call, selectors.values_before(call, version=seen_version)
                    )
                    for message in errors:
                        form.add_error(None, message)
                    version = call.updated_at.isoformat()
            else:
                seen_version = form.cleaned_data["seen_version"]
                if revision is None and seen_version in (None, call.updated_at):
                    messages.info(request, _("変更はありませんでした。"))
                else:
                    # Saved now, or by the same correction sent a moment ago
                    # (a double press): either way it is saved.
                    messages.success(request, _("訂正を保存しました。"))
                # The page again, with its way back to the list it came from.
                return redirect(request.get_full_path())
    else:
        unsaved = _unsaved_call(request)
        form = CallForm(unsaved, instance=call)
        if unsaved is not None:
            # Checked on save against the version it was typed on.
            version = unsaved.get("seen_version") or version
    return render(
        request,
        "console/call_edit.html",
        {
            "call": call,
            **_client_panel_context(call.client),
            "form": form,
            "revisions": _revision_rows(call),
            "version": version,
            "list_url": _list_url(request.GET.get("back", "")),
            "focus_field": form.first_error_field() if form.is_bound else None,
            "missing_reason_other": MissingReason.OTHER.value,
            **_report_context(call),
        },
    )
