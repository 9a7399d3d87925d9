"""The words of a call report: e-mail subject and bodies (PC, mobile) and Chatwork.

Everything here is pure: a call (and, for a correction, what changed) in, text
out. Caller-typed text is untrusted: it never reaches a mail header with a line
break in it, and it cannot open or close Chatwork notation tags. A one-line
field (a name, a note) stays on one line in the bodies too: a line break in it
would start a line of its own that reads as another item (折り返し先: …).

A destination that never had the call's report (a recipient who replaced the
one who got it, a room added since, an address the report bounced from) gets no
訂正 of a message it never read: it gets the call as it is now, as a report, with
a short note that this is the corrected content (``corrected``).
"""

import copy
import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from answering.models import Call, Category, MissingReason

WEEKDAYS = "月火水木金土日"
SUBJECT_MAX_CHARS = 120
# Whose call it is (the client), at the end of a subject and atop a phone's
# text: one person may receive the reports of several clients (an accountant,
# a company with two contracts). A longer name keeps its start and its end
# (株式会社A…大阪営業所): two contracts of one company differ at the end.
CLIENT_TAG_MAX_CHARS = 20
# A person with only a mobile address reads nothing else: the phone's text
# carries the whole purpose. Only a paste far beyond any message is cut, and
# the text then says where the rest is.
MOBILE_PURPOSE_MAX_CHARS = 1000
CUT_NOTE = "（以下省略。全文はお客様ページでご覧いただけます）"
# Chatwork refuses a message past some length with a 400 (tens of thousands of
# characters: 40,000 were seen posted, 80,000 refused), which fails the report
# for good. The purpose is the one text without a limit, and a correction
# writes it up to three times (old, new, corrected content): each is cut here.
CHATWORK_VALUE_MAX_CHARS = 5000

# Lines for a destination that hears of a corrected call for the first time. The
# list of changes is left out: its old values mean nothing to a reader who never
# saw them, and a wrong number or name need not reach one more person. True
# whether or not this reader saw the first report (a colleague's copy, a mail
# that bounced and was then found).
CORRECTED_NOTE = (
    "この内容は訂正後のものです。以前のご報告をご覧の場合は、こちらが正しい内容です。"
)
CORRECTED_MOBILE_NOTE = "※訂正後の内容です"

# A call past the retention period has its caller's details erased; it may still
# be corrected (reclassified, its time or surcharge fixed) and reported. Its
# blank name, number and purpose were not missed by the operator: they must not
# read as 未確認, nor its address as 指定なし.
ERASED_LABEL = "お名前・折り返し先・ご用件など"

# A nuisance call says where it came from, so the client can deal with the
# caller (DOMAIN: harassment targets the client), and how often that number has.
CALLER_NUMBER_LABEL = "発信者番号"
# A nuisance call in which the caller never spoke: said once, not as the same
# reason after the name, the number and the purpose.
SILENT_LABEL = "お電話"
SILENT_TEXT = "無言電話（お声がありませんでした）"
WITHHELD = "非通知"
# A callback number not obtained: the number the phone system showed is one the
# client can still call back, said on the callback line (折り返し先: 伺えません
# でした（着信番号 090-1234-5678）).
CALLER_NUMBER_TO_CALL_BACK_LABEL = "着信番号"
# The operator's note on what could not be obtained, next to the items it explains.
MISSING_NOTE_LABEL = "伺えなかった理由の補足"

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\x85]+")


def one_line(text: str) -> str:
    """Collapse any line break or control character into a single space.

    Mail headers end at CR/LF; a caller name such as ``"x\\r\\nBcc: a@b"`` must
    stay one harmless line.
    """
    return re.sub(r"\s{2,}", " ", _CONTROL.sub(" ", str(text))).strip()


def _chatwork_safe(text: str) -> str:
    # Chatwork notation uses [tag] ... [/tag]; full-width brackets keep a caller's
    # "[To:123]" or "[/info]" from mentioning someone or breaking the frame.
    return str(text).replace("[", "［").replace("]", "］")


def _day(moment: dt.datetime) -> str:
    # As the product writes a day everywhere else (2026年11月6日, not 11月06日).
    local = timezone.localtime(moment)
    return f"{local.year}年{local.month}月{local.day}日"


