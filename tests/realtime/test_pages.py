"""The pages' side of live updates: the hook each page carries, and the catch-up fragment."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from feeds import actions as feed_actions
from feeds.cursors import encode_cursor
from groups.models import Group
from tests.factories import GroupFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def hook(html: str) -> dict[str, str]:
    """The data-live-* attributes of the page's live element ({} if it has none)."""
    match = re.search(r"<div[^>]*\sdata-live=\"([^\"]+)\"[^>]*>", html)
    if not match:
        return {}
    attributes = dict(re.findall(r'(data-live(?:-[a-z]+)?)="([^"]*)"', match.group(0)))
    return attributes


def test_the_home_feed_carries_the_hook_and_keeps_its_csrf_tokens(web, user):
    """The newest page of the home feed is live (key, cursor, fragment URL, notice texts);
    its server-rendered reaction forms keep their CSRF tokens."""
    post = feed_actions.create_post(author=user, body="Mine")
    html = web.get(reverse("feeds:home")).content.decode()
    attributes = hook(html)
    assert attributes["data-live"] == "home"
    assert attributes["data-live-cursor"] == encode_cursor(post.pk)
    assert attributes["data-live-url"] == reverse("feeds:live_feed")
    assert attributes["data-live-one"] == "1 new post"
    assert 'aria-live="polite" data-live-notice' in html
    forms = re.findall(r"<form[^>]*data-reaction-form>.*?</form>", html, re.S)
    assert forms and all("csrfmiddlewaretoken" in form for form in forms)
    assert "data-live-owner" not in html  # rendered for this viewer: their own links are shown


def test_an_empty_home_feed_is_live_too(web):
    attributes = hook(web.get(reverse("feeds:home")).content.decode())
    assert attributes["data-live"] == "home"
    assert attributes["data-live-cursor"] == encode_cursor(0)


def test_pages_of_history_are_not_live(web, user):
    post = feed_actions.create_post(author=user, body="Old")
    for query in (f"?before={encode_cursor(post.pk + 1)}", f"?since={encode_cursor(0)}"):
        assert hook(web.get(reverse("feeds:home") + query).content.decode()) == {}


def test_group_profile_and_post_pages_carry_their_keys(web, user):
    group = GroupFactory(kind=Group.Kind.OPEN)
    MembershipFactory(group=group, user=user)
    post = feed_actions.create_post(author=user, body="Here", audience="group", group=group)
    pages = {
        group.get_absolute_url(): f"group:{group.pk}",
        user.profile.get_absolute_url(): f"profile:{user.pk}",
        post.get_absolute_url(): f"post:{post.pk}",
    }
    for url, key in pages.items():
        assert hook(web.get(url).content.decode()).get("data-live") == key, url


def test_the_post_page_lists_comments_in_threads_the_script_can_extend(web, user):
    post = feed_actions.create_post(author=user, body="Thread")
    comment = feed_actions.add_comment(post=post, author=user, body="Top")
    reply = feed_actions.add_comment(post=post, author=user, body="Reply", parent=comment)
    html = web.get(post.get_absolute_url()).content.decode()
    assert f'<li data-comment-thread="{comment.pk}">' in html
    assert f'id="comment-{reply.pk}"' in html and "comment-list--replies" in html
    assert html.count("csrfmiddlewaretoken") >= 3  # reply form, comment form, reactions


def test_catch_up_returns_the_feeds_newer_posts_oldest_first(web, user):
    """`/live/feed/?feed=home&since=` answers the cards after the cursor, with the newest
    cursor and whether there is more."""
    first = feed_actions.create_post(author=user, body="First")
    second = feed_actions.create_post(author=user, body="Second")
    third = feed_actions.create_post(author=user, body="Third")
    url = reverse("feeds:live_feed")
    response = web.get(url, {"feed": "home", "since": encode_cursor(first.pk)})
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    html = response.content.decode()
    ids = [int(n) for n in re.findall(r'<article class="post-card[^"]*" id="post-(\d+)"', html)]
    assert set(ids) == {second.pk, third.pk}
    assert f'data-newest-cursor="{encode_cursor(third.pk)}"' in html
    assert 'data-has-more="false"' in html
    assert "csrfmiddlewaretoken" in html  # rendered for the reader, like the page


def test_catch_up_for_a_group_shows_only_what_the_reader_may_see(client, user):
    secret = GroupFactory(kind=Group.Kind.SECRET)
    MembershipFactory(group=secret, user=user)
    feed_actions.create_post(author=user, body="Hush", audience="group", group=secret)
    outsider = UserFactory()
    client.force_login(outsider)
    url = reverse("feeds:live_feed")
    since = encode_cursor(0)
    assert client.get(url, {"feed": f"group:{secret.pk}", "since": since}).status_code == 404
    response = client.get(url, {"feed": f"profile:{user.pk}", "since": since})
    assert response.status_code == 200 and "Hush" not in response.content.decode()
    client.force_login(user)
    response = client.get(url, {"feed": f"group:{secret.pk}", "since": since})
    assert "Hush" in response.content.decode()


@pytest.mark.parametrize(
    "query",
    [{"feed": "home"}, {"feed": "home", "since": "nonsense"}, {"feed": "nope", "since": "cDow"}],
)
def test_catch_up_refuses_bad_requests(web, query):
    assert web.get(reverse("feeds:live_feed"), query).status_code in (400, 404)


def test_catch_up_needs_a_signed_in_colleague(client):
    response = client.get(reverse("feeds:live_feed"), {"feed": "home", "since": "cDow"})
    assert response.status_code == 302
