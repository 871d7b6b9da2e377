"""The outbox consumer that turns events into notifications (settings.OUTBOX_CONSUMERS).

Events carry ids only: each handler reloads what the event names and asks the permission
module who may see it. A notification about a post or a comment goes only to people in
`permissions.post_audience(post)` (so a mention inside a secret group reaches nobody outside
it), is never about one's own doing, and respects the recipient's preference for its kind
(`off`: nothing is written). A report of a post goes to the moderators the permission module
names (`permissions.report_moderators()`), and says nothing of what the post says.

Idempotent: every notification has a key (what it is about) unique per recipient, so handling
an event twice writes nothing new; grouped reactions are recomputed from the reaction rows.
Emails and the live bell count go out after the commit (`transaction.on_commit`): if the
drain rolls back, nothing was sent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Max, Q
from django.urls import reverse
from django.utils import timezone

import permissions
from feeds.models import Comment, Mention, Post, Reaction, Report
from groups.models import Group, Invitation, JoinRequest, Membership
from profiles.models import Follow, Profile

from . import emails, live
from .models import Delivery, Kind, Notification
from .selectors import delivery_for

logger = logging.getLogger(__name__)

CHUNK = 1000


@dataclass
class Draft:
    """A notification to write unless the recipient has it already (same key)."""

    recipient_id: int
    kind: str
    key: str
    url: str
    actor_id: int | None = None
    post_id: int | None = None
    comment_id: int | None = None
    group_id: int | None = None
    extra: dict = field(default_factory=dict)
    actor_count: int = 1
    activity_at: datetime | None = None


def _chunks(items: list, size: int = CHUNK) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def write(drafts: Iterable[Draft]) -> list[Notification]:
    """Write the drafts that are new, honouring preferences; deliver them after commit."""
    created: list[Notification] = []
    immediate: list[int] = []
    by_kind: dict[str, list[Draft]] = {}
    for draft in drafts:
        by_kind.setdefault(draft.kind, []).append(draft)
    for kind, kind_drafts in by_kind.items():
        for chunk in _chunks(kind_drafts):
            wanted = delivery_for(user_ids={d.recipient_id for d in chunk}, kind=kind)
            chunk = [d for d in chunk if wanted[d.recipient_id] != Delivery.OFF]
            if not chunk:
                continue
            existing = set(
                Notification.objects.filter(
                    recipient_id__in={d.recipient_id for d in chunk},
                    key__in={d.key for d in chunk},
                ).values_list("recipient_id", "key")
            )
            rows = [
                Notification(
                    recipient_id=d.recipient_id,
                    kind=d.kind,
                    key=d.key,
                    url=d.url,
                    actor_id=d.actor_id,
                    post_id=d.post_id,
                    comment_id=d.comment_id,
                    group_id=d.group_id,
                    extra=d.extra,
                    actor_count=d.actor_count,
                    activity_at=d.activity_at or timezone.now(),
                )
                for d in chunk
                if (d.recipient_id, d.key) not in existing
            ]
            rows = Notification.objects.bulk_create(rows)
            created.extend(rows)
            immediate.extend(
                row.pk for row in rows if wanted[row.recipient_id] == Delivery.IMMEDIATE
            )
    _deliver(immediate, {row.recipient_id for row in created})
    return created


class _AfterCommit:
    """What to send once the transaction commits: immediate emails and bell counts, gathered
    over a whole drain (one push per person, not one per event)."""

    def __init__(self) -> None:
        self.immediate: list[int] = []
        self.touched: set[int] = set()

    def __call__(self) -> None:
        if self.immediate:
            emails.send_immediate(self.immediate)
        if self.touched:
            live.push_unread_counts(self.touched)


def _after_commit() -> _AfterCommit:
    """This transaction's batch, scheduled once (a new one if a rollback dropped it)."""
    connection = transaction.get_connection()
    for _savepoints, callback, _robust in connection.run_on_commit:
        if isinstance(callback, _AfterCommit):
            return callback
    batch = _AfterCommit()
    transaction.on_commit(batch, robust=True)
    return batch


def _deliver(immediate_ids: list[int], touched_user_ids: Iterable[int]) -> None:
    """Email and push after commit. A notification a later rollback undid is simply not
    found by then (the email is skipped; the count is read fresh)."""
    touched = set(touched_user_ids)
    if not immediate_ids and not touched:
        return
    if not transaction.get_connection().in_atomic_block:
        batch = _AfterCommit()
        batch.immediate, batch.touched = list(immediate_ids), touched
        batch()
        return
    batch = _after_commit()
    batch.immediate.extend(immediate_ids)
    batch.touched |= touched


