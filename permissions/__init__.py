"""The one permission module: who may see and do what.

Every read path (feeds, post pages, comments, attachments, the API, and later search, live
updates and notifications) asks this module, in whichever form it needs:

- one object:       `can_view_post(user, post)`, `can_view_group(user, group)`, ...
- a queryset:       `visible_posts(user)`, `visible_groups(user)`, `visible_comments(user)`
- an audience:      `post_audience(post)`: the users who may see a post, and
                    `report_moderators()`: the users who resolve reports of posts
- live streams:     `live_streams(user)`: the streams a user's websockets may read, and
                    `post_stream(post)`: the one stream a post's live events go to

The forms encode the same rules; `tests/permissions/test_property.py` checks on random
worlds that they never disagree.

Rules
- Only active, signed-in staff see anything.
- A post's audience is `everyone` (all staff), `agency` (staff of the agency the post was
  written in), or `group`. A group post is readable by all staff when the group is open,
  otherwise by its members only. Deleted posts are seen by nobody.
- Groups: open and private groups are listed for all staff; a secret group exists only for
  its members and the people invited to it. Outsiders get 404 for it, never 403.
- Reports of posts are resolved by whoever Django's admin lets change them: active site
  staff (`is_staff`) with `feeds.change_report` (the "Moderators" group, or superusers).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    from feeds.models import Attachment, Comment, Post
    from groups.models import Group

    AnyUser = AbstractBaseUser | AnonymousUser


# --- who is someone -------------------------------------------------------------------------


def is_active_staff(user: AnyUser | None) -> bool:
    """Signed in and not deactivated: the only people who see anything."""
    return bool(user is not None and user.is_authenticated and user.is_active)


_AGENCY_READS: ContextVar[dict | None] = ContextVar("agora_agency_reads", default=None)


@contextmanager
def agency_read_once() -> Iterator[None]:
    """Within this block, `agency_id_of` reads each person's agency once, not once per call.

    For work that changes no agency: a read-only request (intranet.middleware wraps GET and
    HEAD requests in it), where the feed, the trending hashtags and the composer each ask.
    Outside one (writes, websocket consumers, the outbox worker) every call reads afresh.
    """
    token = _AGENCY_READS.set({})
    try:
        yield
    finally:
        _AGENCY_READS.reset(token)


def agency_was_read(user: AnyUser, agency_id: int | None) -> None:
    """`user`'s profile was just read (the agency is `agency_id`): inside an
    `agency_read_once` block, later checks use it instead of reading it again."""
    reads = _AGENCY_READS.get()
    if reads is not None and is_active_staff(user):
        reads[user.pk] = agency_id


def agency_id_of(user: AnyUser) -> int | None:
    """The agency `user` belongs to now (read fresh: people move between agencies; once per
    `agency_read_once` block)."""
    if not is_active_staff(user):
        return None
    reads = _AGENCY_READS.get()
    if reads is not None and user.pk in reads:
        return reads[user.pk]
    agency_id = _read_agency_id(user.pk)
    if reads is not None:
        reads[user.pk] = agency_id
    return agency_id


def _read_agency_id(user_id: int) -> int | None:
    """`Profile.objects.filter(user_id=...).values_list("agency_id").first()` as one plain
    statement: asked on every feed page, permission check and live delivery, where building
    the queryset cost the ORM five times the database's time (0.36 against 0.06 ms)."""
    with connection.cursor() as cursor:
        cursor.execute(_agency_sql(connection.vendor), [user_id])
        row = cursor.fetchone()
    return None if row is None else row[0]


@functools.cache
def _agency_sql(vendor: str) -> str:
    from profiles.models import Profile

    meta, quote = Profile._meta, connection.ops.quote_name
    agency, table, user = (
        quote(name)
        for name in (meta.get_field("agency").column, meta.db_table, meta.get_field("user").column)
    )
    return f"SELECT {agency} FROM {table} WHERE {user} = %s"  # noqa: S608  (names from the model)


def _membership(user: AnyUser, group: Group):
    from groups.models import Membership

    if not is_active_staff(user):
        return None
    return Membership.objects.filter(group_id=group.pk, user_id=user.pk).first()


def member_group_ids(user: AnyUser) -> QuerySet:
    """Ids of the groups `user` belongs to, as a subquery-friendly queryset."""
    from groups.models import Membership

    if not is_active_staff(user):
        return Membership.objects.none().values("group_id")
    return Membership.objects.filter(user_id=user.pk).values("group_id")


def is_member(user: AnyUser, group: Group) -> bool:
    return _membership(user, group) is not None


def is_group_manager(user: AnyUser, group: Group) -> bool:
    membership = _membership(user, group)
    return membership is not None and membership.is_manager


