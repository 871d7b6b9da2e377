"""Opaque keyset cursors for feeds: a cursor names the id of the last item seen."""

import base64
import binascii


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
    return int(number)
