"""Feeds through the API: what each shows, to whom, and the keyset pagination."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from feeds import actions
from feeds.cursors import decode_cursor, encode_cursor
from feeds.models import Post
from groups.models import Group
from profiles.actions import follow
from tests.factories import MembershipFactory, PostFactory, UserFactory

from .conftest import make_group

pytestmark = pytest.mark.django_db

HOME = reverse("api:feed-home")


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [post["id"] for post in response.json()["results"]]


def group_posts_url(group) -> str:
    return reverse("api:group-posts", args=[group.slug])


def person_posts_url(user) -> str:
    return reverse("api:person-posts", args=[user.username])


def tag_posts_url(tag) -> str:
    return reverse("api:tag-posts", args=[tag])


# --- home ------------------------------------------------------------------------------------


@pytest.mark.api_endpoint("feed-home", "GET")
def test_home_feed_has_own_followed_group_and_announcement_posts(api, user, other_user, owner):
    group = make_group(Group.Kind.PRIVATE, owner=owner, members=[user])
    mine = PostFactory(author=user)
    followed = PostFactory(author=other_user)
    follow(follower=user, followee=other_user)
    in_group = PostFactory(author=owner, audience=Post.Audience.GROUP, group=group)
    announcement = PostFactory(author=UserFactory(), is_announcement=True)
    PostFactory(author=owner)  # not followed: not on the home feed
    PostFactory(author=other_user, deleted="2025-01-01T00:00:00Z")  # deleted: nowhere

    response = api.get(HOME)
    assert ids(response) == [announcement.pk, in_group.pk, followed.pk, mine.pk]
    body = response.json()
    assert body["has_more"] is False
    assert body["next"] is None
    assert body["newest"] == encode_cursor(announcement.pk)


@pytest.mark.api_wrong_user("feed-home", "GET")
def test_home_feed_hides_agency_posts_of_another_agency(client_for, user, outsider):
    """Following someone does not show their agency-only posts to another agency's staff."""
    follow(follower=outsider, followee=user)
    agency_only = PostFactory(author=user, audience=Post.Audience.AGENCY)
    public = PostFactory(author=user)
    assert ids(client_for(outsider).get(HOME)) == [public.pk]
    assert agency_only.pk in ids(client_for(user).get(HOME))


def test_home_feed_pages_back_with_before_and_forward_with_since(api, user):
    posts = [PostFactory(author=user) for _ in range(5)]
    newest_first = [p.pk for p in reversed(posts)]

    first = api.get(HOME, {"limit": 2})
    assert ids(first) == newest_first[:2]
    assert first.json()["has_more"] is True
    second = api.get(HOME, {"limit": 2, "before": first.json()["next"]})
    assert ids(second) == newest_first[2:4]
    third = api.get(HOME, {"limit": 2, "before": second.json()["next"]})
    assert ids(third) == newest_first[4:]
    assert third.json()["has_more"] is False
    assert third.json()["next"] is None

    newest = first.json()["newest"]
    assert decode_cursor(newest) == posts[-1].pk
    assert ids(api.get(HOME, {"since": newest})) == []
    later = [PostFactory(author=user) for _ in range(3)]
    catch_up = api.get(HOME, {"since": newest, "limit": 2})
    assert ids(catch_up) == [later[1].pk, later[0].pk]  # the oldest missed, shown newest first
    assert catch_up.json()["has_more"] is True
    rest = api.get(HOME, {"since": catch_up.json()["newest"]})
    assert ids(rest) == [later[2].pk]
    assert rest.json()["has_more"] is False


@pytest.mark.parametrize("cursor", ["not-a-cursor", "cDp4", "!!!", "x" * 41])
@pytest.mark.parametrize("param", ["before", "since"])
def test_malformed_cursor_is_a_400(api, param, cursor):
    response = api.get(HOME, {param: cursor})
    assert response.status_code == 400
    assert response.json() == {"cursor": ["malformed cursor"]}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"limit": 101}, "limit"),
        ({"limit": 0}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"page": 2}, "page"),
        ({"befor": encode_cursor(5)}, "befor"),
    ],
)
def test_bad_feed_query_is_a_400(api, query, field):
    response = api.get(HOME, query)
    assert response.status_code == 400
    assert field in response.json()


def test_before_and_since_together_is_a_400(api):
    response = api.get(HOME, {"before": encode_cursor(5), "since": encode_cursor(2)})
    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["Pass either `before` or `since`, not both."]}


def test_limit_of_100_is_allowed(api, user):
    PostFactory(author=user)
    assert len(ids(api.get(HOME, {"limit": 100}))) == 1


