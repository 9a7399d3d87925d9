"""Japanese phone numbers: parse any common format, store E.164, show hyphenated.

Operators type numbers in every shape (``03-1234-5678``, ``0312345678``,
``+81312345678``, full-width digits); the phonenumbers library knows Japan's
numbering plan, including where the hyphens go.
"""

import functools
import re
import unicodedata

import phonenumbers
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

REGION = "JP"

_ACCEPTED_TYPES = {
    phonenumbers.PhoneNumberType.FIXED_LINE,
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    phonenumbers.PhoneNumberType.VOIP,  # 050
    phonenumbers.PhoneNumberType.TOLL_FREE,  # 0120, 0800
    phonenumbers.PhoneNumberType.SHARED_COST,  # 0570
    phonenumbers.PhoneNumberType.UAN,
    phonenumbers.PhoneNumberType.PAGER,
    phonenumbers.PhoneNumberType.PERSONAL_NUMBER,
}


# Parsing is the costly part (a fraction of a millisecond per number) and the same
# numbers come back all day (lent numbers, repeat callers, the number just typed
# being checked again on save), so results are cached per process.
_CACHE_SIZE = 4096


# A note written after the number ("090-1234-5678（携帯）"): the library reads
# one before it ("携帯 090-...") but not after.
_TRAILING_NOTE = re.compile(r"(?<=\d)[^\d#*+]+$")


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _parse(raw: str) -> tuple[str, str]:
    """``(e164, "")`` for a usable number, ``("", why)`` otherwise."""
    if "内線" in raw:
        return "", "extension"
    # Half-width kana mode types "ｰ" for the hyphen; NFKC makes it "ー", which
    # the library reads, as it reads full-width digits.
    raw = unicodedata.normalize("NFKC", raw)
    try:
        number = phonenumbers.parse(_TRAILING_NOTE.sub("", raw), REGION)
    except phonenumbers.NumberParseException:
        return "", "unreadable"
    # E.164 has no room for an extension ("03-1234-5678 ext 12", "#12"): it
    # would be dropped without a word and the caller never reached.
    if number.extension:
        return "", "extension"
    if not phonenumbers.is_valid_number(number):
        return "", "invalid"
    if (
        number.country_code == 81
        and phonenumbers.number_type(number) not in _ACCEPTED_TYPES
    ):
        return "", "type"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), ""


def normalize_phone(text: str) -> str:
    """Return the number in E.164 (``+81312345678``) or raise ValidationError."""
    raw = (text or "").strip()
    if not raw:
        raise ValidationError(_("電話番号を入力してください。"), code="required")
    e164, why = _parse(raw)
    if why == "extension":
        raise ValidationError(
            _(
                "内線番号は入れられません。電話番号だけを入れ、内線は用件かメモに書いてください。"
            ),
            code="extension",
        )
    if why == "unreadable":
        raise ValidationError(
            _("電話番号として読み取れません（例: 03-1234-5678、090-1234-5678）。"),
            code="invalid",
        )
    if why == "invalid":
        raise ValidationError(
            _(
                "「%(value)s」は有効な電話番号ではありません。桁数と市外局番を確認してください。"
            ),
            code="invalid",
            params={"value": raw},
        )
    if why:
        raise ValidationError(_("この種類の番号は受け付けできません。"), code="invalid")
    return e164


def try_normalize_phone(text: str) -> str | None:
    try:
        return normalize_phone(text)
    except ValidationError:
        return None


# Larger than the parse cache: a portal CSV formats a callback number per row,
# up to 100,000 rows with many distinct numbers (~20 µs per miss).
@functools.lru_cache(maxsize=20_000)
def format_phone(e164: str) -> str:
    """E.164 -> the hyphenated form people read aloud (``03-1234-5678``)."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, REGION)
    except phonenumbers.NumberParseException:
        return e164
    if number.country_code == 81:
        return phonenumbers.format_number(
            number, phonenumbers.PhoneNumberFormat.NATIONAL
        )
    return phonenumbers.format_number(
        number, phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )


# At least this many digits before a number typed in part is looked up: fewer
# are found in too many numbers to narrow anything down.
PARTIAL_NUMBER_DIGITS = 4

_DIGITS = frozenset("0123456789")
# What may stand between the digits of a number typed in part (after NFKC):
# spaces, brackets ("(03)1234"), and every hyphen people type or paste, the
# long-vowel mark "ー" included (the IME types it for "-" in kana mode).
_NUMBER_SEPARATORS = frozenset(" ()-‐‒–—―−ー")


def partial_number_condition(text: str, *fields: str) -> Q | None:
    """Numbers in ``fields`` (stored in E.164) that hold ``text`` typed as part of
    a number, or None when ``text`` is not one (it has other characters, or
    fewer than ``PARTIAL_NUMBER_DIGITS`` digits).

    Text typed with "+" is the start of an international number ("+81355").
    Any other text is looked for as people read a number, in its national form:
    03-1234-5678 (+81312345678) is found by "0312", "03-1234", "1234" or "5678",
    never by "1312" or "8131", which only run into the country code. A number
    abroad is read as it is written, "+1 415-555-2671": "1415" finds it.
    """
    typed = unicodedata.normalize("NFKC", text).strip()
    digits = "".join(ch for ch in typed if ch in _DIGITS)
    if len(digits) < PARTIAL_NUMBER_DIGITS or not set(typed.removeprefix("+")) <= (
        _DIGITS | _NUMBER_SEPARATORS
    ):
        return None
    condition = Q()
    for field in fields:
        if typed.startswith("+"):
            condition |= Q(**{f"{field}__startswith": f"+{digits}"})
            continue
        found = Q(**{f"{field}__contains": digits})
        if digits.startswith("0"):
            # The national trunk 0 is +81 in E.164: "03-12" begins +8131.
            found |= Q(**{f"{field}__startswith": f"+81{digits[1:]}"})
        elif digits.startswith(("1", "81")):
            # "1312" is in +81312345678 only by running into the country code:
            # the digits must come after +81 (or anywhere in a number abroad).
            # The regular expression runs only on the few rows that hold them.
            pattern = rf"^\+(?:81|(?!81))[0-9]*{digits}"
            found &= Q(**{f"{field}__regex": pattern})
        condition |= found
    return condition
