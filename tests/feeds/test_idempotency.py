"""The composer and the comment forms write once, however often they are sent.

Each rendering of a form carries a one-time token (a hidden `form_token`); the same token
sent again by the same person (a double click, a resubmission after a network error) writes
nothing and goes where the first submission went. A form without a token (a page from
before tokens) posts as it always did. The API's Idempotency-Key is tested in
tests/api/test_idempotency.py; both use the same table.
"""

from __future__ import annotations

import re
import uuid

import pytest
from django.urls import reverse

from feeds import realtime
from feeds.models import Comment, IdempotencyKey, Post
from outbox.models import OutboxEvent
from tests.factories import CommentFactory, GroupFactory, MembershipFactory, PostFactory

pytestmark = pytest.mark.django_db

HOME = reverse("feeds:home")
CREATE = reverse("feeds:post_create")


def tokens_in(html: str) -> list[str]:
    return re.findall(r'<input type="hidden" name="form_token" value="([^"]*)"', html)


def composer_token(web) -> str:
    (token,) = tokens_in(web.get(HOME).content.decode())
    return token


def comment_url(post) -> str:
    return reverse("feeds:comment_create", args=[post.pk])


# --- the composer --------------------------------------------------------------------------------


def test_each_composer_carries_a_fresh_token(web):
    first, second = composer_token(web), composer_token(web)
    assert uuid.UUID(first).version == 4
    assert first != second


def test_the_composer_sent_twice_publishes_once_and_both_go_home(web, user):
    form = {"body": "Our new intranet is live", "audience": "everyone"}
    form["form_token"] = composer_token(web)
    first = web.post(CREATE, form)
    again = web.post(CREATE, form)
    assert first.status_code == again.status_code == 302
    assert first["Location"] == again["Location"] == HOME
    assert Post.objects.count() == 1
    assert OutboxEvent.objects.filter(topic="post.created").count() == 1
    page = web.get(HOME).content.decode()
    assert page.count("Our new intranet is live") == 1
    assert "Please correct the following" not in page
    assert IdempotencyKey.objects.get().endpoint == IdempotencyKey.Endpoint.WEB_POST


def test_a_resubmission_goes_where_the_first_went(web, user):
    """The redirect is the first's: back to the page named by `next` (a group page)."""
    group = GroupFactory()
    MembershipFactory(group=group, user=user)
    back = reverse("groups:detail", args=[group.slug])
    form = {"body": "In the group", "audience": f"group:{group.pk}", "next": back}
    form["form_token"] = composer_token(web)
    locations = {web.post(CREATE, form)["Location"] for _attempt in range(3)}
    assert locations == {back}
    assert Post.objects.count() == 1


def test_a_form_without_a_token_still_posts_as_before(web):
    form = {"body": "Old tab", "audience": "everyone"}
    assert [web.post(CREATE, form).status_code for _attempt in range(2)] == [302, 302]
    assert Post.objects.count() == 2
    assert not IdempotencyKey.objects.exists()


def test_a_token_that_is_no_token_is_ignored(web):
    """A field we could not have rendered (tampered, or from elsewhere) protects nothing and
    breaks nothing: the post is written."""
    for odd in ("x" * 300, "tab\there"):
        form = {"body": "Odd", "audience": "everyone", "form_token": odd}
        assert web.post(CREATE, form).status_code == 302
    assert Post.objects.count() == 2
    assert not IdempotencyKey.objects.exists()


def test_the_same_token_with_other_text_keeps_it_and_offers_a_fresh_token(web):
    """The page kept in the history, changed and sent again: nothing is written, the text
    stays with an explanation, and the form sent again (with its new token) publishes."""
    token = composer_token(web)
    web.post(CREATE, {"body": "First", "audience": "everyone", "form_token": token})
    response = web.post(CREATE, {"body": "Second", "audience": "everyone", "form_token": token})
    assert response.status_code == 400
    html = response.content.decode()
    assert "This form was already sent with different content." in html
    assert re.search(r"<textarea[^>]*>\s*Second</textarea>", html)
    (fresh,) = tokens_in(html)
    assert fresh != token
    assert list(Post.objects.values_list("body", flat=True)) == ["First"]

    sent_again = web.post(CREATE, {"body": "Second", "audience": "everyone", "form_token": fresh})
    assert sent_again.status_code == 302
    assert sorted(Post.objects.values_list("body", flat=True)) == ["First", "Second"]