def test_home_feed_query_count_does_not_grow_with_the_page(api, user, other_user):
    """No query per post: authors, groups, attachments, tags and reactions come in bulk."""
    group = make_group(Group.Kind.OPEN, owner=other_user, members=[user])

    def count_queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert api.get(HOME).status_code == 200
        return len(captured.captured_queries)

    actions.create_post(author=user, body="first #one")
    small = count_queries()
    for n in range(6):
        author = UserFactory()
        MembershipFactory(group=group, user=author)
        actions.create_post(
            author=author, body=f"post {n} #tag{n}", audience=Post.Audience.GROUP, group=group
        )
        actions.react(post=Post.objects.latest("pk"), user=user, kind="like")
    assert count_queries() == small


# --- a group's posts -------------------------------------------------------------------------


@pytest.mark.api_endpoint("group-posts", "GET")
def test_group_feed_of_an_open_group_is_readable_by_all_staff(client_for, owner, outsider):
    group = make_group(Group.Kind.OPEN, owner=owner)
    post = PostFactory(author=owner, audience=Post.Audience.GROUP, group=group)
    PostFactory(author=owner)  # not in the group
    assert ids(client_for(outsider).get(group_posts_url(group))) == [post.pk]


@pytest.mark.api_wrong_user("group-posts", "GET")
def test_group_feed_of_a_private_group_is_empty_for_outsiders(client_for, owner, user):
    group = make_group(Group.Kind.PRIVATE, owner=owner)
    post = PostFactory(author=owner, audience=Post.Audience.GROUP, group=group)
    assert ids(client_for(user).get(group_posts_url(group))) == []
    assert ids(client_for(owner).get(group_posts_url(group))) == [post.pk]


@pytest.mark.api_wrong_user("group-posts", "GET")
def test_group_feed_of_a_secret_group_is_404_like_a_missing_group(client_for, owner, user):
    group = make_group(Group.Kind.SECRET, owner=owner)
    PostFactory(author=owner, audience=Post.Audience.GROUP, group=group)
    secret = client_for(user).get(group_posts_url(group))
    missing = client_for(user).get(reverse("api:group-posts", args=["no-such-group"]))
    assert secret.status_code == missing.status_code == 404
    assert secret.json() == missing.json()


# --- a person's posts ------------------------------------------------------------------------


@pytest.mark.api_endpoint("person-posts", "GET")
def test_person_feed_shows_their_posts_to_a_colleague(api, other_user):
    public = PostFactory(author=other_user)
    agency_only = PostFactory(author=other_user, audience=Post.Audience.AGENCY)
    PostFactory()  # someone else's
    assert ids(api.get(person_posts_url(other_user))) == [agency_only.pk, public.pk]


@pytest.mark.api_wrong_user("person-posts", "GET")
def test_person_feed_hides_agency_posts_from_another_agency(client_for, user, outsider):
    public = PostFactory(author=user)
    PostFactory(author=user, audience=Post.Audience.AGENCY)
    assert ids(client_for(outsider).get(person_posts_url(user))) == [public.pk]


def test_person_feed_of_a_missing_user_is_404(api):
    assert api.get(reverse("api:person-posts", args=["nobody"])).status_code == 404


def test_person_feed_of_a_former_colleague_keeps_their_posts(api):
    leaver = UserFactory(is_active=False)
    post = PostFactory(author=leaver)
    assert ids(api.get(person_posts_url(leaver))) == [post.pk]


# --- a hashtag's posts -----------------------------------------------------------------------


@pytest.mark.api_endpoint("tag-posts", "GET")
def test_tag_feed_lists_posts_with_the_tag(api, user, other_user):
    tagged = actions.create_post(author=other_user, body="Budget talk #Budget2026")
    actions.create_post(author=other_user, body="Nothing to see")
    response = api.get(tag_posts_url("budget2026"))
    assert ids(response) == [tagged.pk]
    assert response.json()["results"][0]["hashtags"] == ["budget2026"]
    assert ids(api.get(tag_posts_url("BUDGET2026"))) == [tagged.pk]


@pytest.mark.api_wrong_user("tag-posts", "GET")
def test_tag_feed_hides_what_the_reader_may_not_see(client_for, user, owner, outsider):
    group = make_group(Group.Kind.PRIVATE, owner=owner)
    actions.create_post(author=user, body="#plans for us", audience=Post.Audience.AGENCY)
    actions.create_post(
        author=owner, body="#plans in secret", audience=Post.Audience.GROUP, group=group
    )
    public = actions.create_post(author=owner, body="#plans for all")
    assert ids(client_for(outsider).get(tag_posts_url("plans"))) == [public.pk]
    assert len(ids(client_for(owner).get(tag_posts_url("plans")))) == 3