def has_pending_invitation(user: AnyUser, group: Group) -> bool:
    from groups.models import Invitation

    if not is_active_staff(user):
        return False
    return Invitation.objects.filter(
        group_id=group.pk, invitee_id=user.pk, status=Invitation.Status.PENDING
    ).exists()


# --- groups ---------------------------------------------------------------------------------


def visible_groups(user: AnyUser) -> QuerySet[Group]:
    """Groups whose existence `user` may know of: all but secret ones they are not in."""
    from groups.models import Group, Invitation

    if not is_active_staff(user):
        return Group.objects.none()
    invited = Invitation.objects.filter(
        invitee_id=user.pk, status=Invitation.Status.PENDING
    ).values("group_id")
    return Group.objects.filter(
        ~Q(kind=Group.Kind.SECRET) | Q(pk__in=member_group_ids(user)) | Q(pk__in=invited)
    )


def can_view_group(user: AnyUser, group: Group) -> bool:
    """May `user` know this group exists (see its page, name, description)?"""
    if not is_active_staff(user):
        return False
    if not group.is_secret:
        return True
    return is_member(user, group) or has_pending_invitation(user, group)


def can_read_group_content(user: AnyUser, group: Group) -> bool:
    """May `user` read the posts and member list of this group?"""
    if not is_active_staff(user):
        return False
    return group.is_open or is_member(user, group)


def can_post_in(user: AnyUser, group: Group) -> bool:
    return is_member(user, group)


def can_join_directly(user: AnyUser, group: Group) -> bool:
    return is_active_staff(user) and (group.is_open or has_pending_invitation(user, group))


def can_request_to_join(user: AnyUser, group: Group) -> bool:
    from groups.models import Group as GroupModel

    return is_active_staff(user) and group.kind == GroupModel.Kind.PRIVATE


def can_manage_group(user: AnyUser, group: Group) -> bool:
    """Owners and admins edit the group, decide requests, invite to private/secret groups."""
    return is_group_manager(user, group)


def can_invite(user: AnyUser, group: Group) -> bool:
    """Any member may invite to an open group; only managers to a private or secret one."""
    if group.is_open:
        return is_member(user, group)
    return is_group_manager(user, group)


# --- posts ----------------------------------------------------------------------------------


_UNREAD = object()


def visible_posts(user: AnyUser, *, agency_id=_UNREAD) -> QuerySet[Post]:
    """Every post `user` may see. Every content selector starts here.

    `agency_id`: the agency of `user` (`agency_id_of`), if the caller has just read it.
    """
    from feeds.models import Post
    from groups.models import Group

    if not is_active_staff(user):
        return Post.objects.none()
    audience = Q(audience=Post.Audience.EVERYONE) | Q(
        audience=Post.Audience.GROUP, group__kind=Group.Kind.OPEN
    )
    audience |= Q(audience=Post.Audience.GROUP, group_id__in=member_group_ids(user))
    if agency_id is _UNREAD:
        agency_id = agency_id_of(user)
    if agency_id is not None:
        audience |= Q(audience=Post.Audience.AGENCY, agency_id=agency_id)
    return Post.objects.filter(deleted__isnull=True).filter(audience)


def can_view_post(user: AnyUser, post: Post) -> bool:
    from feeds.models import Post

    if not is_active_staff(user) or post.deleted is not None:
        return False
    if post.audience == Post.Audience.EVERYONE:
        return True
    if post.audience == Post.Audience.AGENCY:
        return post.agency_id is not None and post.agency_id == agency_id_of(user)
    if post.audience == Post.Audience.GROUP and post.group_id is not None:
        return can_read_group_content(user, post.group)
    return False


def post_audience(post: Post) -> QuerySet:
    """The users who may see `post` now: for live delivery and notifications."""
    from feeds.models import Post
    from groups.models import Membership

    User = get_user_model()
    staff = User.objects.filter(is_active=True)
    if post.deleted is not None:
        return staff.none()
    if post.audience == Post.Audience.EVERYONE:
        return staff
    if post.audience == Post.Audience.AGENCY:
        if post.agency_id is None:
            return staff.none()
        return staff.filter(profile__agency_id=post.agency_id)
    if post.audience == Post.Audience.GROUP and post.group_id is not None:
        if post.group.is_open:
            return staff
        return staff.filter(
            Exists(Membership.objects.filter(group_id=post.group_id, user_id=OuterRef("pk")))
        )
    return staff.none()


def can_edit_post(user: AnyUser, post: Post) -> bool:
    return can_view_post(user, post) and post.author_id == user.pk


def can_moderate_post(user: AnyUser, post: Post) -> bool:
    """Site staff, and the owners and admins of the group a post is in."""
    if not can_view_post(user, post):
        return False
    if user.is_staff:
        return True
    return post.group_id is not None and is_group_manager(user, post.group)


