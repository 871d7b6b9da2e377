"""Markdown to safe HTML, and the @mentions and #hashtags a text contains.

markdown-it-py renders with raw HTML off (the `js-default` preset), a small core rule turns
@handle and #tag in text into links, and nh3 then sanitises the result against an allowlist:
no script, no event handlers, only http(s) and mailto links.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import nh3
from django.urls import reverse
from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token

# A handle is a Django username (letters, digits, . _ -, no trailing punctuation).
# A handle is a username: letters of any script, digits, "_", and "." or "-" inside.
MENTION_RE = re.compile(r"(?<![\w@/])@(\w(?:[\w.\-]{0,148}\w)?)")
# A hashtag is a whole word: a longer one is not cut to fit, it is left as text.
HASHTAG_RE = re.compile(
    r"(?<![\w#&/])#([^\W\d_][\w\-]{0,58}|\d+[^\W\d][\w\-]{0,57})(?![\w\-])", re.UNICODE
)
HASHTAG_MAX_LENGTH = 60  # Hashtag.name holds 60 characters (lower-cased; lower() may grow)
TOKEN_RE = re.compile(f"{MENTION_RE.pattern}|{HASHTAG_RE.pattern}", re.UNICODE)

ALLOWED_TAGS = {
    "p", "br", "strong", "em", "del", "s", "code", "pre", "blockquote", "ul", "ol", "li",
    "a", "h3", "h4", "h5", "h6", "hr", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title", "class"}, "ol": {"start"}, "th": {"align"}}


@dataclass(frozen=True)
class Rendered:
    html: str
    mentions: frozenset[str]  # lower-case handles, as linked in the text (not inside code)
    hashtags: frozenset[str]  # lower-case tags, likewise


def _link_tokens(state: StateCore) -> None:
    """Split text tokens (outside links and code) into mention and hashtag links."""
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        out: list[Token] = []
        inside_link = 0
        for token in block.children:
            if token.type == "link_open":
                inside_link += 1
            elif token.type == "link_close":
                inside_link -= 1
            if token.type != "text" or inside_link or not TOKEN_RE.search(token.content):
                out.append(token)
                continue
            pos = 0
            for match in TOKEN_RE.finditer(token.content):
                handle, tag = match.group(1), match.group(2)
                if tag and len(tag.lower()) > HASHTAG_MAX_LENGTH:
                    continue  # left as plain text
                if match.start() > pos:
                    text = Token("text", "", 0)
                    text.content = token.content[pos : match.start()]
                    out.append(text)
                if handle:
                    href = reverse("profiles:detail", args=[handle.lower()])
                    css = "mention"
                    state.env.setdefault("mentions", set()).add(handle.lower())
                else:
                    href = reverse("feeds:hashtag", args=[tag.lower()])
                    css = "hashtag"
                    state.env.setdefault("hashtags", set()).add(tag.lower())
                link_open = Token("link_open", "a", 1)
                link_open.attrs = {"href": href, "class": css}
                label = Token("text", "", 0)
                label.content = match.group(0)
                out.extend([link_open, label, Token("link_close", "a", -1)])
                pos = match.end()
            if pos < len(token.content):
                text = Token("text", "", 0)
                text.content = token.content[pos:]
                out.append(text)
        block.children = out


@lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    md = MarkdownIt("js-default", {"linkify": True, "typographer": False, "html": False})
    md.enable(["linkify", "strikethrough", "table"])
    md.disable(["image"])  # pictures come as attachments, checked and served by us
    md.core.ruler.push("agora_mentions_hashtags", _link_tokens)
    return md


def render(text: str) -> Rendered:
    """Safe HTML for a post or comment body, with the mentions and hashtags it links."""
    env: dict = {}
    html = _markdown().render(text, env)
    return Rendered(
        html=_sanitise(html),
        mentions=frozenset(env.get("mentions", ())),
        hashtags=frozenset(env.get("hashtags", ())),
    )


def _sanitise(html: str) -> str:
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow noopener noreferrer",
    )
