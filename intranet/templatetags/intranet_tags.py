"""`{% load intranet_tags %}`: rich text rendered safely, and the community guidelines link."""

from __future__ import annotations

import nh3
from django import template
from django.utils.safestring import SafeString, mark_safe
from wagtail.rich_text import RichText, expand_db_html

register = template.Library()

ALLOWED_TAGS = {
    "p", "br", "h2", "h3", "h4", "h5", "strong", "b", "em", "i", "ol", "ul", "li", "hr", "a",
    "img", "blockquote", "figure", "figcaption",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "width", "height", "class"},
}


def clean_html(html: str) -> SafeString:
    """What rich text may contain once rendered: no script, no styles, http(s)/mailto links."""
    cleaned = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )
    return mark_safe(cleaned)  # noqa: S308  (sanitised by nh3 just above)


@register.filter
def safe_richtext(value) -> SafeString:
    """Wagtail's `richtext`, then sanitised: whatever the stored HTML (an import, a broken
    revision), the page shows only the allowed tags."""
    if value is None:
        return mark_safe("")  # noqa: S308
    source = value.source if isinstance(value, RichText) else str(value)
    try:
        html = expand_db_html(source)
    except Exception:  # broken stored markup: show what can be shown, never a 500
        html = source
    return clean_html(html)


@register.simple_tag
def guidelines_url() -> str:
    """The community guidelines page's URL, or "" while it is not published (one query)."""
    from intranet.selectors import guidelines_url as find

    return find()
