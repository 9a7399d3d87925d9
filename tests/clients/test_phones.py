import pytest
from django.core.exceptions import ValidationError

from clients.models import Client
from clients.phones import format_phone, normalize_phone, partial_number_condition
from tests.factories import ClientFactory


@pytest.mark.parametrize(
    ("typed", "e164", "shown"),
    [
        ("03-1234-5678", "+81312345678", "03-1234-5678"),
        ("0312345678", "+81312345678", "03-1234-5678"),
        ("+81312345678", "+81312345678", "03-1234-5678"),
        ("+81 3 1234 5678", "+81312345678", "03-1234-5678"),
        ("０３－１２３４－５６７８", "+81312345678", "03-1234-5678"),
        ("(03)1234-5678", "+81312345678", "03-1234-5678"),
        ("09012345678", "+819012345678", "090-1234-5678"),
        ("080 1234 5678", "+818012345678", "080-1234-5678"),
        ("05012345678", "+815012345678", "050-1234-5678"),
        ("0120-123-456", "+81120123456", "0120-123-456"),
        ("0452223333", "+81452223333", "045-222-3333"),
        ("0661234567", "+81661234567", "06-6123-4567"),
        # Half-width kana mode's long-vowel mark typed for the hyphen.
        ("090ｰ1234ｰ5678", "+819012345678", "090-1234-5678"),
        # A note after the number, as one before it is read.
        ("090-1234-5678（携帯）", "+819012345678", "090-1234-5678"),
        ("03-1234-5678 代表", "+81312345678", "03-1234-5678"),
    ],
)
def test_numbers_in_any_format_are_normalised_and_shown_hyphenated(typed, e164, shown):
    assert normalize_phone(typed) == e164
    assert format_phone(normalize_phone(typed)) == shown


@pytest.mark.parametrize(
    "typed", ["031234567", "090123456789", "abc", "12345", "0000000000"]
)
def test_invalid_numbers_get_a_japanese_message(typed):
    # Twice: the second answer comes from the parse cache and must say the same.
    messages = []
    for _ in range(2):
        with pytest.raises(ValidationError) as excinfo:
            normalize_phone(typed)
        messages.append(" ".join(excinfo.value.messages))
    assert "電話番号" in messages[0]
    assert messages[0] == messages[1]


def test_blank_number_is_required():
    with pytest.raises(ValidationError) as excinfo:
        normalize_phone("  ")
    assert "入力してください" in excinfo.value.messages[0]


def test_a_number_of_a_refused_kind_is_refused_every_time():
    # 0990 (premium-rate information service) is a real Japanese number type that a
    # caller cannot be asked to call back on.
    for _ in range(2):
        with pytest.raises(ValidationError) as excinfo:
            normalize_phone("0990-123-456")
        assert "受け付けできません" in excinfo.value.messages[0]


# Stored in E.164, shown (and read) as the second column.
NUMBERS = {
    "+81312345678": "03-1234-5678",
    "+81312220222": "03-1222-0222",
    "+81322245678": "03-2224-5678",
    "+819012345678": "090-1234-5678",
    "+81112345678": "011-234-5678",  # Sapporo: its area code begins with 1
    "+14155552671": "+1 415-555-2671",
}


@pytest.mark.parametrize(
    ("typed", "found"),
    [
        # The start of a number, in its national form.
        ("0312", {"03-1234-5678", "03-1222-0222"}),
        ("03-1234", {"03-1234-5678"}),
        ("０３－１２３４", {"03-1234-5678"}),
        ("(03)1234", {"03-1234-5678"}),
        ("03ｰ1234", {"03-1234-5678"}),  # half-width kana mode types ｰ for -
        ("03−1234", {"03-1234-5678"}),  # a minus sign pasted from a web page
        ("090 1234", {"090-1234-5678"}),
        ("0112", {"011-234-5678"}),
        # Digits from inside or at the end of a number.
        ("1234", {"03-1234-5678", "090-1234-5678", "011-234-5678"}),
        ("5678", {"03-1234-5678", "03-2224-5678", "090-1234-5678", "011-234-5678"}),
        ("0222", {"03-1222-0222"}),  # 03-2224-5678 holds 222 but not 0222
        ("2224-5678", {"03-2224-5678"}),
        ("1123", {"011-234-5678"}),  # 0112345678 holds it: not the country code
        # Only the country code +81 runs into these: no number holds them.
        ("1312", set()),
        ("8131", set()),
        ("81312345678", set()),
        ("8111", set()),
        # A number abroad, read as written.
        ("1415", {"+1 415-555-2671"}),
        ("555-2671", {"+1 415-555-2671"}),
        # Typed with + : the start of the number in E.164.
        ("+8131", {"03-1234-5678", "03-1222-0222"}),
        ("+81 90 1234", {"090-1234-5678"}),
        ("+1415", {"+1 415-555-2671"}),
        ("+1234", set()),
    ],
)
def test_a_number_typed_in_part_finds_the_numbers_that_hold_it(db, typed, found):
    for e164 in NUMBERS:
        ClientFactory(own_number=e164)
    condition = partial_number_condition(typed, "own_number")
    assert condition is not None
    numbers = Client.objects.filter(condition).values_list("own_number", flat=True)
    assert {NUMBERS[n] for n in numbers} == found


@pytest.mark.parametrize(
    "typed",
    ["", "   ", "123", "03-1", "+813", "03-12a4", "山田0312", "0312年", "03+1234"],
)
def test_text_that_is_not_part_of_a_number_is_not_looked_up(typed):
    assert partial_number_condition(typed, "own_number") is None
