"""Read paths for posts: what the home feed holds, keyset pages, `since` catch-up, and a
query budget per page that does not grow with the page."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from feeds import selectors
from feeds.cursors import InvalidCursor, encode_cursor
from feeds.models import Attachment, Comment, Hashtag, Post, Reaction
from groups.models import Group
from profiles.models import Follow
from tests.factories import (
    CommentFactory,
    DepartmentFactory,
    GroupFactory,
    MembershipFactory,
    PostFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_and_explicit(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.OUTBOX_DRAIN_INLINE = False


def pks(page) -> list[int]:
    return [post.pk for post in page.items]


def walk(read, limit: int) -> list[list[int]]:
    """Every page of a feed, following `next_cursor` to the end."""
    pages, before = [], None
    while True:
        page = read(before=before, limit=limit)
        pages.append(pks(page))
        if not page.next_cursor:
            assert not page.has_more
            return pages
        assert page.has_more
        before = page.next_cursor


# --- what the home feed holds -----------------------------------------------------------------


def test_home_feed_holds_own_followed_groups_and_announcements(user, other_user, outsider):
    """Own posts, followed people's, joined groups' and announcements are in; the rest is not."""
    stranger = UserFactory(profile__agency=user.profile.agency)
    followed = other_user
    Follow.objects.create(follower=user, followee=followed)
    mine_group = GroupFactory(kind=Group.Kind.PRIVATE)
    MembershipFactory(group=mine_group, user=user)
    open_group = GroupFactory(kind=Group.Kind.OPEN)
    staff = UserFactory(is_staff=True)
    foreign_staff = UserFactory(is_staff=True, profile__agency=outsider.profile.agency)

    expected = [
        PostFactory(author=user),
        PostFactory(author=user, audience=Post.Audience.AGENCY),
        PostFactory(author=followed),
        PostFactory(author=followed, audience=Post.Audience.AGENCY),
        PostFactory(author=stranger, audience=Post.Audience.GROUP, group=mine_group),
        PostFactory(author=staff, is_announcement=True),
        PostFactory(author=followed, audience=Post.Audience.GROUP, group=open_group),
    ]
    excluded = [
        PostFactory(author=stranger),  # not followed
        PostFactory(author=stranger, audience=Post.Audience.GROUP, group=open_group),
        PostFactory(author=outsider),
        PostFactory(author=foreign_staff, audience=Post.Audience.AGENCY, is_announcement=True),
        PostFactory(author=user, deleted=user.date_joined),
    ]
    page = selectors.posts_for_home(viewer=user, limit=50)
    assert pks(page) == sorted((p.pk for p in expected), reverse=True)
    assert not set(pks(page)) & {p.pk for p in excluded}


def test_home_feed_drops_a_group_after_leaving(user):
    """Posts of a private group leave the home feed with the membership."""
    group = GroupFactory(kind=Group.Kind.PRIVATE)
    membership = MembershipFactory(group=group, user=user)
    post = PostFactory(audience=Post.Audience.GROUP, group=group)
    assert pks(selectors.posts_for_home(viewer=user)) == [post.pk]
    membership.delete()
    assert pks(selectors.posts_for_home(viewer=user)) == []


def test_other_feeds(user, other_user):
    """Group, profile and hashtag feeds hold what they name, newest first."""
    group = GroupFactory(kind=Group.Kind.OPEN)
    tag = Hashtag.objects.create(name="santé")
    in_group = PostFactory(author=other_user, audience=Post.Audience.GROUP, group=group)
    tagged = PostFactory(author=other_user)
    tagged.hashtags.add(tag)
    other = PostFactory(author=user)
    tagged.hashtags.add(Hashtag.objects.create(name="other"))
    assert pks(selectors.posts_for_group(viewer=user, group=group)) == [in_group.pk]
    assert pks(selectors.posts_for_profile(viewer=user, author=other_user)) == [
        tagged.pk,
        in_group.pk,
    ]
    assert pks(selectors.posts_for_hashtag(viewer=user, tag="SANTÉ")) == [tagged.pk]
    assert pks(selectors.posts_for_profile(viewer=other_user, author=user)) == [other.pk]
    assert selectors.trending_hashtags(viewer=user) == [("other", 1), ("santé", 1)]


# --- keyset pages -----------------------------------------------------------------------------


@pytest.mark.parametrize("limit", [1, 4, 5, 23, 40])
def test_pages_cover_everything_once_in_order(user, limit):
    """Following next_cursor visits every post once, newest first, pages never overlapping."""
    posts = [PostFactory(author=user) for _ in range(23)]
    PostFactory()  # someone else's, not followed: never in the home feed
    pages = walk(lambda **kw: selectors.posts_for_home(viewer=user, **kw), limit)
    flat = [pk for page in pages for pk in page]
    assert flat == sorted((p.pk for p in posts), reverse=True)
    assert all(len(page) == limit for page in pages[:-1])
    assert len(pages) == -(-23 // limit)


def test_page_size_is_clamped(user):
    """The page size defaults to the setting and never exceeds the maximum."""
    Post.objects.bulk_create(
        Post(author=user, body=f"p{i}", body_html=f"<p>p{i}</p>") for i in range(105)
    )
    assert len(selectors.posts_for_home(viewer=user).items) == 20
    assert len(selectors.posts_for_home(viewer=user, limit=10_000).items) == 100
    assert len(selectors.posts_for_home(viewer=user, limit=-5).items) == 1


def test_since_reads_only_newer_posts_and_misses_nothing(user, other_user):
    """Repeated `since` reads walk forward from the cursor, a page at a time, oldest page first,
    each page shown newest first, until nothing is left; the cursor then stays put."""
    Follow.objects.create(follower=user, followee=other_user)
    old = [PostFactory(author=other_user) for _ in range(3)]
    first = selectors.posts_for_home(viewer=user)
    assert first.newest_cursor == encode_cursor(old[-1].pk)
    new = []
    for i in range(7):
        new.append(PostFactory(author=other_user))
        if i == 3:
            PostFactory(author=UserFactory())  # not for this viewer
            PostFactory(author=other_user, audience=Post.Audience.GROUP, group=GroupFactory(
                kind=Group.Kind.SECRET))  # fmt: skip

    seen, cursor, reads = [], first.newest_cursor, 0
    while True:
        page = selectors.posts_for_home(viewer=user, since=cursor, limit=3)
        reads += 1
        assert pks(page) == sorted(pks(page), reverse=True), "each page newest first"
        assert page.next_cursor is None
        if not page.items:
            assert page.newest_cursor == cursor, "nothing new: the cursor stays"
            assert not page.has_more
            break
        assert page.newest_cursor == encode_cursor(max(pks(page)))
        seen.extend(reversed(pks(page)))
        cursor = page.newest_cursor
    assert seen == [p.pk for p in new]
    assert reads == 4  # 3 + 3 + 1, then the empty read


def test_since_prefers_since_over_before(user):
    """Given both, `since` wins: a catch-up read never pages backwards."""
    posts = [PostFactory(author=user) for _ in range(4)]
    page = selectors.posts_for_home(
        viewer=user, since=encode_cursor(posts[1].pk), before=encode_cursor(posts[3].pk)
    )
    assert pks(page) == [posts[3].pk, posts[2].pk]


@pytest.mark.parametrize("field", ["before", "since"])
def test_bad_cursor_is_refused(user, field):
    """A malformed cursor raises InvalidCursor (the caller answers 400)."""
    with pytest.raises(InvalidCursor):
        selectors.posts_for_home(viewer=user, **{field: "not-a-cursor"})


# --- query budget -----------------------------------------------------------------------------


def rich_world(user, n: int) -> None:
    """`n` posts, each with reactions, comments, an attachment and hashtags, by many authors."""
    group = GroupFactory(kind=Group.Kind.PRIVATE)
    MembershipFactory(group=group, user=user)
    tags = [Hashtag.objects.create(name=f"tag{i}") for i in range(3)]
    department = DepartmentFactory(agency=user.profile.agency)
    for i in range(n):
        author = UserFactory(profile__agency=user.profile.agency, profile__department=department)
        Follow.objects.create(follower=user, followee=author)
        post = PostFactory(
            author=author,
            audience=Post.Audience.GROUP if i % 2 else Post.Audience.AGENCY,
            group=group if i % 2 else None,
            agency=author.profile.agency,
        )
        post.hashtags.set(tags[: i % 3 + 1])
        Reaction.objects.create(post=post, user=author, kind="like")
        Reaction.objects.create(post=post, user=user, kind="thanks")
        CommentFactory(post=post, author=author)
        Attachment.objects.create(
            post=post, file=f"attachments/{i}.txt", kind="document", content_type="text/plain",
            size=1, original_name=f"{i}.txt",
        )  # fmt: skip


def read_page(read) -> tuple[int, list]:
    """Run one page read and touch everything a feed template shows; count the queries."""
    with CaptureQueriesContext(connection) as queries:
        page = read()
        for post in page.items:
            profile = post.author.profile
            _ = (profile.display_name, profile.agency, profile.department, post.group)
            _ = (post.agency, post.comment_count, post.reaction_counts, post.reaction_total)
            _ = [a.original_name for a in post.attachments.all()]
            _ = [t.name for t in post.hashtags.all()]
    return len(queries.captured_queries), page.items


@pytest.mark.parametrize("feed", ["home", "profile", "hashtag"])
def test_queries_per_page_do_not_grow_with_the_page(user, feed, django_assert_max_num_queries):
    """limit=5 and limit=50 cost the same number of queries, within a small fixed budget."""
    rich_world(user, 60)
    if feed == "profile":  # one author's feed: give them the posts
        Post.objects.update(author=user)

    def read(limit):
        if feed == "home":
            return selectors.posts_for_home(viewer=user, limit=limit)
        if feed == "profile":
            return selectors.posts_for_profile(viewer=user, author=user, limit=limit)
        return selectors.posts_for_hashtag(viewer=user, tag="tag0", limit=limit)

    small, small_items = read_page(lambda: read(5))
    large, large_items = read_page(lambda: read(50))
    assert (len(small_items), len(large_items)) == (5, 50)
    assert small == large
    with django_assert_max_num_queries(5):
        read(50)


def test_decorations_are_right(user, other_user):
    """Reaction counts, the viewer's own reactions and the comment count are per post."""
    post = PostFactory(author=user)
    Reaction.objects.create(post=post, user=user, kind="like")
    Reaction.objects.create(post=post, user=other_user, kind="like")
    Reaction.objects.create(post=post, user=other_user, kind="thanks")
    CommentFactory(post=post)
    CommentFactory(post=post, deleted=post.created)
    got = selectors.post_get(viewer=user, post_id=str(post.pk))
    counts = {kind: (n, mine) for kind, _label, n, mine in got.reaction_counts}
    assert counts["like"] == (2, True)
    assert counts["thanks"] == (1, False)
    assert got.reaction_total == 3
    assert got.comment_count == 1
    assert got.can_edit is True
    assert selectors.post_get(viewer=other_user, post_id=post.pk).can_edit is False


@pytest.mark.parametrize("bad", ["abc", None, "", "1.5", [1]])
def test_lookups_by_bad_id_find_nothing(user, bad):
    """A non-numeric id finds nothing instead of failing."""
    assert selectors.post_get(viewer=user, post_id=bad) is None
    assert selectors.comment_get(viewer=user, comment_id=bad) is None
    assert selectors.attachment_get(viewer=user, attachment_id=bad) is None


def test_comments_for_post_threads_and_hides_deleted(user):
    """Top-level comments carry their replies; deleted ones are left out."""
    post = PostFactory(author=user)
    top = CommentFactory(post=post)
    reply = CommentFactory(post=post, parent=top)
    CommentFactory(post=post, parent=top, deleted=post.created)
    gone = CommentFactory(post=post, deleted=post.created)
    thread = selectors.comments_for_post(viewer=user, post=post)
    assert [c.pk for c in thread] == [top.pk]
    assert [c.pk for c in thread[0].thread_replies] == [reply.pk]
    assert selectors.comment_get(viewer=user, comment_id=gone.pk) is None
    assert Comment.objects.count() == 4
