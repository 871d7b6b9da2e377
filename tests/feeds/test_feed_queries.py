"""The home feed at scale (issue 7): a fixed number of queries per page, whatever its size, and
the same posts as the plain definition (`visible_posts` ∩ own + followed + groups +
announcements), page by page, backwards and forwards, on SQLite and on PostgreSQL (where the
selector reads newest-per-source with LATERAL)."""

import random
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

import permissions
from feeds import selectors
from feeds.cursors import encode_cursor
from feeds.models import Attachment, Hashtag, Post, Reaction
from groups.models import Group, Membership
from profiles.models import Follow
from tests.factories import (
    AgencyFactory,
    CommentFactory,
    GroupFactory,
    MembershipFactory,
    PostFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

QUERY_BUDGET = 4  # the target; today 2: the viewer's agency (permissions) and the page


@pytest.fixture(autouse=True)
def _quiet(settings):
    settings.OUTBOX_DRAIN_INLINE = False
    settings.REALTIME_PUBLISHER = None


def touch(page) -> None:
    """Everything a feed card reads."""
    for post in page.items:
        profile = post.author.profile
        _ = (profile.display_name, profile.agency, profile.department, post.group, post.agency)
        _ = (post.comment_count, post.reaction_counts, post.reaction_total, post.can_edit)
        _ = [a.original_name for a in post.attachments.all()]
        _ = [t.name for t in post.hashtags.all()]


def world(user, rng: random.Random, n_posts: int = 120):
    """Followed people, groups of every kind, agency posts of two agencies, deleted posts,
    announcements: the cases where the home feed and the permission rules meet."""
    home_agency = user.profile.agency
    elsewhere = AgencyFactory()
    people = [UserFactory(profile__agency=rng.choice([home_agency, elsewhere])) for _ in range(8)]
    staff = UserFactory(is_staff=True, profile__agency=elsewhere)
    for person in people[:5]:
        Follow.objects.create(follower=user, followee=person)
    groups = [GroupFactory(kind=kind) for kind in Group.Kind.values for _ in range(2)]
    for group in groups[::2]:
        MembershipFactory(group=group, user=user)
    for group in groups:
        for person in people:
            if rng.random() < 0.6:
                MembershipFactory(group=group, user=person)
    authors = [*people, user, staff]
    for _ in range(n_posts):
        author = rng.choice(authors)
        roll = rng.random()
        member_of = [g for g in groups if g.memberships.filter(user=author).exists()]
        if roll < 0.3 and member_of:
            post = PostFactory(
                author=author, audience=Post.Audience.GROUP, group=rng.choice(member_of)
            )
        elif roll < 0.6:
            post = PostFactory(
                author=author, audience=Post.Audience.AGENCY, agency=author.profile.agency
            )
        else:
            post = PostFactory(author=author, is_announcement=author is staff and roll < 0.7)
        if rng.random() < 0.05:
            Post.objects.filter(pk=post.pk).update(deleted=post.created)
    return people


def reference(user) -> list[int]:
    """The home feed by its definition, newest first."""
    qs = permissions.visible_posts(user).filter(selectors.home_feed_filter(user))
    return list(qs.order_by("-pk").values_list("pk", flat=True))


def walk_back(user, limit: int) -> list[int]:
    out, before = [], None
    while True:
        page = selectors.posts_for_home(viewer=user, before=before, limit=limit)
        out += [p.pk for p in page.items]
        if not page.next_cursor:
            return out
        before = page.next_cursor


def walk_forward(user, since: str, limit: int) -> list[int]:
    out, cursor = [], since
    while True:
        page = selectors.posts_for_home(viewer=user, since=cursor, limit=limit)
        if not page.items:
            return out
        out = [p.pk for p in page.items] + out  # each page is newest first; pages go forward
        cursor = page.newest_cursor


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_home_feed_is_its_definition_page_by_page(user, seed):
    """Every page, backwards (`before`) and forwards (`since`), lists exactly the posts of the
    definition, in order, and nothing the viewer may not see."""
    rng = random.Random(seed)
    people = world(user, rng)
    expected = reference(user)
    assert expected, "the world gives the viewer a feed"
    visible = set(permissions.visible_posts(user).values_list("pk", flat=True))
    for limit in (1, 7, 20, 100):
        got = walk_back(user, limit)
        assert got == expected
        assert set(got) <= visible
    oldest_cursor = selectors.posts_for_home(viewer=user, limit=100).items[-1]
    forward = walk_forward(user, encode_cursor(oldest_cursor.pk - 1), limit=7)
    assert forward == [pk for pk in expected if pk >= oldest_cursor.pk]
    for person in people:  # other viewers, other agencies and groups
        assert walk_back(person, 20) == reference(person)


def test_the_page_statement_reads_the_definitions_first_posts_extra_one_included(user):
    """The statement's rows, the one beyond the page included (it says whether there is
    more), are the definition's first ones, for page sizes around the number of posts read
    of each source first, and from cursors along the feed; one person posts most (half of it
    in a group: read through two sources), so some sources hold more of a page than their
    first reading."""
    rng = random.Random(11)
    people = world(user, rng, n_posts=90)
    busy = people[0]
    Follow.objects.get_or_create(follower=user, followee=busy)
    shared = GroupFactory(kind=Group.Kind.PRIVATE)
    for member in (user, busy):
        MembershipFactory(group=shared, user=member)
    for i in range(25):  # half of them read twice: by their author and by their group
        group = {"audience": Post.Audience.GROUP, "group": shared} if i % 2 else {}
        PostFactory(author=busy, **group)
    for viewer in (user, *people[1:4]):
        expected = reference(viewer)
        agency_id = permissions.agency_id_of(viewer)
        assert len(expected) > 12, "every viewer has a few pages"
        for before_at in (None, 3, 11, 30):
            if before_at is not None and before_at >= len(expected):
                continue
            before = expected[before_at] if before_at is not None else None
            rest = expected[before_at + 1 :] if before_at is not None else expected
            for size in (1, 2, 3, 4, 5, 8, 13, 20):
                query = selectors._home_page_query(
                    viewer, agency_id=agency_id, before_id=before, since_id=None, size=size
                )
                got = [post.pk for post in query]
                assert got == rest[: size + 1], (viewer, before_at, size)


def test_home_feed_of_someone_without_sources_or_access(user):
    """No follows, no groups: own posts and announcements; deactivated: nothing at all."""
    own = PostFactory(author=user)
    announcement = PostFactory(author=UserFactory(is_staff=True), is_announcement=True)
    PostFactory()  # a stranger's
    page = selectors.posts_for_home(viewer=user)
    assert [p.pk for p in page.items] == [announcement.pk, own.pk]
    user.is_active = False
    user.save()
    assert selectors.posts_for_home(viewer=user).items == []


def rich_feed(user, n: int) -> None:
    group = GroupFactory(kind=Group.Kind.PRIVATE)
    MembershipFactory(group=group, user=user)
    tags = [Hashtag.objects.create(name=f"tag{i}") for i in range(3)]
    for i in range(n):
        author = UserFactory(profile__agency=user.profile.agency)
        Follow.objects.create(follower=user, followee=author)
        post = PostFactory(
            author=author,
            audience=Post.Audience.GROUP if i % 2 else Post.Audience.EVERYONE,
            group=group if i % 2 else None,
        )
        post.hashtags.set(tags[: i % 3 + 1])
        Reaction.objects.create(post=post, user=author, kind="like")
        Reaction.objects.create(post=post, user=user, kind="thanks")
        CommentFactory(post=post, author=author)
        Attachment.objects.create(
            post=post, file=f"attachments/{i}.txt", kind="document", content_type="text/plain",
            size=1, original_name=f"{i}.txt",
        )  # fmt: skip


@pytest.mark.parametrize("page", ["first", "deep", "since"])
def test_home_feed_query_count_is_constant_and_small(user, page):
    """5, 20 or 50 posts, first page, a deep page or a catch-up: the same number of queries,
    at most QUERY_BUDGET, with everything a card shows loaded."""
    rich_feed(user, 160)
    ids = reference(user)
    counts = {}
    for limit in (5, 20, 50):
        kwargs = {"limit": limit}
        if page == "deep":
            kwargs["before"] = encode_cursor(ids[100])
        elif page == "since":
            kwargs["since"] = encode_cursor(ids[150])
        with CaptureQueriesContext(connection) as queries:
            result = selectors.posts_for_home(viewer=user, **kwargs)
            touch(result)
        assert len(result.items) == limit
        counts[limit] = len(queries.captured_queries)
    assert counts[5] == counts[20] == counts[50] <= QUERY_BUDGET, counts


def test_reaction_counts_ride_along_with_the_page(user, other_user):
    """The counts and the viewer's own reactions come with the page query, and are right."""
    Follow.objects.create(follower=user, followee=other_user)
    post = PostFactory(author=other_user)
    quiet = PostFactory(author=other_user)
    for kind, who in (("like", user), ("like", other_user), ("thanks", other_user)):
        Reaction.objects.create(post=post, user=who, kind=kind)
    items = {p.pk: p for p in selectors.posts_for_home(viewer=user).items}
    counts = {kind: (n, mine) for kind, _label, n, mine in items[post.pk].reaction_counts}
    assert counts["like"] == (2, True)
    assert counts["thanks"] == (1, False)
    assert items[post.pk].reaction_total == 3
    assert items[quiet.pk].reaction_total == 0
    assert not any(mine for *_rest, mine in items[quiet.pk].reaction_counts)


def test_attachments_and_hashtags_ride_along_as_model_instances(user):
    """What the page's statement read as JSON behaves like the prefetched rows it replaces."""
    post = PostFactory(author=user)
    post.hashtags.set([Hashtag.objects.create(name="zeta"), Hashtag.objects.create(name="alpha")])
    attachment = Attachment.objects.create(
        post=post, file="attachments/a.txt", kind="document", content_type="text/plain",
        size=3, original_name="a.txt",
    )  # fmt: skip
    [got] = selectors.posts_for_home(viewer=user).items
    with CaptureQueriesContext(connection) as queries:
        [a] = got.attachments.all()
        tags = [t.name for t in got.hashtags.all()]
    assert not queries.captured_queries
    assert tags == ["alpha", "zeta"]
    assert (a.pk, a.post_id, a.original_name, a.size, a.kind) == (
        attachment.pk, post.pk, "a.txt", 3, "document",
    )  # fmt: skip
    assert a.created == attachment.created and a.created.tzinfo is not None
    assert a.get_absolute_url() == attachment.get_absolute_url()


def test_a_person_s_post_index_carries_every_column_the_permission_filter_reads():
    """A home page deep in the past reads each followee's posts from `post_author_visible_id`
    alone (PostgreSQL's index-only scan; docs/BENCHMARKS.md, "Home feed"). That holds only
    while the index carries every column of the post that `visible_posts` reads: a new one
    sends PostgreSQL back to the table for every older post of every followee."""
    index = next(i for i in Post._meta.indexes if i.name == "post_author_visible_id")
    carried = {
        Post._meta.get_field(name.lstrip("-")).column for name in (*index.fields, *index.include)
    } | {"id"}
    viewer = UserFactory()
    sql, _params = (
        permissions.visible_posts(viewer)
        .filter(author_id=viewer.pk)
        .values("pk")
        .query.sql_with_params()
    )
    table = Post._meta.db_table
    read = set(re.findall(rf'"{table}"\."(\w+)"', sql))
    assert read, sql
    assert read <= carried, f"not in the index: {sorted(read - carried)}"


# --- pages that show cards: what the page's statement leaves out is never read ----------------

# The author's and group's columns no card shows (`selectors._NOT_ON_CARDS`) are left out of
# the page's statement. A card that read one would cost a query per post: Django reads a
# left-out column alone, by primary key (`refresh_from_db`). Each page is asked for with one
# post and with five, each by another author: no such query, and as many queries either way.
_DEFERRED_LOAD = re.compile(r'SELECT "(\w+)"\."id", "\1"\."\w+" FROM "\1" WHERE "\1"\."id" = ')


def _page_url(page, posts, group, tag):
    return {
        "home": "/",
        "group": f"/groups/{group.slug}/",
        "hashtag": f"/tags/{tag}/",
        "profile": f"/people/{posts[0].author.username}/",
        "post": f"/posts/{posts[-1].pk}/",
        "live": f"/live/feed/?feed=group:{group.pk}&since={encode_cursor(1)}",
        "api home": "/api/feed/home/",
        "api group": f"/api/groups/{group.slug}/posts/",
        "api post": f"/api/posts/{posts[-1].pk}/",
    }[page]


@pytest.mark.parametrize(
    "page",
    ["home", "group", "hashtag", "profile", "post", "live", "api home", "api group", "api post"],
)
def test_cards_read_nothing_the_page_left_out(client, user, page):
    group = GroupFactory(kind=Group.Kind.OPEN)
    MembershipFactory(group=group, user=user)
    tag = Hashtag.objects.create(name="budget")
    client.force_login(user)
    counts = {}
    posts = []
    for n in (1, 5):
        while len(posts) < n:
            # on a profile page every post is the same person's (each with its own instance)
            author = posts[0].author if posts and page == "profile" else UserFactory()
            Membership.objects.get_or_create(group=group, user=author)
            Follow.objects.get_or_create(follower=user, followee=author)
            post = PostFactory(author=author, audience=Post.Audience.GROUP, group=group)
            post.hashtags.set([tag])
            posts.append(post)
        url = _page_url(page, posts, group, tag.name)
        client.get(url)  # warm: the session, the compiled statements
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        statements = [q["sql"] for q in queries.captured_queries]
        assert not [sql for sql in statements if _DEFERRED_LOAD.search(sql)]
        counts[n] = statements
    assert len(counts[1]) == len(counts[5]), "\n".join(counts[5])


def test_a_left_out_column_read_alone_is_what_the_pages_test_looks_for(user, other_user):
    """The fingerprint `test_cards_read_nothing_the_page_left_out` looks for is the query
    Django makes for a left-out column."""
    Follow.objects.create(follower=user, followee=other_user)
    PostFactory(author=other_user)
    [post] = selectors.posts_for_home(viewer=user).items
    with CaptureQueriesContext(connection) as queries:
        _ = (post.author.email, post.author.profile.bio)
    assert len(queries.captured_queries) == 2
    assert all(_DEFERRED_LOAD.search(q["sql"]) for q in queries.captured_queries)


def test_the_page_statement_leaves_out_what_no_card_shows(user, other_user):
    """No password hash, e-mail or biography rides along with a feed page, and a left-out
    column still answers when something asks for it (one query, as Django's `defer`)."""
    Follow.objects.create(follower=user, followee=other_user)
    other_user.profile.bio = "Twenty years in procurement"
    other_user.profile.save()
    PostFactory(author=other_user)
    with CaptureQueriesContext(connection) as queries:
        [post] = selectors.posts_for_home(viewer=user).items
    page_sql = queries.captured_queries[-1]["sql"]
    assert '"auth_user"."password"' not in page_sql
    assert '"auth_user"."email"' not in page_sql
    assert '"profiles_profile"."bio"' not in page_sql
    assert '"profiles_profile"."display_name"' in page_sql
    assert "password" not in vars(post.author) and "bio" not in vars(post.author.profile)
    with CaptureQueriesContext(connection) as queries:
        assert post.author.profile.bio == "Twenty years in procurement"
    assert len(queries.captured_queries) == 1
