"""Highlighted snippets, made safe: the only markup that reaches a page is `<mark>`.

Backends mark matches with the control characters \\x02 (start) and \\x03 (end), which the
indexed text never contains (search.documents strips control characters). Rendering escapes
everything, turns the markers into `<mark>` and `</mark>`, and passes the result through nh3
with `mark` as the only allowed tag, so a post containing `<script>` or a stray marker can
never produce anything else.
"""

from __future__ import annotations

import nh3
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

START, STOP = "\x02", "\x03"


def render(text: str) -> SafeString:
    """Escaped text with the backend's match markers as <mark> elements."""
    html = escape(text or "").replace(START, "<mark>").replace(STOP, "</mark>")
    return mark_safe(nh3.clean(html, tags={"mark"}, attributes={}))  # noqa: S308


def plain(text: str) -> str:
    """The snippet without its markers (for JSON consumers that want text)."""
    return (text or "").replace(START, "").replace(STOP, "")


def shorten(text: str, limit: int = 240) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
