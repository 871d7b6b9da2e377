"""The Idempotency-Key header on POST /api/posts/ and POST /api/posts/<id>/comments/.

A client that retries (after a timeout, say) sends the same key again: nothing new is
written, and the answer is the first one's (201, what it wrote, as it is now). The same key
with another input is a 422; a key whose first request is still being written, a 409.
Keys are per person, so a key never answers with someone else's post.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from feeds import actions
from feeds.models import Comment, IdempotencyKey, Post
from groups.models import Group, Membership
from outbox.models import OutboxEvent
from tests.factories import PostFactory, UserFactory

from .conftest import make_group
from .test_posts import png

pytestmark = pytest.mark.django_db

POSTS = reverse("api:posts")
KEY = "HTTP_IDEMPOTENCY_KEY"  # the Idempotency-Key header, as the test client takes it


def comments_url(post) -> str:
    return reverse("api:post-comments", args=[post.pk])


def post_url(post_id: int) -> str:
    return reverse("api:post-detail", args=[post_id])


def events(topic: str) -> int:
    return OutboxEvent.objects.filter(topic=topic).count()


# --- posts ---------------------------------------------------------------------------------------


@pytest.mark.api_endpoint("posts", "POST")
def test_the_same_key_twice_writes_one_post_and_answers_201_twice(api, user):
    first = api.post(POSTS, {"body": "Budget is out #finance"}, format="json", **{KEY: "k-1"})
    again = api.post(POSTS, {"body": "Budget is out #finance"}, format="json", **{KEY: "k-1"})
    assert first.status_code == again.status_code == 201, again.content
    assert Post.objects.count() == 1
    post = Post.objects.get()
    assert first.json()["id"] == again.json()["id"] == post.pk
    assert again.json() == first.json()
    assert again["Location"] == first["Location"]
    assert again["Idempotent-Replayed"] == "true"
    assert not first.has_header("Idempotent-Replayed")
    assert events("post.created") == 1  # followers hear of it once
    row = IdempotencyKey.objects.get()
    assert (row.user, row.key, row.endpoint, row.post, row.comment) == (
        user,
        "k-1",
        IdempotencyKey.Endpoint.API_POST,
        post,
        None,
    )


def notes(content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile("notes.txt", content, content_type="text/plain")


def test_a_multipart_retry_with_the_same_files_is_a_replay(api, user):
    """Files count by name, size and content: the same bytes again are the same request; a
    file of the same name and size with other bytes is another."""
    sent = [
        api.post(
            POSTS,
            {"body": "Minutes", "attachments": [png(), notes(b"Agenda A\n")]},
            format="multipart",
            **{KEY: "m"},
        )
        for _attempt in range(2)
    ]
    assert [r.status_code for r in sent] == [201, 201]
    assert sent[0].json()["id"] == sent[1].json()["id"]
    assert Post.objects.get().attachments.count() == 2
    other_bytes = api.post(
        POSTS,
        {"body": "Minutes", "attachments": [png(), notes(b"Agenda B\n")]},
        format="multipart",
        **{KEY: "m"},
    )
    assert other_bytes.status_code == 422
    assert Post.objects.count() == 1


def test_a_replay_shows_the_post_as_it_is_now(api, user, other_user):
    """The answer is re-read, not stored: an edit, a comment and a reaction since show."""
    first = api.post(POSTS, {"body": "Draft"}, format="json", **{KEY: "now"})
    post = Post.objects.get()
    actions.edit_post(post=post, editor=user, body="Final")
    actions.add_comment(post=post, author=other_user, body="Nice")
    actions.react(post=post, user=other_user, kind="like")
    again = api.post(POSTS, {"body": "Draft"}, format="json", **{KEY: "now"})
    assert again.status_code == 201
    data = again.json()
    assert data["id"] == first.json()["id"]
    assert (data["body"], data["comment_count"], data["reactions"]["like"]) == ("Final", 1, 1)
    assert data == api.get(post_url(post.pk)).json()


def test_the_same_key_with_another_body_is_a_422_and_writes_nothing(api):
    assert api.post(POSTS, {"body": "One"}, format="json", **{KEY: "k"}).status_code == 201
    response = api.post(POSTS, {"body": "Two"}, format="json", **{KEY: "k"})
    assert response.status_code == 422
    assert response.json() == {
        "detail": "This Idempotency-Key was already used for a different request. "
        "Use a new key for a new request."
    }
    assert list(Post.objects.values_list("body", flat=True)) == ["One"]
    assert events("post.created") == 1


def test_a_post_key_used_for_a_comment_is_a_422(api, user):
    post = PostFactory(author=user)
    assert api.post(POSTS, {"body": "Hi"}, format="json", **{KEY: "k"}).status_code == 201
    response = api.post(comments_url(post), {"body": "Hi"}, format="json", **{KEY: "k"})
    assert response.status_code == 422
    assert not Comment.objects.exists()


@pytest.mark.api_wrong_user("posts", "POST")
def test_two_people_may_use_the_same_key(api, client_for, user, other_user):
    mine = api.post(POSTS, {"body": "Same words"}, format="json", **{KEY: "shared"})
    theirs = client_for(other_user).post(
        POSTS, {"body": "Same words"}, format="json", **{KEY: "shared"}
    )
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]
    assert sorted(Post.objects.values_list("author", flat=True)) == sorted([user.pk, other_user.pk])


@pytest.mark.api_wrong_user("posts", "POST")
def test_a_key_never_answers_with_a_post_its_sender_may_not_see(
    api, client_for, user, owner, outsider
):
    """Someone else's key is not yours (per person), and your own key answers through the
    permission module: once out of the private group, your own post there is a 404."""
    group = make_group(Group.Kind.PRIVATE, owner=owner, members=[user])
    body = {"body": "Members only", "group": group.slug}
    first = api.post(POSTS, body, format="json", **{KEY: "secret-plans"})
    assert first.status_code == 201
    hidden_id = first.json()["id"]

    stranger = client_for(outsider).post(
        POSTS, {"body": "Members only"}, format="json", **{KEY: "secret-plans"}
    )
    assert stranger.status_code == 201
    assert stranger.json()["id"] != hidden_id
    assert stranger.json()["author"]["username"] == outsider.username
    assert client_for(outsider).get(post_url(hidden_id)).status_code == 404

    Membership.objects.filter(group=group, user=user).delete()
    again = api.post(POSTS, body, format="json", **{KEY: "secret-plans"})
    assert again.status_code == 404
    assert again.json() == {"detail": "Not found."}
    assert again["Idempotent-Replayed"] == "true"
    assert Post.objects.count() == 2


def test_a_replay_of_a_post_deleted_since_is_a_404_and_writes_nothing(api, user):
    """Deleted posts are shown to nobody, so the replay answers what GET answers; the key is
    still taken, so the retry cannot bring the post back."""
    first = api.post(POSTS, {"body": "Oops"}, format="json", **{KEY: "k"})
    assert api.delete(post_url(first.json()["id"])).status_code == 204
    again = api.post(POSTS, {"body": "Oops"}, format="json", **{KEY: "k"})
    assert again.status_code == 404
    assert again["Idempotent-Replayed"] == "true"
    assert Post.objects.count() == 1
    assert events("post.created") == 1


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("x" * 256, "Use at most 255 characters (this has 256)."),
        ("line\nbreak", "Use printable ASCII characters only (no control characters)."),
        ("bell\x07", "Use printable ASCII characters only (no control characters)."),
        ("tab\there", "Use printable ASCII characters only (no control characters)."),
        ("delete\x7f", "Use printable ASCII characters only (no control characters)."),
        ("caf\u00e9", "Use printable ASCII characters only (no control characters)."),
        ("", "The key must not be empty."),
    ],
)
def test_a_malformed_key_is_a_400_on_the_header(api, key, message):
    response = api.post(POSTS, {"body": "Hi"}, format="json", **{KEY: key})
    assert response.status_code == 400
    assert response.json() == {"Idempotency-Key": [message]}
    assert not Post.objects.exists()
    assert not IdempotencyKey.objects.exists()


def test_a_key_of_255_printable_characters_is_fine(api):
    key = ("0123456789 ~!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}" * 6)[:255]
    assert len(key) == 255
    assert api.post(POSTS, {"body": "Hi"}, format="json", **{KEY: key}).status_code == 201
    assert IdempotencyKey.objects.get().key == key


def test_without_a_key_every_request_writes_as_before(api):
    for _attempt in range(2):
        assert api.post(POSTS, {"body": "Twice"}, format="json").status_code == 201
    assert Post.objects.count() == 2
    assert not IdempotencyKey.objects.exists()
    assert events("post.created") == 2


def test_a_refused_post_leaves_no_key_so_a_corrected_retry_writes(api, user, owner):
    """A 400 or a 403 writes no key: the client may fix the request and send the same key."""
    user.profile.agency = None
    user.profile.save()
    refused = api.post(POSTS, {"body": "Hi", "audience": "agency"}, format="json", **{KEY: "k"})
    assert refused.status_code == 400
    assert list(refused.json()) == ["audience"]
    group = make_group(Group.Kind.PRIVATE, owner=owner)
    body = {"body": "Hi", "group": group.slug}
    assert api.post(POSTS, body, format="json", **{KEY: "k"}).status_code == 403
    assert not IdempotencyKey.objects.exists()

    Membership.objects.create(group=group, user=user)
    fixed = api.post(POSTS, body, format="json", **{KEY: "k"})
    assert fixed.status_code == 201
    assert Post.objects.get().group == group
    assert IdempotencyKey.objects.get().post_id == fixed.json()["id"]


def test_a_write_that_fails_midway_leaves_neither_post_nor_key(api, user, settings, tmp_path):
    """The key's row is written in the post's transaction: when saving the attachment fails
    (the media folder cannot be created), both roll back, and the retry writes the post."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    settings.MEDIA_ROOT = blocker / "media"
    with pytest.raises(OSError):
        api.post(POSTS, {"body": "Chart", "attachments": [png()]}, format="multipart", **{KEY: "k"})
    assert not Post.objects.exists()
    assert not IdempotencyKey.objects.exists()
    assert events("post.created") == 0

    settings.MEDIA_ROOT = tmp_path / "media"
    retry = api.post(
        POSTS, {"body": "Chart", "attachments": [png()]}, format="multipart", **{KEY: "k"}
    )
    assert retry.status_code == 201
    assert Post.objects.get().attachments.count() == 1