def _when(call: Call) -> str:
    local = timezone.localtime(call.received_at)
    return f"{_day(local)}（{WEEKDAYS[local.weekday()]}）{local:%H:%M}"


def _short_when(call: Call) -> str:
    local = timezone.localtime(call.received_at)
    return f"{local.month}/{local.day} {local:%H:%M}"


def _marks(call: Call) -> list[str]:
    marks = []
    if call.is_urgent:
        marks.append("【至急】")
    if call.category == Category.NUISANCE:
        marks.append("【要注意】")
    if call.category == Category.GREY:
        marks.append("【営業の可能性】")
    return marks


# "その他" alone after ご用件 reads as the purpose itself ("other"); the
# reason is the operator's note (required with it), which the report shows.
OTHER_REASON_TEXT = "伺えませんでした（理由は補足のとおり）"


def _leads(call: Call) -> list[str]:
    """The PC mail's first lines: the marks of its subject, each said in words.
    Only the subject carried them, and the body named a nuisance call last
    (■分類), after everything else."""
    leads = []
    if call.is_urgent:
        leads.append("【至急】お急ぎのご様子です。")
    if call.category == Category.NUISANCE:
        leads.append("【要注意】いたずら・嫌がらせ・無言のお電話です。")
    if call.category == Category.GREY:
        leads.append("【営業の可能性】営業電話かどうか判断がつかなかったお電話です。")
    return leads


def _reason(call: Call, field: str) -> str:
    value = getattr(call, f"{field}_missing_reason")
    if value == MissingReason.OTHER:
        return OTHER_REASON_TEXT
    return str(MissingReason(value).label) if value else "未確認"


def _erased(call: Call) -> str:
    return f"保存期間を過ぎたため消去しました（{_day(call.personal_data_erased_at)}）"


def _who(call: Call) -> str:
    if call.caller_name:
        return f"{one_line(call.caller_name)}様"
    return "お名前不明の方"


def client_tag(call: Call) -> str:
    """``［株式会社A］``: the client the call was for, shortened when long."""
    name = one_line(call.client.name)
    if len(name) > CLIENT_TAG_MAX_CHARS:
        head = (CLIENT_TAG_MAX_CHARS - 1) // 2
        tail = CLIENT_TAG_MAX_CHARS - 1 - head
        name = f"{name[:head]}…{name[-tail:]}"
    return f"［{name}］"


def subject(call: Call, *, correction: bool = False) -> str:
    """E.g. ``【至急】株式会社サンプル 山田様よりお電話 1/15 14:32［株式会社A］``.

    Who called comes first, the time, then the client the call was for, last: a
    phone's mail list shows the first twenty characters or so of a subject,
    beside the time the mail came (the time of the call, for a report sent at
    once). A long caller name is shortened, never the time, which tells a 訂正
    which call it corrects, nor the client (already short).
    """
    parts = []
    if correction:
        parts.append("【訂正】")
    parts.extend(_marks(call))
    head = "".join(parts)
    when = _short_when(call)
    tag = client_tag(call)
    if call.personal_data_erased_at:
        # Nobody to name: the time is all that tells the call.
        text = f"{head}{when} のお電話（お名前などは消去済み）"
    elif call.is_silent:
        text = f"{head}無言電話 {when}"
    else:
        company = f"{call.caller_company} " if call.caller_company else ""
        who = one_line(f"{head}{company}{_who(call)}よりお電話")
        room = SUBJECT_MAX_CHARS - len(when) - 1 - len(tag)
        if len(who) > room:
            who = who[: room - 1] + "…"
        text = f"{who} {when}"
    return f"{text}{tag}"


def _missing_note(call: Call) -> str:
    """The operator's note on why something was not obtained, when the report
    shows something not obtained; "" otherwise. Each item not obtained already
    says why in its own place (お名前: お聞きしましたが…): listing them again
    under a heading of their own made a report say everything twice."""
    if call.personal_data_erased_at or not call.missing_note:
        # Erased, not missed: the note would explain nothing shown.
        return ""
    if call.is_silent or not all(
        getattr(call, field) for field in ("caller_name", "callback_number", "purpose")
    ):
        return one_line(call.missing_note)
    return ""


def _demeanour(call: Call) -> str:
    labels = call.demeanour_labels
    if call.demeanour_note:
        labels.append(one_line(call.demeanour_note))
    return "・".join(labels)


