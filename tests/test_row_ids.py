"""Ids from the address bar: the console, the portal's paging and the admin share
one parser, which answers None rather than raising."""

import pytest
from django.db.models import BigIntegerField

from config.row_ids import parse_row_id


@pytest.mark.parametrize(
    ("text", "row_id"),
    [
        ("1", 1),
        ("0042", 42),
        (str(BigIntegerField.MAX_BIGINT), BigIntegerField.MAX_BIGINT),
        (str(BigIntegerField.MAX_BIGINT + 1), None),
        ("9" * 20, None),
        ("1" * 6000, None),
        ("", None),
        ("-1", None),
        ("1.0", None),
        (" 1", None),
        ("²", None),
        ("1\x00", None),
    ],
)
def test_parse_row_id(text, row_id):
    assert parse_row_id(text) == row_id
