"""The sentence that says what a notification is about, in the reader's language."""

from __future__ import annotations

from html import unescape

from django.utils.html import strip_tags
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from feeds.models import Report

from .models import Kind, Notification


def actor_name(notification: Notification) -> str:
    actor = notification.actor
    if actor is None:
        return _("Someone")
    profile = getattr(actor, "profile", None)
    return (profile.display_name if profile is not None else "") or actor.get_username()


def describe(notification: Notification) -> str:
    """ "Ana and 4 others reacted to your post", "Ben mentioned you in a comment", ..."""
    who = actor_name(notification)
    group = notification.group.name if notification.group_id and notification.group else ""
    kind = notification.kind
    if kind == Kind.MENTION:
        if notification.comment_id:
            return _("%(who)s mentioned you in a comment") % {"who": who}
        return _("%(who)s mentioned you in a post") % {"who": who}
    if kind == Kind.COMMENT:
        return _("%(who)s commented on your post") % {"who": who}
    if kind == Kind.REPLY:
        return _("%(who)s replied to your comment") % {"who": who}
    if kind == Kind.REACTION:
        others = max(notification.actor_count - 1, 0)
        if not others:
            return _("%(who)s reacted to your post") % {"who": who}
        return ngettext(
            "%(who)s and %(count)d other reacted to your post",
            "%(who)s and %(count)d others reacted to your post",
            others,
        ) % {"who": who, "count": others}
    if kind == Kind.FOLLOW:
        return _("%(who)s started following you") % {"who": who}
    if kind == Kind.INVITATION:
        return _("%(who)s invited you to join %(group)s") % {"who": who, "group": group}
    if kind == Kind.JOIN_REQUEST:
        return _("%(who)s asked to join %(group)s") % {"who": who, "group": group}
    if kind == Kind.JOIN_DECISION:
        if notification.extra.get("approved"):
            return _("Your request to join %(group)s was approved") % {"group": group}
        return _("Your request to join %(group)s was declined") % {"group": group}
    if kind == Kind.NEWS:
        return _("News: %(title)s") % {"title": notification.extra.get("title", "")}
    if kind == Kind.REPORT:
        return _("%(who)s reported a post: %(reason)s") % {
            "who": who,
            "reason": reason_label(notification.extra.get("reason", "")),
        }
    return _("Something happened")


def reason_label(reason: str) -> str:
    """A report's reason as its reader says it ("Spam or advertising")."""
    if reason in Report.Reason.values:
        return str(Report.Reason(reason).label)
    return str(Report.Reason.OTHER.label)


def excerpt(notification: Notification, *, length: int = 140) -> str:
    """A short quote of what was written (the comment, else the post), as plain text
    (from the rendered Markdown: no `**`, links as their text).

    Never for a report: what was reported is read in the admin, not in lists and emails.
    """
    if notification.kind == Kind.REPORT:
        return ""
    if notification.kind == Kind.NEWS:
        text = notification.extra.get("lead", "")
    elif notification.comment_id and notification.comment is not None:
        text = unescape(strip_tags(notification.comment.body_html))
    elif notification.post_id and notification.post is not None:
        text = unescape(strip_tags(notification.post.body_html))
    else:
        return ""
    return Truncator(" ".join(text.split())).chars(length)
