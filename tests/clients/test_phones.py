import pytest
from django.core.exceptions import ValidationError

from clients.phones import format_phone, normalize_phone


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