def _nuisance_caller_lines(call: Call, nuisance_ordinal: int) -> list[str]:
    """A nuisance call's number as the phone system gave it, and, when that
    number called with nuisance before, which of its calls this is."""
    if not call.is_nuisance or call.personal_data_erased_at:
        return []
    lines = [call.caller_number_display or WITHHELD]
    if nuisance_ordinal > 1:
        lines.append(
            f"この番号からのいたずら・嫌がらせ・無言は {nuisance_ordinal} 件目です"
        )
    return lines


def _name(call: Call) -> str:
    return _who(call) if call.caller_name else _reason(call, "caller_name")


def _callback(call: Call) -> str:
    """The callback number, or why it was not obtained and, when the phone
    system showed the caller's number, that number to call back instead. Not
    for a nuisance call, whose number has a line of its own (発信者番号), nor
    once the caller's data is erased."""
    if call.callback_number:
        return call.callback_number_display
    reason = _reason(call, "callback_number")
    if call.is_nuisance or call.personal_data_erased_at:
        return reason
    caller_number = call.caller_number_display
    if not caller_number:  # withheld (非通知)
        return reason
    return f"{reason}（{CALLER_NUMBER_TO_CALL_BACK_LABEL} {caller_number}）"


def _surcharge(call: Call) -> str:
    if not call.surcharge_yen:
        return "なし"
    return f"{call.surcharge_yen:,}円（{one_line(call.surcharge_reason)}）"


@dataclass(frozen=True)
class _Item:
    """One item of a report: its label, the call's fields it shows, its text."""

    label: str
    fields: tuple[str, ...]
    text: Callable[[Call], str]


# The report's items: one source for the report and for its correction (訂正),
# so a correction names and writes each item as the report it corrects did.
WHEN = _Item("日時", ("received_at",), _when)
NAME = _Item("お名前", ("caller_name", "caller_name_missing_reason"), _name)
COMPANY = _Item(
    "会社名", ("caller_company",), lambda call: one_line(call.caller_company) or "—"
)
CALLBACK = _Item(
    "折り返し先", ("callback_number", "callback_number_missing_reason"), _callback
)
PURPOSE = _Item(
    "ご用件",
    ("purpose", "purpose_missing_reason"),
    lambda call: call.purpose or _reason(call, "purpose"),
)
ADDRESSEE = _Item(
    "宛先",
    ("addressee",),
    lambda call: f"{one_line(call.addressee)}様宛" if call.addressee else "指定なし",
)
MISSING_NOTE = _Item(
    MISSING_NOTE_LABEL, ("missing_note",), lambda c: one_line(c.missing_note)
)
DEMEANOUR = _Item(
    "ご様子", ("is_urgent", "is_angry", "is_troubled", "demeanour_note"), _demeanour
)
CATEGORY = _Item("分類", ("category",), lambda call: str(call.get_category_display()))
SURCHARGE = _Item("割増料金", ("surcharge_yen", "surcharge_reason"), _surcharge)
ITEMS = (
    WHEN,
    NAME,
    COMPANY,
    CALLBACK,
    PURPOSE,
    ADDRESSEE,
    MISSING_NOTE,
    DEMEANOUR,
    CATEGORY,
    SURCHARGE,
)


def _fields(call: Call, nuisance_ordinal: int = 0) -> list[tuple[str, str]]:
    """(label, value) pairs shared by the PC e-mail and Chatwork."""
    fields = [(WHEN.label, WHEN.text(call))]
    if call.personal_data_erased_at:
        fields.append((ERASED_LABEL, _erased(call)))
    else:
        fields += _caller_fields(call)
    note = _missing_note(call)
    if note:
        fields.append((MISSING_NOTE.label, note))
    caller_lines = _nuisance_caller_lines(call, nuisance_ordinal)
    if caller_lines:
        fields.append((CALLER_NUMBER_LABEL, "\n".join(caller_lines)))
    demeanour = _demeanour(call)
    if demeanour:
        fields.append((DEMEANOUR.label, demeanour))
    if call.category != Category.NORMAL:
        fields.append((CATEGORY.label, CATEGORY.text(call)))
    if call.surcharge_yen:
        fields.append((SURCHARGE.label, SURCHARGE.text(call)))
    return fields


