"""Write paths of the intranet: news announcements in the feeds, and editors' roles.

Wagtail publishes and unpublishes pages; its `page_published` / `page_unpublished` signals
(intranet/receivers.py) call these functions, which go through the feeds' own actions
(`create_post`, `edit_post`, `delete_post`), so an announcement obeys the same rules as any
post, is pushed live and indexed for search like any post.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group as AuthGroup
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.html import strip_tags
from django.utils.text import Truncator
from django.utils.translation import gettext as _

import permissions
from feeds import actions as feed_actions
from feeds.models import Post
from outbox.actions import record_event

from .models import NewsAnnouncement, NewsArticle

logger = logging.getLogger(__name__)

EDITORS = "Editors"
MODERATORS = "Moderators"
ROLES = {"editor": EDITORS, "moderator": MODERATORS}
TAG_RE = re.compile(r"[^\w]+", re.UNICODE)


def announcement_body(page: NewsArticle) -> str:
    """The Markdown of the feed post: title, lead, a link to the article, its tags."""
    title = " ".join(page.title.split()).replace("*", "").replace("[", "(").replace("]", ")")
    lead = " ".join(strip_tags(page.lead or "").split())
    link = page.get_url() or ""
    tags = []
    for tag in page.tags.all().order_by("name") if page.pk else []:
        name = TAG_RE.sub("", tag.name).lower()[:60]
        if name and name not in tags:
            tags.append(name)
    parts = [f"**{title}**", Truncator(lead).chars(1500)]
    if link:
        parts.append(f"[{_('Read the article')}]({link})")
    if tags:
        parts.append(" ".join(f"#{name}" for name in tags[:10]))
    return "\n\n".join(part for part in parts if part)


def _target(page: NewsArticle) -> tuple[str, object]:
    if page.agency_id:
        return Post.Audience.AGENCY, page.agency
    return Post.Audience.EVERYONE, None


def _first(candidates: Iterable, allowed) -> object | None:
    seen = set()
    for user in candidates:
        if user is None or user.pk in seen:
            continue
        seen.add(user.pk)
        if allowed(user):
            return user
    return None


def _announcer(page: NewsArticle, revision=None):
    """Who signs the announcement: the editor who wrote the published revision, else the
    page's owner, if they may publish announcements (active staff)."""
    candidates = [getattr(revision, "user", None), page.owner]
    return _first(candidates, permissions.can_publish_announcement)


def _moderator_for(post: Post, candidates: Iterable, allowed):
    """Someone who may change `post` on the intranet's behalf: the people involved first,
    then any active staff member who may moderate it (an editor from another agency cannot
    see an announcement made for that agency)."""
    found = _first(candidates, lambda user: allowed(user, post))
    if found is not None:
        return found
    staff = get_user_model().objects.filter(is_active=True, is_staff=True).order_by("pk")
    if post.audience == Post.Audience.AGENCY:
        staff = staff.filter(profile__agency_id=post.agency_id)
    return _first(staff[:50], lambda user: allowed(user, post))


def announce_news(*, page: NewsArticle, revision=None) -> Post | None:
    """Announce a live news article in the feeds of the people it targets.

    First publication creates an announcement post (all staff, or one agency's staff);
    republishing edits that post rather than adding another; an article whose audience
    changed replaces it. Records `news.published` for the notifications. Returns the post,
    or None when nobody may sign it (logged: editors must be staff, see the README).
    """
    page = NewsArticle.objects.select_related("agency", "owner").get(pk=page.pk)
    if not page.live:
        return None
    audience, agency = _target(page)
    body = announcement_body(page)
    author = _announcer(page, revision)
    with transaction.atomic():
        link = (
            NewsAnnouncement.objects.select_for_update(of=("self",))
            .select_related("post__group")
            .filter(page=page)
            .first()
        )
        post = link.post if link is not None else None
        if post is not None and post.deleted is None:
            same_audience = post.audience == audience and (
                audience != Post.Audience.AGENCY or post.agency_id == page.agency_id
            )
            editor = post.author if permissions.can_edit_post(post.author, post) else None
            if same_audience and editor is not None:
                if post.body != body:
                    feed_actions.edit_post(post=post, editor=editor, body=body)
                return post
            _withdraw(post, candidates=[author, post.author])
        if author is None:
            logger.error(
                "News article %s is live but has no announcement: neither the editor of the "
                "published revision nor the page's owner is active staff.",
                page.pk,
            )
            return None
        post = feed_actions.create_post(
            author=author, body=body, audience=audience, agency=agency, is_announcement=True
        )
        NewsAnnouncement.objects.update_or_create(page=page, defaults={"post": post})
        record_event(
            topic="news.published",
            object_id=post.pk,
            payload={
                "page": page.pk,
                "url": page.get_url() or post.get_absolute_url(),
                "title": page.title,
                "lead": Truncator(" ".join((page.lead or "").split())).chars(300),
            },
        )
    return post


def withdraw_news(*, page: NewsArticle) -> Post | None:
    """Take an unpublished (or deleted) article's announcement out of every feed."""
    link = NewsAnnouncement.objects.select_related("post__group", "page__owner").filter(
        page_id=page.pk
    )
    link = link.first()
    if link is None or link.post.deleted is not None:
        return None
    with transaction.atomic():
        return _withdraw(link.post, candidates=[link.post.author, link.page.owner])


def _withdraw(post: Post, *, candidates) -> Post | None:
    actor = _moderator_for(post, candidates, permissions.can_delete_post)
    if actor is None:
        logger.error("Could not withdraw announcement post %s: nobody may delete it", post.pk)
        return None
    return feed_actions.delete_post(post=post, actor=actor)


# --- editors and moderators -------------------------------------------------------------------


def grant_role(*, user, role: str) -> None:
    """Make someone an intranet editor or moderator: staff, in the Wagtail group of the role.

    Editors write and submit pages for moderation; moderators also publish, and so announce
    news in the feeds, which only staff may do (permissions.can_publish_announcement).
    """
    if role not in ROLES:
        raise ValidationError({"role": _("Choose editor or moderator.")})
    if not user.is_active:
        raise ValidationError({"user": _("This account is deactivated.")})
    group = AuthGroup.objects.filter(name=ROLES[role]).first()
    if group is None:
        raise ValidationError({"role": _("The %(name)s group is missing.") % {"name": ROLES[role]}})
    with transaction.atomic():
        if not user.is_staff:
            user.is_staff = True
            user.save(update_fields=["is_staff"])
        user.groups.add(group)
