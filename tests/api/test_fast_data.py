"""The feeds' representations built directly (`feeds.api.post_data`, `profiles.api.person_data`)
give what the serializers' declared fields give (those stay the API's schema), for posts of
every kind read as the feeds read them, and through the real endpoint."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, timedelta
from datetime import timezone as dt_timezone
from functools import partial

import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from hypothesis import example, given, settings
from hypothesis import strategies as st
from rest_framework import serializers
from rest_framework.request import Request

from feeds import selectors
from feeds.api import (
    FeedPageSerializer,
    PostSerializer,
    feed_rows_data,
    post_data,
)
from feeds.cursors import encode_cursor
from feeds.models import Attachment, Hashtag, Post, Reaction
from groups.models import Group
from intranet.api import datetime_writer
from profiles.actions import follow
from profiles.api import PersonSerializer, person_data
from profiles.models import Profile
from tests.factories import (
    CommentFactory,
    GroupFactory,
    MembershipFactory,
    PostFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def declared(post: Post, request) -> dict:
    """PostSerializer's output as DRF builds it from the declared fields."""
    serializer = PostSerializer(context={"request": request})
    return serializers.Serializer.to_representation(serializer, post)


@pytest.fixture
def request_():
    return Request(RequestFactory().get("/api/feed/home/", HTTP_HOST="localhost"))


def varied_posts(user) -> None:
    """Posts of every audience, in and out of groups, with and without what a card shows."""
    author = UserFactory(profile__agency=user.profile.agency)  # sees their agency posts
    homeless = UserFactory(profile__agency=None)
    follow(follower=user, followee=author)
    follow(follower=user, followee=homeless)
    group = GroupFactory(kind=Group.Kind.PRIVATE)
    MembershipFactory(group=group, user=user)
    MembershipFactory(group=group, user=author)
    # Made out of alphabetical order: a post lists its hashtags by name.
    tags = [Hashtag.objects.create(name=name) for name in ("open-data", "budget")]
    plain = PostFactory(author=author, body="plain")
    in_group = PostFactory(author=author, audience=Post.Audience.GROUP, group=group)
    agency = PostFactory(author=author, audience=Post.Audience.AGENCY, agency=author.profile.agency)
    announcement = PostFactory(author=homeless, is_announcement=True)
    edited = PostFactory(author=user, edited=timezone.now())
    in_group.hashtags.set(tags)
    plain.hashtags.set(tags[:1])
    Reaction.objects.create(post=plain, user=user, kind="like")
    Reaction.objects.create(post=plain, user=author, kind="thanks")
    Reaction.objects.create(post=announcement, user=author, kind="like")
    CommentFactory(post=plain, author=user)
    for kind, name in (("image", "chart.png"), ("document", "minutes.pdf")):
        Attachment.objects.create(
            post=agency, file=f"attachments/{name}", kind=kind, content_type="x/y",
            size=1234, original_name=name,
        )  # fmt: skip
    assert {plain, in_group, agency, announcement, edited}


def test_post_data_is_what_the_declared_fields_give(user, request_):
    varied_posts(user)
    page = selectors.posts_for_home(viewer=user, limit=50)
    assert len(page.items) == 5
    for post in page.items:
        expected = declared(post, request_)
        got = post_data(post, request_)
        assert list(got) == list(expected)
        assert got == expected
    shown = {post.pk: post_data(post, request_) for post in page.items}
    assert any(data["attachments"] for data in shown.values())
    assert any(data["group"] for data in shown.values())
    assert any(data["my_reactions"] for data in shown.values())
    assert any(data["edited"] for data in shown.values())
    assert any(data["author"]["agency"] is None for data in shown.values())


@pytest.mark.parametrize("limit", [2, 50])
def test_a_page_of_rows_gives_what_the_page_serializer_gives(user, request_, limit):
    """Results, both cursors and `has_more`, on a page with more after it and on the last."""
    varied_posts(user)
    page = selectors.posts_for_home(viewer=user, limit=limit)
    expected = FeedPageSerializer(page, context={"request": request_}).data
    got = feed_rows_data(selectors.posts_for_home(viewer=user, limit=limit, as_rows=True), request_)
    assert list(got) == list(expected)
    assert got == expected
    assert got["has_more"] is (limit == 2)
    assert (got["next"] is None) is (limit == 50)


def test_person_data_is_what_the_person_serializer_gives(user, request_):
    homeless = UserFactory(profile__agency=None)
    for person in (user, homeless, user.profile):
        expected = PersonSerializer(person, context={"request": request_}).data
        assert person_data(person, request_) == expected


def nameless_author(user) -> None:
    """A followed account with no profile (made outside Agora), who wrote before it lost it."""
    nameless = UserFactory()
    follow(follower=user, followee=nameless)
    PostFactory(author=nameless, body="from an account without a profile")
    Profile.objects.filter(user=nameless).delete()