def _caller_fields(call: Call) -> list[tuple[str, str]]:
    if call.is_silent:
        return [(SILENT_LABEL, SILENT_TEXT)]
    return [
        (item.label, item.text(call))
        for item in (NAME, COMPANY, CALLBACK, PURPOSE, ADDRESSEE)
    ]


def correction_changes(call: Call, *, before: dict[str, Any]) -> dict[str, list[str]]:
    """What a correction changed in the report: ``{label: [old, new]}``, each item
    labelled and written as the report shows it (宛先: 「指定なし」→「佐藤様宛」).

    ``call`` is the call as corrected; ``before`` what its changed fields held,
    as a revision stores them. An item whose text is the same both ways (a
    reason dropped for the name now given is one change of お名前) is left out.
    """
    old = copy.copy(call)
    for field, value in before.items():
        if field == "received_at" and isinstance(value, str):
            value = dt.datetime.fromisoformat(value)
        setattr(old, field, value)
    changes = {}
    for item in ITEMS:
        if before.keys().isdisjoint(item.fields):
            continue
        was, now = item.text(old), item.text(call)
        if was != now:
            changes[item.label] = [was, now]
    return changes


def _changes_lines(changes: dict[str, Any]) -> list[str]:
    lines = []
    for label, pair in changes.items():
        old, new = (list(pair) + ["", ""])[:2]
        lines.append(f"{label}: 「{old or '（空欄）'}」→「{new or '（空欄）'}」")
    return lines


def email_body(
    call: Call,
    *,
    mobile: bool = False,
    changes: dict[str, Any] | None = None,
    corrected: bool = False,
    nuisance_ordinal: int = 0,
    footer: Sequence[str] = (),
    history_url: str = "",
) -> str:
    """A report, or with ``changes`` its correction (訂正). ``corrected``: the
    report of a corrected call to a destination that never had the first.
    ``nuisance_ordinal``: answering.selectors.nuisance_ordinal of the call.
    ``footer``: lines closing a PC mail (who sent it, where the history is);
    a phone's short text has none. ``history_url``: the call's page in the
    portal, where a phone's text sends its reader for a purpose too long to
    carry."""
    if mobile:
        return _mobile_body(
            call,
            changes=changes,
            corrected=corrected,
            nuisance_ordinal=nuisance_ordinal,
            history_url=history_url,
        )
    lines = [f"{call.client.name} 御中", ""]
    leads = _leads(call)
    if leads:
        lines += [*leads, ""]
    if changes is not None:
        lines += ["先にお送りしたご報告を、次のとおり訂正いたします。", ""]
        lines += ["■訂正内容"] + [f"  {line}" for line in _changes_lines(changes)]
        lines += ["", "■訂正後の内容"]
    else:
        lines.append("お電話がありましたので、ご報告いたします。")
        if corrected:
            lines.append(f"なお、{CORRECTED_NOTE}")
        lines.append("")
    for label, value in _fields(call, nuisance_ordinal):
        value_lines = str(value).splitlines() or [""]
        if len(value_lines) == 1:
            lines.append(f"■{label}: {value_lines[0]}")
        else:
            lines.append(f"■{label}:")
            lines += [f"  {v}" for v in value_lines]
    lines += ["", "※このメールは送信専用です。", *footer]
    return "\n".join(lines) + "\n"


def pc_footer(*, company_name: str, call_url: str) -> list[str]:
    """The close of a PC report: where to read the call (its page's address,
    when the portal's is known; else the call history to look in) and who sent
    the mail (it is send-only: the company's name says whom to ask)."""
    if call_url:
        lines = ["", "このお電話はお客様ページでご覧いただけます。", call_url]
    else:
        lines = ["", "お電話の履歴はお客様ページでご覧いただけます。"]
    return [*lines, "", company_name]


