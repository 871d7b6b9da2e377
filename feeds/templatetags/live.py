"""`{% live_feed page as live_hook %}`: whether the feed on this page gets live updates.

Load with `{% load live %}`. feeds/partials/feed.html asks it, so every page that lists a
feed (home, a group, a profile) gets the live hook without its view knowing: the page is
recognised by its URL name and the object its view put in the context. Pages reached with
?before= or ?since= are history, and get none.
"""

from __future__ import annotations

from django import template

from feeds.cursors import encode_cursor

register = template.Library()


@register.simple_tag(takes_context=True)
def live_feed(context, page) -> dict | None:
    request = context.get("request")
    if request is None or request.GET.get("before") or request.GET.get("since"):
        return None
    match = getattr(request, "resolver_match", None)
    name = match.view_name if match is not None else ""
    if name == "feeds:home":
        key = "home"
    elif name == "groups:detail" and getattr(context.get("group"), "pk", None):
        key = f"group:{context['group'].pk}"
    elif name == "profiles:detail" and getattr(context.get("profile"), "user_id", None):
        key = f"profile:{context['profile'].user_id}"
    else:
        return None
    # An empty feed catches up from the beginning: everything in it is new.
    cursor = getattr(page, "newest_cursor", None) or encode_cursor(0)
    return {"key": key, "cursor": cursor}