def walk(read, viewer, limit: int) -> list:
    """Every page back from the newest, then forward from before the oldest post."""
    pages, before = [], None
    while True:
        page = read(viewer=viewer, before=before, limit=limit)
        pages.append(page)
        if not page.next_cursor:
            break
        before = page.next_cursor
    since = encode_cursor(1)  # newer than the first post there could be
    while True:
        page = read(viewer=viewer, since=since, limit=limit)
        pages.append(page)
        if not page.items:
            return pages
        since = page.newest_cursor


def feeds() -> dict:
    """The four feeds of `varied_posts`' world, each a reader of pages."""
    author = Post.objects.get(body="plain").author
    return {
        "home": selectors.posts_for_home,
        "group": partial(selectors.posts_for_group, group=Group.objects.get()),
        "person": partial(selectors.posts_for_profile, author=author),
        "hashtag": partial(selectors.posts_for_hashtag, tag="budget"),
    }


@pytest.mark.parametrize("feed", ["home", "group", "person", "hashtag"])
def test_the_rows_of_a_feed_give_what_its_posts_give(user, request_, feed):
    """The API reads its feeds as plain rows (`as_rows`, `feed_rows_data`): each page,
    backwards and forwards, for the viewer and for others (another agency, no groups, the
    account with no profile), is what the page of model instances gives through the
    serializers."""
    varied_posts(user)
    nameless_author(user)
    for n in range(6):
        PostFactory(author=user, body=f"more {n} #budget")
    read = feeds()[feed]
    for viewer in [user, UserFactory(), UserFactory(profile__agency=None)]:
        for limit in (1, 4, 20):
            by_rows = walk(partial(read, as_rows=True), viewer, limit)
            by_posts = walk(read, viewer, limit)
            assert len(by_rows) == len(by_posts)
            for rows, posts in zip(by_rows, by_posts, strict=True):
                got = feed_rows_data(rows, request_)
                assert list(got) == ["results", "next", "newest", "has_more"]
                assert got == FeedPageSerializer(posts, context={"request": request_}).data
    shown = feed_rows_data(read(viewer=user, limit=50, as_rows=True), request_)["results"]
    assert shown
    if feed != "home":
        return
    assert len(shown) == 12
    authors = [data["author"] for data in shown]
    assert {"display_name", "job_title"} <= set(authors[0])
    assert any(data["attachments"] for data in shown)
    assert any(len(data["hashtags"]) == 2 for data in shown)
    assert any(data["group"] for data in shown)
    assert any(data["my_reactions"] for data in shown)
    assert any(sum(data["reactions"].values()) == 2 for data in shown)
    assert any(data["comment_count"] for data in shown)
    assert any(data["edited"] for data in shown)
    assert any(author["agency"] is None for author in authors)
    assert any(author["agency"] is not None for author in authors)
    nameless = [a for a in authors if a["display_name"] == a["username"] and not a["job_title"]]
    assert nameless, "the account with no profile is shown as its user name"


def test_the_home_feed_endpoint_answers_with_it(api, user):
    varied_posts(user)
    api.force_authenticate(user)
    response = api.get(reverse("api:feed-home"))
    assert response.status_code == 200
    request_ = Request(RequestFactory().get("/", HTTP_HOST="testserver"))
    page = selectors.posts_for_home(viewer=user)
    assert response.json()["results"] == [declared(post, request_) for post in page.items]
    nameless_author(user)
    response = api.get(reverse("api:feed-home"), {"limit": 2})
    page = selectors.posts_for_home(viewer=user, limit=2)
    expected = FeedPageSerializer(page, context={"request": request_}).data
    assert response.json() == expected
    assert response.json()["results"][0]["author"]["display_name"] == (
        page.items[0].author.get_username()
    )


# --- date-times --------------------------------------------------------------------------------

_ZONES = ["UTC", "Europe/Paris", "America/St_Johns", "Asia/Kathmandu", "Pacific/Chatham"]
_TZINFOS = [None, UTC, *(zoneinfo.ZoneInfo(z) for z in _ZONES), dt_timezone(timedelta(hours=-3))]


@settings(max_examples=400, deadline=None)
@given(
    value=st.datetimes(
        min_value=datetime(1, 1, 2),  # noqa: DTZ001  (hypothesis takes naive bounds)
        max_value=datetime(9999, 12, 30),  # noqa: DTZ001
        timezones=st.sampled_from(_TZINFOS),
    ),
    active=st.sampled_from(_ZONES),
)
@example(value=datetime(2026, 12, 6, 5, 0, tzinfo=UTC), active="UTC")
@example(value=datetime(1, 1, 1, 0, 30, tzinfo=zoneinfo.ZoneInfo("Europe/Paris")), active="UTC")
def test_the_datetime_writer_writes_what_drf_writes(value, active):
    """Aware or naive, in any zone, whatever zone is active; errors alike (an overflow)."""
    field = serializers.DateTimeField()
    with timezone.override(active):
        write = datetime_writer()
        try:
            expected = field.to_representation(value)
        except serializers.ValidationError as error:
            with pytest.raises(serializers.ValidationError) as raised:
                write(value)
            assert raised.value.detail == error.detail
        else:
            assert write(value) == expected