def _mobile_body(
    call: Call,
    *,
    changes: dict[str, Any] | None,
    corrected: bool,
    nuisance_ordinal: int,
    history_url: str,
) -> str:
    # A phone screen: the few facts needed to call back, nothing else, under
    # whose call it was.
    lines = [client_tag(call)]
    if changes is not None:
        changes, cut = _shortened(changes, MOBILE_PURPOSE_MAX_CHARS)
        lines.append("【訂正】")
        lines += _changes_lines(changes)
        if cut:
            lines += [CUT_NOTE, *([history_url] if history_url else [])]
        lines.append("")
    marks = "".join(_marks(call))
    if marks:
        lines.append(marks)
    lines.append(_short_when(call))
    if call.personal_data_erased_at:
        lines.append(f"{ERASED_LABEL}: {_erased(call)}")
    else:
        lines += _mobile_caller_lines(call, history_url)
    caller_lines = _nuisance_caller_lines(call, nuisance_ordinal)
    if caller_lines:
        lines.append(f"{CALLER_NUMBER_LABEL} {caller_lines[0]}")
        lines += caller_lines[1:]
    demeanour = _demeanour(call)
    if demeanour:
        lines.append(f"様子: {demeanour}")
    if call.surcharge_yen:
        lines.append(
            f"割増 {call.surcharge_yen:,}円（{one_line(call.surcharge_reason)}）"
        )
    if changes is None and corrected:
        # Last: the first lines of a phone's screen are for calling back.
        lines.append(CORRECTED_MOBILE_NOTE)
    return "\n".join(lines) + "\n"


def _short(text: str, max_chars: int = CHATWORK_VALUE_MAX_CHARS) -> str:
    return text if len(text) <= max_chars else text[: max_chars - 1] + "…"


def _shortened(
    changes: dict[str, Any], max_chars: int
) -> tuple[dict[str, list[str]], bool]:
    """``changes`` with each old and new text cut at ``max_chars``, and whether
    any was."""
    texts = {
        label: ["" if value is None else str(value) for value in pair]
        for label, pair in changes.items()
    }
    cut = any(len(text) > max_chars for pair in texts.values() for text in pair)
    shortened = {
        label: [_short(text, max_chars) for text in pair]
        for label, pair in texts.items()
    }
    return shortened, cut


def _cut(text: str, max_chars: int, history_url: str) -> list[str]:
    """``text`` as lines, cut at ``max_chars`` with a note of where the rest is."""
    if len(text) <= max_chars:
        return [text]
    return [
        text[: max_chars - 1] + "…",
        CUT_NOTE,
        *([history_url] if history_url else []),
    ]


def _mobile_caller_lines(call: Call, history_url: str) -> list[str]:
    if call.is_silent:
        note = _missing_note(call)
        return [SILENT_TEXT, f"補足: {note}"] if note else [SILENT_TEXT]
    lines = []
    who = _who(call)
    if call.caller_company:
        who = f"{one_line(call.caller_company)} {who}"
    lines.append(who)
    if not call.caller_name:
        lines.append(f"お名前: {_reason(call, 'caller_name')}")
    if call.callback_number:
        lines.append(f"TEL {call.callback_number_display}")
    else:
        lines.append(f"TEL: {_callback(call)}")
    if call.purpose:
        lines += _cut(call.purpose, MOBILE_PURPOSE_MAX_CHARS, history_url)
    else:
        # Labelled: a bare reason ("お伺いする前に切られた") read as the purpose.
        lines.append(f"用件: {_reason(call, 'purpose')}")
    if call.addressee:
        lines.append(f"{one_line(call.addressee)}様宛")
    note = _missing_note(call)
    if note:
        lines.append(f"補足: {note}")
    return lines


def chatwork_body(
    call: Call,
    *,
    changes: dict[str, Any] | None = None,
    corrected: bool = False,
    nuisance_ordinal: int = 0,
    history_url: str = "",
) -> str:
    """The report in Chatwork's notation; ``history_url`` as for email_body."""
    title = subject(call, correction=changes is not None)
    lines = []
    cut = False
    if changes is not None:
        changes, cut = _shortened(changes, CHATWORK_VALUE_MAX_CHARS)
        lines += ["訂正内容:"] + [f"  {line}" for line in _changes_lines(changes)]
        lines += ["", "訂正後の内容:"]
    elif corrected:
        lines += [CORRECTED_NOTE, ""]
    for label, value in _fields(call, nuisance_ordinal):
        cut = cut or len(value) > CHATWORK_VALUE_MAX_CHARS
        lines.append(f"{label}: {_short(value)}")
    if cut:
        lines += ["", CUT_NOTE, *([history_url] if history_url else [])]
    text = "\n".join(_chatwork_safe(line) for line in lines)
    return f"[info][title]{_chatwork_safe(title)}[/title]{text}[/info]"