def as_if_still_writing(key: str) -> None:
    """Put the key's row back as its first request had it before writing the post: no post
    yet. (Another transaction never sees that row uncommitted; this one leaves it so.)"""
    assert IdempotencyKey.objects.filter(key=key).update(post=None) == 1


def test_a_key_whose_first_request_is_still_writing_is_a_409(api, user):
    api.post(POSTS, {"body": "Slow"}, format="json", **{KEY: "k"})
    as_if_still_writing("k")
    response = api.post(POSTS, {"body": "Slow"}, format="json", **{KEY: "k"})
    assert response.status_code == 409
    assert response["Retry-After"] == "1"
    assert response.json() == {
        "detail": "A request with this Idempotency-Key is still being processed. "
        "Try again in a moment."
    }
    assert Post.objects.count() == 1
    assert events("post.created") == 1


# --- expiry --------------------------------------------------------------------------------------


def test_keys_expire_and_a_reused_key_then_writes_a_new_post(api, user, other_user, settings):
    settings.AGORA_IDEMPOTENCY_KEY_HOURS = 24
    first = api.post(POSTS, {"body": "Weekly note"}, format="json", **{KEY: "weekly"})
    someone_elses = PostFactory(author=other_user)
    stale = IdempotencyKey.objects.create(
        user=other_user,
        key="old",
        endpoint=IdempotencyKey.Endpoint.API_POST,
        fingerprint="0" * 64,
        post=someone_elses,
    )
    day_ago = timezone.now() - timedelta(hours=24, seconds=1)
    IdempotencyKey.objects.update(created=day_ago)

    again = api.post(POSTS, {"body": "Weekly note"}, format="json", **{KEY: "weekly"})
    assert again.status_code == 201
    assert again.json()["id"] != first.json()["id"]
    assert not again.has_header("Idempotent-Replayed")
    assert Post.objects.filter(author=user).count() == 2
    assert not IdempotencyKey.objects.filter(pk=stale.pk).exists()  # everyone's are purged
    assert list(IdempotencyKey.objects.values_list("post", flat=True)) == [again.json()["id"]]


