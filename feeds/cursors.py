"""Opaque keyset cursors for feeds: a cursor names the id of the last item seen."""

import base64
import binascii

MAX_ID = 2**63 - 1  # the largest id a (big) integer primary key holds


class InvalidCursor(ValueError):
    pass


def encode_cursor(item_id: int) -> str:
    return base64.urlsafe_b64encode(f"p:{item_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    if not cursor or len(cursor) > 40:
        raise InvalidCursor("malformed cursor")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidCursor("malformed cursor") from exc
    prefix, _, number = raw.partition(":")
    if prefix != "p" or not number.isdigit() or len(number) > 19:
        raise InvalidCursor("malformed cursor")
    item_id = int(number)
    # Ids are 64-bit; and only the one spelling encode_cursor makes is accepted (no padding,
    # leading zeros or characters base64 decoding would silently skip).
    if item_id > MAX_ID or encode_cursor(item_id) != cursor:
        raise InvalidCursor("malformed cursor")
    return item_id
