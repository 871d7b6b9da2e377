"""Small helpers for the shared templates (components/ and feeds/).

Load with `{% load agora_ui %}`.
"""

from __future__ import annotations

from django import template
from django.forms import BoundField
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def initials(name: str | None) -> str:
    """Up to two capital letters from a display name: "Ada Lovelace" -> "AL"."""
    words = [w for w in str(name or "").replace("-", " ").split() if w[:1].isalnum()]
    if not words:
        return "?"
    letters = words[0][0] + (words[-1][0] if len(words) > 1 else "")
    return letters.upper()


def _ids(field: BoundField) -> tuple[str, str]:
    base = field.auto_id or field.html_name
    return f"{base}_helptext", f"{base}_errors"


@register.filter
def help_id(field: BoundField) -> str:
    return _ids(field)[0]


@register.filter
def errors_id(field: BoundField) -> str:
    return _ids(field)[1]


@register.simple_tag
def widget(field: BoundField, **attrs) -> str:
    """Render a field's widget tied to its help text and errors for assistive technology.

    `aria-describedby` names the help text and the error list (when present);
    `aria-invalid="true"` marks a field with errors. Extra keyword arguments become
    attributes (`{% widget field rows=6 data_charcount="5000" %}`; `_` becomes `-`).
    """
    help_text_id, error_id = _ids(field)
    described = []
    if field.help_text:
        described.append(help_text_id)
    if field.errors:
        described.append(error_id)
    extra = {key.replace("_", "-"): value for key, value in attrs.items()}
    extra_described = extra.pop("aria-describedby", "")
    if extra_described:
        described.append(str(extra_described))
    if described:
        extra["aria-describedby"] = " ".join(described)
    if field.errors:
        extra["aria-invalid"] = "true"
    if field.field.required and not field.field.widget.is_hidden:
        extra.setdefault("required", True)
    return field.as_widget(attrs=extra)


@register.simple_tag
def audience_label(post) -> str:
    """A short, translated audience badge for a post."""
    if post.audience == "group" and post.group_id:
        return _("Group")
    if post.audience == "agency":
        agency = post.agency
        if agency is not None:
            return _("Agency: %(agency)s") % {"agency": agency.short_name or agency.name}
        return _("Agency")
    return _("Everyone")


def _csrf_token(context) -> str:
    """The page's CSRF token, as `{% csrf_token %}` reads it (the same one for every form)."""
    token = str(context.get("csrf_token") or "")
    return "" if token == "NOTPROVIDED" else token  # noqa: S105  (Django's "no token")


@register.simple_tag(takes_context=True)
def post_card(context, post, heading_level=3, full=False, no_report=False):
    """A post's card (feeds/cards.py): `{% post_card post heading_level=2 full=True %}`.
    Its reaction forms come back to `next` if the page sets it, else to the page itself; with
    `live` set in the context it is the card rendered once for every viewer."""
    from feeds import cards

    request = context.get("request")
    return cards.post_card(
        post,
        back_to=context.get("next") or (request.get_full_path() if request else ""),
        csrf_token=_csrf_token(context),
        heading_level=heading_level,
        full=full,
        live=bool(context.get("live")),
        no_report=no_report,
    )