def test_the_lifetime_is_a_setting(api, settings):
    settings.AGORA_IDEMPOTENCY_KEY_HOURS = 48
    first = api.post(POSTS, {"body": "Note"}, format="json", **{KEY: "k"})
    IdempotencyKey.objects.update(created=timezone.now() - timedelta(hours=47))
    again = api.post(POSTS, {"body": "Note"}, format="json", **{KEY: "k"})
    assert again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert Post.objects.count() == 1


# --- comments ------------------------------------------------------------------------------------


@pytest.mark.api_endpoint("post-comments", "POST")
def test_the_same_comment_key_twice_writes_one_comment(api, user, other_user):
    post = PostFactory(author=other_user)
    sent = [
        api.post(comments_url(post), {"body": "Agreed"}, format="json", **{KEY: "c-1"})
        for _attempt in range(2)
    ]
    assert [r.status_code for r in sent] == [201, 201]
    assert sent[0].json() == sent[1].json()
    assert sent[1]["Idempotent-Replayed"] == "true"
    comment = Comment.objects.get()
    assert sent[0].json()["id"] == comment.pk
    assert IdempotencyKey.objects.get().comment == comment
    assert events("comment.created") == 1


def test_a_replayed_comment_shows_its_replies_so_far(api, user, other_user):
    post = PostFactory(author=other_user)
    first = api.post(comments_url(post), {"body": "Question?"}, format="json", **{KEY: "c"})
    thread = Comment.objects.get(pk=first.json()["id"])
    reply = actions.add_comment(post=post, author=other_user, body="Answer", parent=thread)
    again = api.post(comments_url(post), {"body": "Question?"}, format="json", **{KEY: "c"})
    assert again.status_code == 201
    assert [r["id"] for r in again.json()["replies"]] == [reply.pk]
    assert again.json() == api.get(comments_url(post)).json()[0]


