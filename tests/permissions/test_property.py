"""The permission rules, checked on random worlds.

Hypothesis draws a small network (agencies, staff with and without an agency, leavers, site
staff, groups of every kind with members and pending invitations, posts, comments,
attachments, hashtags, follows) and checks, for every person and every post, that:

- the forms of the rules agree: `post in visible_posts(user)` ==
  `can_view_post(user, post)` == `user in post_audience(post)` ==
  `post_stream(post) in live_streams(user)` (where live events go);
- every read path (home, group, profile and hashtag feeds, one post, comments, attachments,
  trending hashtags) returns only what `visible_posts(user)` contains;
- `group in visible_groups(user)` == `can_view_group(user, group)`.

Each example builds its world inside a savepoint that is rolled back, so examples never see
each other's rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import permissions
from feeds import selectors as feed_selectors
from feeds.models import Attachment, Comment, Hashtag, Post
from groups import selectors as group_selectors
from groups.models import Group, Invitation, Membership
from profiles.models import Agency, Follow, Profile

KINDS = [Group.Kind.OPEN, Group.Kind.PRIVATE, Group.Kind.SECRET]
NO_PROFILE = -1  # a user made outside Agora (e.g. createsuperuser): no profile row at all
TAGS = ["budget", "santé", "ops"]


@dataclass(frozen=True)
class UserSpec:
    agency: int | None  # index into the agencies, None (profile without agency) or NO_PROFILE
    active: bool
    staff: bool


@dataclass(frozen=True)
class PostSpec:
    author: int
    audience: str
    group: int | None
    agency: int | None  # for agency posts: the agency it was written in (authors move)
    deleted: bool
    announcement: bool
    tags: tuple[str, ...]


@dataclass(frozen=True)
class World:
    agencies: int
    users: tuple[UserSpec, ...]
    groups: tuple[str, ...]
    memberships: frozenset[tuple[int, int, str]]  # (user, group, role)
    invitations: frozenset[tuple[int, int]]  # (user, group), pending
    follows: frozenset[tuple[int, int]]
    posts: tuple[PostSpec, ...]
    comments: tuple[tuple[int, int, bool, bool], ...]  # (post, author, deleted, is_reply)
    attachments: tuple[int, ...]  # post index per attachment


@st.composite
def worlds(draw) -> World:
    n_agencies = draw(st.integers(2, 3))
    users = tuple(
        draw(
            st.lists(
                st.builds(
                    UserSpec,
                    agency=st.one_of(
                        st.integers(0, n_agencies - 1), st.none(), st.just(NO_PROFILE)
                    ),
                    active=st.sampled_from([True, True, True, False]),
                    staff=st.booleans(),
                ),
                min_size=3,
                max_size=8,
            )
        )
    )
    n_users = len(users)
    groups = tuple(
        kind for kind in KINDS for _ in range(draw(st.integers(1, 4), label=f"{kind} groups"))
    )
    n_groups = len(groups)
    pairs = st.tuples(st.integers(0, n_users - 1), st.integers(0, n_groups - 1))
    member_pairs = draw(st.sets(pairs, max_size=n_users * n_groups))
    memberships = frozenset(
        (u, g, draw(st.sampled_from(list(Membership.Role.values)))) for u, g in member_pairs
    )
    invitations = frozenset(
        pair for pair in draw(st.sets(pairs, max_size=6)) if pair not in member_pairs
    )
    follows = frozenset(
        (a, b)
        for a, b in draw(
            st.sets(st.tuples(st.integers(0, n_users - 1), st.integers(0, n_users - 1)))
        )
        if a != b
    )

    def post_spec(author: int) -> PostSpec:
        spec = users[author]
        has_agency = spec.agency not in (None, NO_PROFILE)
        audience = draw(st.sampled_from(list(Post.Audience.values)))
        group = draw(st.integers(0, n_groups - 1)) if audience == Post.Audience.GROUP else None
        if audience == Post.Audience.AGENCY:
            # Usually the author's agency; sometimes one they have since left.
            agency = draw(st.integers(0, n_agencies - 1))
        else:
            agency = spec.agency if has_agency else None
        return PostSpec(
            author=author,
            audience=audience,
            group=group,
            agency=agency,
            deleted=draw(st.booleans()),
            announcement=audience != Post.Audience.GROUP and draw(st.booleans()),
            tags=tuple(draw(st.lists(st.sampled_from(TAGS), unique=True, max_size=2))),
        )

    authors = draw(st.lists(st.integers(0, n_users - 1), min_size=5, max_size=25))
    posts = tuple(post_spec(a) for a in authors)
    n_posts = len(posts)
    comments = tuple(
        draw(
            st.lists(
                st.tuples(
                    st.integers(0, n_posts - 1),
                    st.integers(0, n_users - 1),
                    st.booleans(),
                    st.booleans(),
                ),
                max_size=12,
            )
        )
    )
    attachments = tuple(draw(st.lists(st.integers(0, n_posts - 1), max_size=6)))
    return World(
        agencies=n_agencies,
        users=users,
        groups=groups,
        memberships=memberships,
        invitations=invitations,
        follows=follows,
        posts=posts,
        comments=comments,
        attachments=attachments,
    )


def build(world: World):
    """Write the world with plain ORM inserts (no actions: the rules are what is under test)."""
    User = get_user_model()
    agencies = [
        Agency.objects.create(name=f"Agency {i}", slug=f"agency-{i}") for i in range(world.agencies)
    ]
    users = []
    for i, spec in enumerate(world.users):
        user = User.objects.create(
            username=f"u{i}", password="!", is_active=spec.active, is_staff=spec.staff
        )
        if spec.agency != NO_PROFILE:
            agency = agencies[spec.agency] if spec.agency is not None else None
            Profile.objects.create(user=user, display_name=f"U{i}", agency=agency)
        users.append(user)
    groups = [
        Group.objects.create(name=f"G{i}", slug=f"g{i}", kind=kind)
        for i, kind in enumerate(world.groups)
    ]
    Membership.objects.bulk_create(
        Membership(user=users[u], group=groups[g], role=role) for u, g, role in world.memberships
    )
    Invitation.objects.bulk_create(
        Invitation(invitee=users[u], group=groups[g]) for u, g in world.invitations
    )
    Follow.objects.bulk_create(
        Follow(follower=users[a], followee=users[b]) for a, b in world.follows
    )
    tags = {name: Hashtag.objects.create(name=name) for name in TAGS}
    now = timezone.now()
    posts = []
    for i, spec in enumerate(world.posts):
        post = Post.objects.create(
            author=users[spec.author],
            body=f"post {i}",
            body_html=f"<p>post {i}</p>",
            audience=spec.audience,
            group=groups[spec.group] if spec.group is not None else None,
            agency=agencies[spec.agency] if spec.agency is not None else None,
            is_announcement=spec.announcement,
            deleted=now if spec.deleted else None,
        )
        post.hashtags.set([tags[name] for name in spec.tags])
        posts.append(post)
    for i, (p, author, deleted, is_reply) in enumerate(world.comments):
        parent = Comment.objects.filter(post=posts[p], parent=None).first() if is_reply else None
        Comment.objects.create(
            post=posts[p],
            parent=parent,
            author=users[author],
            body=f"comment {i}",
            body_html=f"<p>comment {i}</p>",
            deleted=now if deleted else None,
        )
    for i, p in enumerate(world.attachments):
        Attachment.objects.create(
            post=posts[p],
            file=f"attachments/a{i}.txt",
            kind=Attachment.Kind.DOCUMENT,
            content_type="text/plain",
            size=1,
            original_name=f"a{i}.txt",
        )
    return users, groups


class _Rollback(Exception):
    """Raised at the end of an example to roll its world back."""


def ids(items) -> set[int]:
    return {item.pk for item in items}


def page_ids(read, **kwargs) -> list[int]:
    """A feed page's post ids, the same whether read as model instances (the pages) or as
    plain rows (the API, `as_rows`)."""
    posts = [post.pk for post in read(**kwargs).items]
    rows = [row.id for row in read(as_rows=True, **kwargs).items]
    assert rows == posts, f"{read.__name__}: the API's rows are not the page's posts"
    return posts


def check_world(users, groups) -> None:
    viewers = [*users, AnonymousUser()]
    posts = list(Post.objects.select_related("group").order_by("pk"))
    authors = get_user_model().objects.filter(posts__isnull=False).distinct()
    attachments = list(Attachment.objects.all())
    audiences = {
        post.pk: set(permissions.post_audience(post).values_list("pk", flat=True)) for post in posts
    }
    for viewer in viewers:
        who = f"user {viewer.pk} (active={viewer.is_active}, staff={viewer.is_staff})"
        visible = set(permissions.visible_posts(viewer).values_list("pk", flat=True))

        streams = permissions.live_streams(viewer)

        # The forms agree, post by post.
        for post in posts:
            in_queryset = post.pk in visible
            one = permissions.can_view_post(viewer, post)
            in_audience = viewer.pk in audiences[post.pk]
            live = permissions.post_stream(post) in streams
            assert in_queryset == one == in_audience == live, (
                f"{who}, post {post.pk} ({post.audience}, group={post.group_id} "
                f"{post.group.kind if post.group else ''}, agency={post.agency_id}, "
                f"deleted={post.deleted is not None}): queryset={in_queryset}, "
                f"can_view_post={one}, post_audience={in_audience}, live stream={live}"
            )
            # One post: post_get answers exactly for the visible ones.
            assert (feed_selectors.post_get(viewer=viewer, post_id=post.pk) is not None) == (
                in_queryset
            ), f"{who}: post_get disagrees on post {post.pk}"

        # Every feed is a subset of what the viewer may see (read as the pages read it, and
        # as the API reads it: plain rows).
        home = page_ids(feed_selectors.posts_for_home, viewer=viewer, limit=100)
        assert set(home) <= visible, f"{who}: home feed leaks"
        for group in groups:
            page = page_ids(feed_selectors.posts_for_group, viewer=viewer, group=group, limit=100)
            assert set(page) <= visible, f"{who}: group {group.pk} feed leaks"
            if not permissions.can_view_group(viewer, group):
                assert not page, f"{who}: secret group {group.pk} feed not empty"
        for author in authors:
            page = page_ids(
                feed_selectors.posts_for_profile, viewer=viewer, author=author, limit=100
            )
            assert set(page) <= visible, f"{who}: profile {author.pk} feed leaks"
        for tag in TAGS:
            page = page_ids(feed_selectors.posts_for_hashtag, viewer=viewer, tag=tag, limit=100)
            assert set(page) <= visible, f"{who}: #{tag} feed leaks"
            assert len(page) == len(set(page)), f"{who}: #{tag} repeats a post"
        for name, count in feed_selectors.trending_hashtags(viewer=viewer):
            shown = Post.objects.filter(pk__in=visible, hashtags__name=name).count()
            assert count == shown, f"{who}: trending #{name} counts posts they cannot see"

        # Comments: only on visible posts, never deleted ones.
        for comment in permissions.visible_comments(viewer):
            assert comment.post_id in visible, f"{who}: comment {comment.pk} leaks"
            assert comment.deleted is None
        for post in {c.post for c in Comment.objects.select_related("post")}:
            thread = feed_selectors.comments_for_post(viewer=viewer, post=post)
            every = [c for top in thread for c in (top, *top.thread_replies)]
            if post.pk not in visible:
                assert not every, f"{who}: comments of invisible post {post.pk} leak"
            assert all(c.post_id == post.pk and c.deleted is None for c in every)
        for comment in Comment.objects.all():
            got = feed_selectors.comment_get(viewer=viewer, comment_id=comment.pk)
            expected = comment.post_id in visible and comment.deleted is None
            assert (got is not None) == expected, f"{who}: comment_get {comment.pk}"
            assert permissions.can_view_comment(viewer, comment) == expected

        # Attachments follow their post.
        for attachment in attachments:
            got = feed_selectors.attachment_get(viewer=viewer, attachment_id=attachment.pk)
            assert (got is not None) == (attachment.post_id in visible), (
                f"{who}: attachment_get {attachment.pk} on post {attachment.post_id}"
            )
            assert permissions.can_view_attachment(viewer, attachment) == (
                attachment.post_id in visible
            )

        # Groups: the queryset and the one-object form agree; so does the group page lookup.
        visible_groups = set(permissions.visible_groups(viewer).values_list("pk", flat=True))
        for group in groups:
            one = permissions.can_view_group(viewer, group)
            assert (group.pk in visible_groups) == one, f"{who}: group {group.pk} ({group.kind})"
            found = group_selectors.group_get(viewer=viewer, slug=group.slug)
            assert (found is not None) == one, f"{who}: group_get {group.slug}"
        listed = ids(group_selectors.groups_list(viewer=viewer))
        assert listed == visible_groups, f"{who}: groups_list differs from visible_groups"


@pytest.mark.django_db
@settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(world=worlds())
def test_every_read_path_agrees_with_the_permission_rules(world):
    """On any world, the forms of the rules agree and every read path is a subset of
    `visible_posts(user)`; groups are visible exactly when `can_view_group` says so."""
    try:
        with transaction.atomic():
            users, groups = build(world)
            check_world(users, groups)
            raise _Rollback
    except _Rollback:
        pass


def check_live(users) -> None:
    """Live updates: a post's stream is one of a person's streams exactly when they may see
    it; and among what they may see, a home-feed socket takes exactly the posts the home feed
    lists."""
    from feeds.consumers import LiveConsumer

    posts = list(Post.objects.select_related("group").order_by("pk"))
    for viewer in [*users, AnonymousUser()]:
        who = f"user {viewer.pk} (active={viewer.is_active})"
        streams = permissions.live_streams(viewer)
        for post in posts:
            stream = permissions.post_stream(post)
            assert (stream in streams) == permissions.can_view_post(viewer, post), (
                f"{who}, post {post.pk} ({post.audience}, group={post.group_id}, "
                f"agency={post.agency_id}, deleted={post.deleted is not None}): "
                f"stream {stream} vs {sorted(streams)}"
            )
        if not streams:
            continue
        socket = LiveConsumer()
        socket.user_id, socket.feed, socket.feed_id, socket.watched = viewer.pk, "home", None, {}
        socket.set_state(feed_selectors.live_state(user=viewer))
        home = ids(feed_selectors.posts_for_home(viewer=viewer, limit=100).items)
        for post in posts:
            if permissions.post_stream(post) not in streams:
                continue
            meta = {
                "event": "post.new",
                "post": post.pk,
                "author": post.author_id,
                "group": post.group_id,
                "announcement": post.is_announcement,
            }
            assert socket.wants(meta) == (post.pk in home), f"{who}: home socket, post {post.pk}"


@pytest.mark.django_db
@settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(world=worlds())
def test_live_streams_agree_with_the_permission_rules(world):
    """On any world, `post_stream(post) in live_streams(user)` exactly when
    `can_view_post(user, post)`, and a home-feed socket wants exactly the home feed's posts."""
    try:
        with transaction.atomic():
            users, _groups = build(world)
            check_live(users)
            raise _Rollback
    except _Rollback:
        pass