def test_a_refused_submission_keeps_its_token_and_the_corrected_one_publishes(web):
    token = composer_token(web)
    refused = web.post(CREATE, {"body": "  ", "audience": "everyone", "form_token": token})
    assert refused.status_code == 400
    assert tokens_in(refused.content.decode()) == [token]  # nothing was written with it
    assert not IdempotencyKey.objects.exists()
    fixed = web.post(
        CREATE, {"body": "Now with words", "audience": "everyone", "form_token": token}
    )
    assert fixed.status_code == 302
    assert Post.objects.get().body == "Now with words"


def test_tokens_are_per_person(client, user, other_user):
    token = str(uuid.uuid4())
    for person in (user, other_user):
        client.force_login(person)
        form = {"body": "Same words", "audience": "everyone", "form_token": token}
        assert client.post(CREATE, form).status_code == 302
    assert sorted(Post.objects.values_list("author", flat=True)) == sorted([user.pk, other_user.pk])


def test_the_composer_form_is_marked_for_the_script(web):
    html = web.get(HOME).content.decode()
    form = re.search(r'<form[^>]*action="/posts/new/"[^>]*>', html).group(0)
    assert "data-submit-once" in form


# --- comments and replies ------------------------------------------------------------------------


def test_the_post_page_gives_each_comment_form_its_own_token(web, user):
    post = PostFactory(author=user)
    CommentFactory(post=post)
    CommentFactory(post=post)
    html = web.get(post.get_absolute_url()).content.decode()
    tokens = tokens_in(html)
    assert len(tokens) == 3  # the comment form and two reply forms
    assert len(set(tokens)) == 3
    assert html.count("data-submit-once") == 3


def test_a_comment_sent_twice_is_written_once_and_both_go_to_it(web, user):
    post = PostFactory(author=user)
    form = {"body": "Great news", "form_token": str(uuid.uuid4())}
    first = web.post(comment_url(post), form)
    again = web.post(comment_url(post), form)
    comment = Comment.objects.get()
    assert first.status_code == again.status_code == 302
    assert first["Location"] == again["Location"]
    assert again["Location"].endswith(f"#comment-{comment.pk}")
    assert OutboxEvent.objects.filter(topic="comment.created").count() == 1
    assert IdempotencyKey.objects.get().comment == comment


def test_a_reply_sent_twice_is_written_once(web, user):
    post = PostFactory(author=user)
    thread = CommentFactory(post=post)
    form = {"body": "Agreed", "parent": thread.pk, "form_token": str(uuid.uuid4())}
    locations = {web.post(comment_url(post), form)["Location"] for _attempt in range(2)}
    reply = Comment.objects.get(parent=thread)
    assert locations == {f"{post.get_absolute_url()}#comment-{reply.pk}"}


def test_a_comment_form_without_a_token_still_comments(web, user):
    post = PostFactory(author=user)
    for _attempt in range(2):
        assert web.post(comment_url(post), {"body": "Again"}).status_code == 302
    assert Comment.objects.count() == 2


def test_the_same_comment_token_with_other_text_explains_and_writes_nothing(web, user):
    post = PostFactory(author=user)
    token = str(uuid.uuid4())
    web.post(comment_url(post), {"body": "First", "form_token": token})
    response = web.post(comment_url(post), {"body": "Second", "form_token": token})
    assert response.status_code == 400
    html = response.content.decode()
    assert "This form was already sent with different content." in html
    assert token not in tokens_in(html)
    assert list(Comment.objects.values_list("body", flat=True)) == ["First"]


def test_a_comment_token_on_another_post_is_another_request(web, user):
    """The post commented on is part of the fingerprint: the same token there is refused,
    not answered with the first post's comment."""
    post, other = PostFactory(author=user), PostFactory(author=user)
    token = str(uuid.uuid4())
    assert web.post(comment_url(post), {"body": "Yes", "form_token": token}).status_code == 302
    assert web.post(comment_url(other), {"body": "Yes", "form_token": token}).status_code == 400
    assert Comment.objects.count() == 1


def test_a_reply_form_delivered_live_has_an_empty_token_for_the_script(user):
    """Rendered once for every viewer, a live reply form cannot carry anyone's token:
    static/js/agora.js fills one in when it is sent."""
    thread = CommentFactory(post=PostFactory(author=user))
    html = realtime.render_comment(thread)
    assert 'name="form_token"' in html
    assert tokens_in(html) == []  # no value attribute at all
    assert "data-submit-once" in html