def can_delete_post(user: AnyUser, post: Post) -> bool:
    return can_edit_post(user, post) or can_moderate_post(user, post)


def can_publish_announcement(user: AnyUser) -> bool:
    return is_active_staff(user) and user.is_staff


def can_post_to_agency(user: AnyUser) -> bool:
    return agency_id_of(user) is not None


# --- reports of posts -----------------------------------------------------------------------
# Reports are handled in Django's admin (feeds.admin.ReportAdmin), and these two forms ask what
# the admin asks before it lets someone change a report: active (is_active), allowed into the
# admin (is_staff), and granted `feeds.change_report` (directly, through a group such as
# "Moderators", or as a superuser), through the configured authentication backend.

REPORT_PERMISSION = "feeds.change_report"


def can_moderate_reports(user: AnyUser) -> bool:
    """May `user` resolve reports of posts (and so hear about new ones)?"""
    return is_active_staff(user) and user.is_staff and user.has_perm(REPORT_PERMISSION)


def report_moderators() -> QuerySet:
    """The users who may resolve reports: `can_moderate_reports` as a queryset.

    Every report reaches them whatever the post's audience, as the admin shows them every
    reported post.
    """
    User = get_user_model()
    return User.objects.with_perm(
        REPORT_PERMISSION, is_active=True, include_superusers=True
    ).filter(is_staff=True)


# --- comments, reactions, attachments -------------------------------------------------------


def visible_comments(user: AnyUser) -> QuerySet[Comment]:
    from feeds.models import Comment

    return Comment.objects.filter(deleted__isnull=True, post__in=visible_posts(user).values("pk"))


def can_view_comment(user: AnyUser, comment: Comment) -> bool:
    return comment.deleted is None and can_view_post(user, comment.post)


def can_comment_on(user: AnyUser, post: Post) -> bool:
    return can_view_post(user, post)


def can_react_to(user: AnyUser, post: Post) -> bool:
    return can_view_post(user, post)


def can_delete_comment(user: AnyUser, comment: Comment) -> bool:
    if not can_view_comment(user, comment):
        return False
    return comment.author_id == user.pk or can_moderate_post(user, comment.post)


def can_view_attachment(user: AnyUser, attachment: Attachment) -> bool:
    return can_view_post(user, attachment.post)


# --- people ---------------------------------------------------------------------------------


def can_view_profiles(user: AnyUser) -> bool:
    """The directory is open to every member of staff, and to nobody else."""
    return is_active_staff(user)


# --- live updates ---------------------------------------------------------------------------
# A post's live events (new, edited, comments, reaction counts) go to exactly one stream, and
# a websocket listens to the streams of its user: so `post_stream(post) in live_streams(user)`
# must hold exactly when `can_view_post(user, post)` (the property test checks it).

EVERYONE_STREAM = "everyone"


def user_stream(user_id: int) -> str:
    """The stream of one person's own sockets (their state changes, their deactivation)."""
    return f"user-{user_id}"


def live_streams(user: AnyUser, *, group_ids=None) -> frozenset[str]:
    """The streams `user`'s open sockets may read now: nothing unless active staff.

    Every membership gives its group's stream, whatever the group's kind: a group that turns
    private keeps its members' sockets listening, and one that turns open publishes to
    everyone, so a change of kind needs no re-subscription. `group_ids`: the ids of the
    groups `user` belongs to, if the caller has just read them (saves a query).
    """
    if not is_active_staff(user):
        return frozenset()
    streams = {EVERYONE_STREAM, user_stream(user.pk)}
    agency_id = agency_id_of(user)
    if agency_id is not None:
        streams.add(f"agency-{agency_id}")
    if group_ids is None:
        group_ids = member_group_ids(user).values_list("group_id", flat=True)
    streams.update(f"group-{group_id}" for group_id in group_ids)
    return frozenset(streams)


def post_stream(post: Post, *, deleted_ok: bool = False) -> str | None:
    """The stream that may read `post` (None: nobody, e.g. a deleted post).

    `deleted_ok=True` names the stream the post had before it was deleted: only for telling
    those sockets to take it off the page (an id, no content).
    """
    from feeds.models import Post

    if post.deleted is not None and not deleted_ok:
        return None
    if post.audience == Post.Audience.EVERYONE:
        return EVERYONE_STREAM
    if post.audience == Post.Audience.AGENCY:
        return f"agency-{post.agency_id}" if post.agency_id is not None else None
    if post.audience == Post.Audience.GROUP and post.group_id is not None:
        return EVERYONE_STREAM if post.group.is_open else f"group-{post.group_id}"
    return None