def test_a_replayed_reply_answers_the_reply(api, user, other_user):
    post = PostFactory(author=other_user)
    thread = actions.add_comment(post=post, author=other_user, body="Question?")
    body = {"body": "Answer", "parent": thread.pk}
    sent = [
        api.post(comments_url(post), body, format="json", **{KEY: "r"}) for _attempt in range(2)
    ]
    assert [r.status_code for r in sent] == [201, 201]
    assert sent[1].json()["id"] == sent[0].json()["id"]
    assert (sent[1].json()["parent"], sent[1].json()["replies"]) == (thread.pk, [])
    assert Comment.objects.count() == 2


def test_the_same_comment_key_on_another_post_or_with_another_body_is_a_422(api, other_user):
    post, elsewhere = PostFactory(author=other_user), PostFactory(author=other_user)
    assert api.post(comments_url(post), {"body": "Yes"}, **{KEY: "c"}).status_code == 201
    assert api.post(comments_url(elsewhere), {"body": "Yes"}, **{KEY: "c"}).status_code == 422
    assert api.post(comments_url(post), {"body": "No"}, **{KEY: "c"}).status_code == 422
    assert Comment.objects.count() == 1


@pytest.mark.api_wrong_user("post-comments", "POST")
def test_comment_keys_are_per_person(api, client_for, user, other_user):
    post = PostFactory(author=user)
    mine = api.post(comments_url(post), {"body": "Yes"}, **{KEY: "c"})
    theirs = client_for(other_user).post(comments_url(post), {"body": "Yes"}, **{KEY: "c"})
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]
    assert Comment.objects.count() == 2


def test_a_replayed_comment_deleted_since_is_a_404(api, other_user):
    post = PostFactory(author=other_user)
    first = api.post(comments_url(post), {"body": "Hmm"}, **{KEY: "c"})
    comment_url = reverse("api:comment-detail", args=[first.json()["id"]])
    assert api.delete(comment_url).status_code == 204
    again = api.post(comments_url(post), {"body": "Hmm"}, **{KEY: "c"})
    assert again.status_code == 404
    assert again["Idempotent-Replayed"] == "true"
    assert Comment.objects.count() == 1


def test_a_malformed_comment_key_is_a_400(api, other_user):
    post = PostFactory(author=other_user)
    response = api.post(comments_url(post), {"body": "Hi"}, **{KEY: "k" * 300})
    assert response.status_code == 400
    assert list(response.json()) == ["Idempotency-Key"]
    assert not Comment.objects.exists()


def test_a_failed_comment_leaves_no_key(api, other_user):
    post = PostFactory(author=other_user)
    assert api.post(comments_url(post), {"body": " "}, **{KEY: "c"}).status_code == 400
    assert not IdempotencyKey.objects.exists()
    assert api.post(comments_url(post), {"body": "Fixed"}, **{KEY: "c"}).status_code == 201


# --- the schema ----------------------------------------------------------------------------------