def _audience_ids(post: Post, candidates: Iterable[int]) -> set[int]:
    """Those of `candidates` who may see `post` (the permission module's audience)."""
    ids = set(candidates)
    if not ids:
        return set()
    return set(permissions.post_audience(post).filter(pk__in=ids).values_list("pk", flat=True))


def _post(post_id: int) -> Post | None:
    post = Post.objects.select_related("group").filter(pk=post_id).first()
    return post if post is not None and post.deleted is None else None


# --- posts and comments -----------------------------------------------------------------------


def post_mentions(post_id: int, payload: dict) -> None:
    """post.created, post.updated: the people @mentioned in the post (new mentions only)."""
    post = _post(post_id)
    if post is None:
        return
    mentioned = Mention.objects.filter(post=post, comment__isnull=True).exclude(
        user_id=post.author_id
    )
    recipients = _audience_ids(post, mentioned.values_list("user_id", flat=True))
    write(
        Draft(
            recipient_id=user_id,
            kind=Kind.MENTION,
            key=f"mention:post:{post.pk}",
            url=post.get_absolute_url(),
            actor_id=post.author_id,
            post_id=post.pk,
        )
        for user_id in sorted(recipients)
    )


def news_published(post_id: int, payload: dict) -> None:
    """news.published: an intranet news article's announcement reached its audience."""
    post = _post(post_id)
    if post is None:
        return
    url = payload.get("url") or post.get_absolute_url()
    extra = {"title": str(payload.get("title", ""))[:200], "lead": str(payload.get("lead", ""))}
    audience = list(
        permissions.post_audience(post)
        .exclude(pk=post.author_id)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    write(
        Draft(
            recipient_id=user_id,
            kind=Kind.NEWS,
            key=f"news:{post.pk}",
            url=url,
            actor_id=post.author_id,
            post_id=post.pk,
            extra=extra,
        )
        for user_id in audience
    )


def post_deleted(post_id: int, payload: dict) -> None:
    """post.deleted: nobody is told about a post nobody may see."""
    _delete(Notification.objects.filter(post_id=post_id))


def comment_created(comment_id: int, payload: dict) -> None:
    """comment.created: mentions in it, a reply to my comment, a comment on my post.

    One notification per person per comment: a mention wins over a reply, a reply over a
    comment.
    """
    comment = Comment.objects.select_related("post__group", "parent").filter(pk=comment_id).first()
    if comment is None or comment.deleted is not None or comment.post.deleted is not None:
        return
    post = comment.post
    kinds: dict[int, str] = {}
    kinds[post.author_id] = Kind.COMMENT
    if comment.parent is not None and comment.parent.deleted is None:
        kinds[comment.parent.author_id] = Kind.REPLY
    for user_id in Mention.objects.filter(comment=comment).values_list("user_id", flat=True):
        kinds[user_id] = Kind.MENTION
    kinds.pop(comment.author_id, None)
    recipients = _audience_ids(post, kinds)
    url = f"{post.get_absolute_url()}#comment-{comment.pk}"
    write(
        Draft(
            recipient_id=user_id,
            kind=kinds[user_id],
            key=f"comment:{comment.pk}",
            url=url,
            actor_id=comment.author_id,
            post_id=post.pk,
            comment_id=comment.pk,
        )
        for user_id in sorted(recipients)
    )


def comment_deleted(comment_id: int, payload: dict) -> None:
    _delete(Notification.objects.filter(comment_id=comment_id))


def reaction_changed(post_id: int, payload: dict) -> None:
    """reaction.changed: one notification per post for its author, "Ana and 4 others".

    Recomputed from the reaction rows: the newest reactor is named, the others counted. A new
    reaction makes it unread again and due for tomorrow's digest (and, if it had been read, for
    an immediate email again: an unread one is not emailed twice); a withdrawn one only
    updates the count, and when nobody is left the notification goes.
    """
    post = _post(post_id)
    key = f"reaction:post:{post_id}"
    if post is None:
        return
    author_id = post.author_id
    existing = Notification.objects.filter(recipient_id=author_id, key=key).first()
    if not _audience_ids(post, [author_id]):
        if existing is not None:
            _delete(Notification.objects.filter(pk=existing.pk))
        return
    reactors = list(
        Reaction.objects.filter(post_id=post_id, user__is_active=True)
        .exclude(user_id=author_id)
        .values("user_id")
        .annotate(latest=Max("created"))
        .order_by("-latest", "-user_id")
    )
    if not reactors:
        if existing is not None:
            _delete(Notification.objects.filter(pk=existing.pk))
        return
    newest = reactors[0]
    if existing is None:
        write(
            [
                Draft(
                    recipient_id=author_id,
                    kind=Kind.REACTION,
                    key=key,
                    url=post.get_absolute_url(),
                    actor_id=newest["user_id"],
                    post_id=post_id,
                    actor_count=len(reactors),
                    activity_at=newest["latest"],
                )
            ]
        )
        return
    existing.actor_count = len(reactors)
    if newest["latest"] <= existing.activity_at:  # someone withdrew: only the count changes
        existing.save(update_fields=["actor_count"])
        return
    was_read = existing.read_at is not None
    existing.actor_id = newest["user_id"]
    existing.activity_at = newest["latest"]
    existing.read_at = None
    existing.digest = None  # tomorrow's digest tells the new count
    if was_read:
        existing.emailed_at = None  # read, then new reactions: worth telling again
    existing.save()
    if was_read:
        wanted = delivery_for(user_ids=[author_id], kind=Kind.REACTION)[author_id]
        _deliver([existing.pk] if wanted == Delivery.IMMEDIATE else [], [author_id])


# --- people and groups ------------------------------------------------------------------------


def follow_created(follow_id: int, payload: dict) -> None:
    edge = Follow.objects.select_related("follower", "followee").filter(pk=follow_id).first()
    if edge is None or not edge.follower.is_active or not edge.followee.is_active:
        return
    write(
        [
            Draft(
                recipient_id=edge.followee_id,
                kind=Kind.FOLLOW,
                key=f"follow:{edge.follower_id}",
                url=reverse("profiles:detail", args=[edge.follower.get_username()]),
                actor_id=edge.follower_id,
            )
        ]
    )


def invitation_created(invitation_id: int, payload: dict) -> None:
    invitation = (
        Invitation.objects.select_related("group", "invitee").filter(pk=invitation_id).first()
    )
    if invitation is None or invitation.status != Invitation.Status.PENDING:
        return
    if not permissions.can_view_group(invitation.invitee, invitation.group):
        return
    write(
        [
            Draft(
                recipient_id=invitation.invitee_id,
                kind=Kind.INVITATION,
                key=f"invitation:{invitation.pk}",
                url=invitation.group.get_absolute_url(),
                actor_id=invitation.inviter_id,
                group_id=invitation.group_id,
            )
        ]
    )


def invitation_answered(invitation_id: int, payload: dict) -> None:
    """invitation.declined: the invitation was answered; its notification is done."""
    _mark_read(Notification.objects.filter(key=f"invitation:{invitation_id}"))


def join_request_created(request_id: int, payload: dict) -> None:
    """join_request.created: tell the owners and admins of the group."""
    join_request = JoinRequest.objects.select_related("group").filter(pk=request_id).first()
    if join_request is None or join_request.status != JoinRequest.Status.PENDING:
        return
    managers = (
        Membership.objects.filter(
            group_id=join_request.group_id,
            role__in=[Membership.Role.OWNER, Membership.Role.ADMIN],
            user__is_active=True,
        )
        .exclude(user_id=join_request.user_id)
        .values_list("user_id", flat=True)
    )
    url = f"{join_request.group.get_absolute_url()}#requests-heading"
    write(
        Draft(
            recipient_id=user_id,
            kind=Kind.JOIN_REQUEST,
            key=f"join_request:{join_request.pk}",
            url=url,
            actor_id=join_request.user_id,
            group_id=join_request.group_id,
        )
        for user_id in sorted(managers)
    )


def join_request_decided(request_id: int, payload: dict) -> None:
    """join_request.decided: tell the person who asked; the managers' notices are done."""
    join_request = JoinRequest.objects.select_related("group").filter(pk=request_id).first()
    if join_request is None or join_request.status == JoinRequest.Status.PENDING:
        return
    _mark_read(Notification.objects.filter(key=f"join_request:{join_request.pk}"))
    approved = join_request.status == JoinRequest.Status.APPROVED
    write(
        [
            Draft(
                recipient_id=join_request.user_id,
                kind=Kind.JOIN_DECISION,
                key=f"join_decision:{join_request.pk}",
                url=join_request.group.get_absolute_url(),
                actor_id=join_request.decided_by_id,
                group_id=join_request.group_id,
                extra={"approved": approved},
            )
        ]
    )


# --- reports of posts ------------------------------------------------------------------------


def report_created(report_id: int, payload: dict) -> None:
    """report.created: tell every moderator (`permissions.report_moderators`) that a post
    was reported, linking to the report in Django's admin, where they resolve it.

    Neither the reporter nor the post's author is told (the author never learns of a report,
    even when they moderate). The notification names the reporter and the reason, never
    the post's text or the reporter's details, and is not tied to the post: what was
    reported is read in the admin, and a post the author deletes still leaves a report to
    resolve. A report resolved before the event was handled tells nobody.
    """
    report = Report.objects.select_related("post").filter(pk=report_id).first()
    if report is None or report.status != Report.Status.OPEN:
        return
    moderators = (
        permissions.report_moderators()
        .exclude(pk__in=[report.reporter_id, report.post.author_id])
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    url = reverse("admin:feeds_report_change", args=[report.pk])
    write(
        Draft(
            recipient_id=user_id,
            kind=Kind.REPORT,
            key=f"report:{report.pk}",
            url=url,
            actor_id=report.reporter_id,
            extra={"reason": report.reason},
        )
        for user_id in moderators
    )


def report_resolved(report_id: int, payload: dict) -> None:
    """report.resolved: a moderator dealt with the report; every moderator's notification of
    it is marked read, so that the bell stops counting it (as a join request's notices are,
    once a manager decided). A report opened again before the event was handled stays
    unread."""
    if Report.objects.filter(pk=report_id, status=Report.Status.RESOLVED).exists():
        _mark_read(Notification.objects.filter(kind=Kind.REPORT, key=f"report:{report_id}"))


# --- keeping what people are told in line with what they may see -----------------------------


def prune_for(user_ids: Iterable[int]) -> int:
    """Delete notifications their recipients may no longer see (left a group, moved agency)."""
    User = get_user_model()
    removed = 0
    for user in User.objects.filter(pk__in=list(user_ids), is_active=True):
        stale = (
            Notification.objects.filter(recipient_id=user.pk)
            .exclude(post__isnull=True)
            .exclude(post__in=permissions.visible_posts(user).values("pk"))
        )
        stale_groups = (
            Notification.objects.filter(recipient_id=user.pk)
            .exclude(group__isnull=True)
            .exclude(group__in=permissions.visible_groups(user).values("pk"))
        )
        removed += _delete(stale) + _delete(stale_groups)
    return removed


def membership_changed(group_id: int, payload: dict) -> None:
    user_id = payload.get("user")
    if user_id is not None:
        prune_for([user_id])


def group_updated(group_id: int, payload: dict) -> None:
    """A group that turned private or secret takes its posts out of outsiders' sight."""
    if Group.objects.filter(pk=group_id, kind=Group.Kind.OPEN).exists():
        return
    recipients = (
        Notification.objects.filter(Q(post__group_id=group_id) | Q(group_id=group_id))
        .values_list("recipient_id", flat=True)
        .distinct()
    )
    prune_for(list(recipients))


def profile_updated(profile_id: int, payload: dict) -> None:
    """A person who moved agency no longer sees their old agency's posts."""
    user_id = Profile.objects.filter(pk=profile_id).values_list("user_id", flat=True).first()
    if user_id is not None:
        prune_for([user_id])


def _delete(qs) -> int:
    unread_of = set(qs.filter(read_at__isnull=True).values_list("recipient_id", flat=True))
    deleted, _detail = qs.delete()
    if unread_of:
        _deliver([], unread_of)
    return deleted


def _mark_read(qs) -> None:
    unread = qs.filter(read_at__isnull=True)
    users = set(unread.values_list("recipient_id", flat=True))
    if users:
        unread.update(read_at=timezone.now())
        _deliver([], users)


HANDLERS: dict[str, Callable[[int, dict], None]] = {
    "post.created": post_mentions,
    "post.updated": post_mentions,
    "post.deleted": post_deleted,
    "news.published": news_published,
    "comment.created": comment_created,
    "comment.deleted": comment_deleted,
    "reaction.changed": reaction_changed,
    "follow.created": follow_created,
    "invitation.created": invitation_created,
    "invitation.declined": invitation_answered,
    "join_request.created": join_request_created,
    "join_request.decided": join_request_decided,
    "report.created": report_created,
    "report.resolved": report_resolved,
    "membership.changed": membership_changed,
    "group.updated": group_updated,
    "profile.updated": profile_updated,
}


def handle_event(event) -> None:
    """Bring notifications in line with what `event` says happened (docs/events.md)."""
    handler = HANDLERS.get(event.topic)
    if handler is not None:
        handler(event.object_id, event.payload or {})
