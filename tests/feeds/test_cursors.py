"""Feed cursors are opaque, round-trip exactly, and anything else is an InvalidCursor."""

import base64

import pytest

from feeds.cursors import InvalidCursor, decode_cursor, encode_cursor

BIGINT_MAX = 2**63 - 1


def raw(text: str) -> str:
    """A cursor made by hand from its plain form."""
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize("item_id", [0, 1, 42, 10**9, BIGINT_MAX])
def test_round_trip(item_id):
    """encode then decode gives the id back; the cursor is URL-safe and unpadded."""
    cursor = encode_cursor(item_id)
    assert decode_cursor(cursor) == item_id
    assert "=" not in cursor and "/" not in cursor and "+" not in cursor
    assert str(item_id) not in cursor or item_id < 10


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        None,
        "garbage",
        "!!!!",
        "%%%%%%%%",
        "é",
        raw("p:"),
        raw("p:-1"),
        raw("p:+1"),
        raw("p:1.5"),
        raw("p:1e3"),
        raw("p: 1"),
        raw("p:0x10"),
        raw("q:1"),
        raw("P:1"),
        raw("1"),
        raw("p1"),
        raw("p:" + "9" * 20),
        raw(f"p:{BIGINT_MAX + 1}"),
        raw("p:9999999999999999999"),
        "A" * 41,
        raw("p:1") + "=" * 30,
        raw("p:007"),
        raw("p:1") + "!",
        "!" + raw("p:1"),
    ],
)
def test_malformed_cursors_are_refused(cursor):
    """Garbage, negative, huge, fractional, wrong prefix, empty and non-canonical cursors are
    InvalidCursor."""
    with pytest.raises(InvalidCursor):
        decode_cursor(cursor)


def test_invalid_cursor_is_a_value_error():
    """Callers that catch ValueError also catch a bad cursor."""
    assert issubclass(InvalidCursor, ValueError)