def test_the_schema_documents_the_header_and_its_answers(api):
    document = api.get(reverse("api:schema"), {"format": "json"}).json()
    for path in ("/api/posts/", "/api/posts/{post_id}/comments/"):
        operation = document["paths"][path]["post"]
        headers = [p for p in operation["parameters"] if p["in"] == "header"]
        assert [p["name"] for p in headers] == ["Idempotency-Key"]
        assert headers[0].get("required", False) is False
        assert {"201", "409", "422"} <= set(operation["responses"])
        assert "Idempotent-Replayed" in operation["responses"]["201"]["headers"]


# --- two requests at once (PostgreSQL: two connections write at the same time) -------------------

needs_concurrent_writes = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs a database where two connections write at once (PostgreSQL)",
)


def _wait_until_a_request_waits_for_a_lock(timeout: float = 10.0) -> None:
    """Until another session of this database waits on a lock (our request, at the key's
    INSERT, behind the open transaction that holds the same key)."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.02)
    raise AssertionError("the second request never waited for the first")


def _send_in_a_thread(client, body: dict, key: str) -> tuple[threading.Thread, dict]:
    answer: dict = {}

    def send():
        try:
            answer["response"] = client.post(POSTS, body, format="json", **{KEY: key})
        finally:
            connection.close()

    thread = threading.Thread(target=send)
    thread.start()
    return thread, answer


@pytest.fixture
def _quiet_commits(settings):
    """These tests commit for real: leave the outbox rows for the assertions, and publish
    nothing live."""
    settings.OUTBOX_DRAIN_INLINE = False
    settings.REALTIME_PUBLISHER = ""


@needs_concurrent_writes
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("_quiet_commits")
def test_a_retry_sent_while_the_first_is_writing_waits_and_answers_its_post(api, user):
    """The first request's transaction is held open (it runs inside this test's); the retry
    waits at the unique (person, key) index, then answers with the first's post instead of
    writing its own."""
    with transaction.atomic():
        first = api.post(POSTS, {"body": "Hello"}, format="json", **{KEY: "at-once"})
        assert first.status_code == 201
        thread, answer = _send_in_a_thread(api, {"body": "Hello"}, "at-once")
        _wait_until_a_request_waits_for_a_lock()
    thread.join(timeout=10)
    response = answer["response"]
    assert response.status_code == 201, response.content
    assert response.json()["id"] == first.json()["id"]
    assert response["Idempotent-Replayed"] == "true"
    assert Post.objects.count() == 1
    assert events("post.created") == 1


@needs_concurrent_writes
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("_quiet_commits")
def test_a_conflict_on_the_unique_key_with_no_post_yet_is_a_409(api, user):
    """The retry's INSERT fails on the unique (person, key) constraint, and the row it lost
    to has no post (a first request that has not finished): a 409, not a 500."""
    with transaction.atomic():
        api.post(POSTS, {"body": "Hello"}, format="json", **{KEY: "at-once"})
        as_if_still_writing("at-once")
        thread, answer = _send_in_a_thread(api, {"body": "Hello"}, "at-once")
        _wait_until_a_request_waits_for_a_lock()
    thread.join(timeout=10)
    assert answer["response"].status_code == 409, answer["response"].content
    assert Post.objects.count() == 1


# --- deleting ------------------------------------------------------------------------------------


def test_deleting_a_person_deletes_their_keys(user):
    person = UserFactory()
    IdempotencyKey.objects.create(
        user=person, key="k", endpoint=IdempotencyKey.Endpoint.API_POST, fingerprint="0" * 64
    )
    IdempotencyKey.objects.create(
        user=user, key="k", endpoint=IdempotencyKey.Endpoint.API_POST, fingerprint="0" * 64
    )
    person.delete()
    assert list(IdempotencyKey.objects.values_list("user", flat=True)) == [user.pk]


def test_deleting_a_post_or_its_group_deletes_its_keys(api, user, owner):
    group = make_group(Group.Kind.OPEN, owner=owner, members=[user])
    in_group = api.post(POSTS, {"body": "A", "group": group.slug}, format="json", **{KEY: "a"})
    assert in_group.status_code == 201
    alone = api.post(POSTS, {"body": "B"}, format="json", **{KEY: "b"})
    comment = api.post(
        comments_url(Post.objects.get(pk=alone.json()["id"])), {"body": "C"}, **{KEY: "c"}
    )
    assert comment.status_code == 201
    assert IdempotencyKey.objects.count() == 3
    group.delete()
    assert sorted(IdempotencyKey.objects.values_list("key", flat=True)) == ["b", "c"]
    Post.objects.filter(pk=alone.json()["id"]).delete()
    assert not IdempotencyKey.objects.exists()
