"""Posts, comments and reactions through the API."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from PIL import Image

from feeds import actions
from feeds.cursors import encode_cursor
from feeds.models import Attachment, Comment, Post, Reaction
from groups.models import Group, Membership
from tests.factories import CommentFactory, MembershipFactory, PostFactory, UserFactory

from .conftest import make_group

pytestmark = pytest.mark.django_db

POSTS = reverse("api:posts")


def post_url(post) -> str:
    return reverse("api:post-detail", args=[post.pk])


def comments_url(post) -> str:
    return reverse("api:post-comments", args=[post.pk])


def reactions_url(post) -> str:
    return reverse("api:post-reactions", args=[post.pk])


def comment_url(comment) -> str:
    return reverse("api:comment-detail", args=[comment.pk])


def png(name="photo.png") -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (4, 3), "teal").save(out, format="PNG")
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/png")


# --- creating --------------------------------------------------------------------------------


@pytest.mark.api_endpoint("posts", "POST")
def test_create_post(api, user, other_user):
    response = api.post(
        POSTS, {"body": "Hello **all** #Welcome @" + other_user.username}, format="json"
    )
    assert response.status_code == 201, response.content
    post = Post.objects.get()
    assert (post.author, post.audience, post.agency) == (user, "everyone", user.profile.agency)
    assert list(post.hashtags.values_list("name", flat=True)) == ["welcome"]
    assert list(post.mentions.values_list("user", flat=True)) == [other_user.pk]
    data = response.json()
    assert response["Location"].endswith(post_url(post))
    assert data["id"] == post.pk
    assert data["cursor"] == encode_cursor(post.pk)
    assert data["body"] == "Hello **all** #Welcome @" + other_user.username
    assert "<strong>all</strong>" in data["body_html"]
    assert data["hashtags"] == ["welcome"]
    assert data["group"] is None
    assert data["author"]["username"] == user.username


def test_post_representation(api, user, other_user, owner):
    """Every field of a post, as the brief lists them."""
    group = make_group(Group.Kind.OPEN, owner=owner, members=[user])
    post = actions.create_post(
        author=user,
        body="In the group #Plans",
        audience=Post.Audience.GROUP,
        group=group,
        attachments=[png()],
    )
    actions.react(post=post, user=user, kind="like")
    actions.react(post=post, user=other_user, kind="like")
    actions.react(post=post, user=other_user, kind="thanks")
    actions.add_comment(post=post, author=other_user, body="Nice")
    data = api.get(post_url(post)).json()

    assert list(data) == [
        "id", "cursor", "author", "body", "body_html", "audience", "group", "is_announcement",
        "created", "edited", "hashtags", "attachments", "comment_count", "reactions",
        "my_reactions", "url",
    ]  # fmt: skip
    assert data["author"] == {
        "username": user.username,
        "display_name": user.profile.display_name,
        "agency": {
            "id": user.profile.agency.pk,
            "slug": user.profile.agency.slug,
            "name": user.profile.agency.name,
            "short_name": user.profile.agency.short_name,
        },
        "job_title": "",
        "url": f"http://testserver/people/{user.username}/",
    }
    assert data["audience"] == "group"
    assert data["group"] == {"slug": group.slug, "name": group.name}
    assert data["is_announcement"] is False
    assert data["edited"] is None
    attachment = Attachment.objects.get()
    assert data["attachments"] == [
        {
            "id": attachment.pk,
            "name": "photo.png",
            "kind": "image",
            "content_type": "image/png",
            "size": attachment.size,
            "url": f"http://testserver/attachments/{attachment.pk}/",
        }
    ]
    assert data["comment_count"] == 1
    assert data["reactions"] == {
        "like": 2, "celebrate": 0, "support": 0, "insightful": 0, "thanks": 1,
    }  # fmt: skip
    assert data["my_reactions"] == ["like"]
    assert data["url"] == f"http://testserver/posts/{post.pk}/"


@pytest.mark.parametrize("audience", ["everyone", "agency", "group"])
def test_the_create_answer_is_the_post_as_read_back(api, user, other_user, owner, audience):
    """POST answers with the post it wrote, without reading it back: field for field what
    GET answers for the same post (hashtags in order, attachments, empty counts)."""
    group = make_group(Group.Kind.PRIVATE, owner=owner, members=[user])
    body = {
        "body": f"Minutes #Zeta #alpha #Zeta @{other_user.username}",
        "audience": audience,
        "attachments": [png(), png("second.png")],
    }
    if audience == "group":
        body["group"] = group.slug
    created = api.post(POSTS, body, format="multipart")
    assert created.status_code == 201, created.content
    read_back = api.get(created["Location"])
    assert read_back.status_code == 200
    assert created.json() == read_back.json()
    assert created.json()["hashtags"] == ["alpha", "zeta"]
    assert len(created.json()["attachments"]) == 2


def test_writing_a_post_costs_no_query_for_what_a_new_post_cannot_have(api, user, other_user):
    """No DELETE or SELECT of earlier mentions (there are none), one INSERT for the hashtags
    however many, and no SELECT of the post it just wrote."""
    api.post(POSTS, {"body": "warm-up #one"}, format="json")
    with CaptureQueriesContext(connection) as queries:
        response = api.post(
            POSTS,
            {"body": f"#one #two #three @{other_user.username} and @nobody"},
            format="json",
        )
    assert response.status_code == 201
    statements = [q["sql"] for q in queries.captured_queries]
    assert not [s for s in statements if s.startswith("DELETE")], statements
    mention_reads = [s for s in statements if s.startswith("SELECT") and "feeds_mention" in s]
    assert not mention_reads, mention_reads
    hashtag_inserts = [s for s in statements if s.startswith("INSERT") and 'feeds_hashtag"' in s]
    assert len(hashtag_inserts) == 1, statements
    post_reads = [s for s in statements if s.startswith("SELECT") and 'FROM "feeds_post"' in s]
    assert not post_reads, post_reads


def test_create_group_post_by_slug(api, user, owner):
    group = make_group(Group.Kind.PRIVATE, owner=owner, members=[user])
    response = api.post(POSTS, {"body": "For the group", "group": group.slug}, format="json")
    assert response.status_code == 201, response.content
    post = Post.objects.get()
    assert (post.audience, post.group) == ("group", group)
    assert response.json()["group"]["slug"] == group.slug


def test_create_post_with_attachments_multipart(api, user):
    notes = SimpleUploadedFile("notes.txt", b"Agenda\n", content_type="text/plain")
    response = api.post(
        POSTS,
        {"body": "See attached", "audience": "agency", "attachments": [png(), notes]},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    post = Post.objects.get()
    assert post.audience == "agency"
    assert sorted(post.attachments.values_list("original_name", "kind")) == [
        ("notes.txt", "document"),
        ("photo.png", "image"),
    ]
    assert [a["name"] for a in response.json()["attachments"]] == ["photo.png", "notes.txt"]


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        ({"body": ""}, {"body": ["Write something before posting."]}),
        ({"body": "   \n "}, {"body": ["Write something before posting."]}),
        ({}, {"body": ["This field is required."]}),
        (
            {"body": "x" * 5001},
            {"body": ["Keep it under 5000 characters (this has 5001)."]},
        ),
        ({"body": "hi", "audience": "world"}, {"audience": ['"world" is not a valid choice.']}),
        ({"body": "hi", "colour": "red"}, {"colour": ["Unknown field."]}),
        ({"body": "hi", "audience": "group"}, {"group": ["Choose the group to post in."]}),
        (
            {"body": "hi", "is_announcement": "perhaps"},
            {"is_announcement": ["Must be a valid boolean."]},
        ),
    ],
)
def test_create_post_bad_input_is_a_400(api, data, errors):
    response = api.post(POSTS, data, format="json")
    assert response.status_code == 400
    assert response.json() == errors
    assert not Post.objects.exists()


def test_create_post_of_exactly_5000_characters(api):
    assert api.post(POSTS, {"body": "x" * 5000}, format="json").status_code == 201


def test_create_post_with_a_disguised_file_is_a_400(api):
    fake = SimpleUploadedFile("report.pdf", b"MZ\x90\x00 not a pdf", content_type="application/pdf")
    response = api.post(POSTS, {"body": "See", "attachments": [fake]}, format="multipart")
    assert response.status_code == 400
    assert list(response.json()) == ["attachments"]
    assert not Post.objects.exists()
    assert not Attachment.objects.exists()


@pytest.mark.api_wrong_user("posts", "POST")
@pytest.mark.parametrize("kind", [Group.Kind.OPEN, Group.Kind.PRIVATE])
def test_posting_to_a_group_one_is_not_in_is_403(api, owner, kind):
    group = make_group(kind, owner=owner)
    response = api.post(POSTS, {"body": "Hi", "group": group.slug}, format="json")
    assert response.status_code == 403
    assert response.json() == {"detail": "Only members can post in this group. Join it first."}
    assert not Post.objects.exists()


@pytest.mark.api_wrong_user("posts", "POST")
def test_posting_to_a_secret_group_one_is_not_in_is_404_like_a_missing_one(api, owner):
    group = make_group(Group.Kind.SECRET, owner=owner)
    secret = api.post(POSTS, {"body": "Hi", "group": group.slug}, format="json")
    missing = api.post(POSTS, {"body": "Hi", "group": "no-such-group"}, format="json")
    assert secret.status_code == missing.status_code == 404
    assert secret.json() == missing.json()
    assert not Post.objects.exists()


def test_announcements_need_staff(api, client_for, user):
    response = api.post(POSTS, {"body": "Hear ye", "is_announcement": True}, format="json")
    assert response.status_code == 403
    assert not Post.objects.exists()
    user.is_staff = True
    user.save()
    response = client_for(user).post(
        POSTS, {"body": "Hear ye", "is_announcement": True}, format="json"
    )
    assert response.status_code == 201
    assert Post.objects.get().is_announcement


# --- reading, editing, deleting ----------------------------------------------------------------


@pytest.mark.api_endpoint("post-detail", "GET")
def test_get_post(api, other_user):
    post = PostFactory(author=other_user, audience=Post.Audience.AGENCY)
    response = api.get(post_url(post))
    assert response.status_code == 200
    assert response.json()["id"] == post.pk
    assert response.json()["body"] == post.body


@pytest.mark.api_wrong_user("post-detail", "GET")
def test_get_post_the_reader_may_not_see_is_404_like_a_missing_one(
    client_for, user, owner, outsider
):
    agency_only = PostFactory(author=user, audience=Post.Audience.AGENCY)
    group = make_group(Group.Kind.PRIVATE, owner=owner)
    in_private = PostFactory(author=owner, audience=Post.Audience.GROUP, group=group)
    deleted = PostFactory(author=owner, deleted="2025-01-01T00:00:00Z")
    reader = client_for(outsider)
    missing = reader.get(reverse("api:post-detail", args=[999999]))
    assert missing.status_code == 404
    for post in (agency_only, in_private, deleted):
        response = reader.get(post_url(post))
        assert response.status_code == 404
        assert response.json() == missing.json()
    assert client_for(owner).get(post_url(agency_only)).status_code == 200  # same agency


@pytest.mark.api_endpoint("post-detail", "PATCH")
def test_author_edits_post(api, user):
    post = actions.create_post(author=user, body="Frist #typo")
    response = api.patch(post_url(post), {"body": "First #fixed"}, format="json")
    assert response.status_code == 200, response.content
    post.refresh_from_db()
    assert post.body == "First #fixed"
    assert post.edited is not None
    assert list(post.hashtags.values_list("name", flat=True)) == ["fixed"]
    assert response.json()["body"] == "First #fixed"
    assert response.json()["hashtags"] == ["fixed"]
    assert response.json()["edited"] is not None


@pytest.mark.api_wrong_user("post-detail", "PATCH")
def test_only_the_author_edits(client_for, user, other_user, outsider):
    post = PostFactory(author=user, audience=Post.Audience.AGENCY, body="Mine")
    colleague = client_for(other_user).patch(post_url(post), {"body": "Hacked"}, format="json")
    assert colleague.status_code == 403
    stranger = client_for(outsider).patch(post_url(post), {"body": "Hacked"}, format="json")
    assert stranger.status_code == 404
    post.refresh_from_db()
    assert post.body == "Mine"
    assert post.edited is None


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        ({"body": ""}, {"body": ["Write something before posting."]}),
        ({"body": "x" * 5001}, {"body": ["Keep it under 5000 characters (this has 5001)."]}),
        ({"body": "ok", "audience": "agency"}, {"audience": ["Unknown field."]}),
        ({}, {"body": ["This field is required."]}),
    ],
)
def test_edit_bad_input_is_a_400(api, user, data, errors):
    post = PostFactory(author=user, body="Mine")
    response = api.patch(post_url(post), data, format="json")
    assert response.status_code == 400
    assert response.json() == errors
    post.refresh_from_db()
    assert post.body == "Mine"


@pytest.mark.api_endpoint("post-detail", "DELETE")
def test_author_deletes_post(api, user):
    post = PostFactory(author=user)
    assert api.delete(post_url(post)).status_code == 204
    post.refresh_from_db()
    assert post.deleted is not None
    assert post.deleted_by == user
    assert api.get(post_url(post)).status_code == 404


def test_group_admin_deletes_a_post_in_their_group(client_for, user, owner):
    group = make_group(Group.Kind.OPEN, owner=owner, members=[user])
    post = PostFactory(author=user, audience=Post.Audience.GROUP, group=group)
    assert client_for(owner).delete(post_url(post)).status_code == 204
    post.refresh_from_db()
    assert post.deleted_by == owner


@pytest.mark.api_wrong_user("post-detail", "DELETE")
def test_others_cannot_delete_a_post(client_for, user, other_user, outsider):
    post = PostFactory(author=user, audience=Post.Audience.AGENCY)
    assert client_for(other_user).delete(post_url(post)).status_code == 403
    assert client_for(outsider).delete(post_url(post)).status_code == 404
    post.refresh_from_db()
    assert post.deleted is None


# --- comments --------------------------------------------------------------------------------


@pytest.mark.api_endpoint("post-comments", "GET")
def test_list_comments_with_replies(api, user, other_user):
    post = PostFactory(author=user)
    first = actions.add_comment(post=post, author=other_user, body="First")
    reply = actions.add_comment(post=post, author=user, body="Reply", parent=first)
    second = actions.add_comment(post=post, author=user, body="Second")
    gone = actions.add_comment(post=post, author=user, body="Gone")
    actions.delete_comment(comment=gone, actor=user)
    response = api.get(comments_url(post))
    assert response.status_code == 200
    data = response.json()
    assert [c["id"] for c in data] == [first.pk, second.pk]
    assert [r["id"] for r in data[0]["replies"]] == [reply.pk]
    assert data[0]["replies"][0]["parent"] == first.pk
    assert data[0]["author"]["username"] == other_user.username
    assert data[1]["replies"] == []


@pytest.mark.api_wrong_user("post-comments", "GET")
def test_comments_of_a_post_one_may_not_see_are_404(client_for, user, outsider):
    post = PostFactory(author=user, audience=Post.Audience.AGENCY)
    CommentFactory(post=post, author=user)
    assert client_for(outsider).get(comments_url(post)).status_code == 404


@pytest.mark.api_endpoint("post-comments", "POST")
def test_add_comment_and_reply(api, user, other_user):
    post = PostFactory(author=other_user)
    response = api.post(comments_url(post), {"body": "Well said @" + other_user.username})
    assert response.status_code == 201, response.content
    comment = Comment.objects.get()
    assert (comment.post, comment.author, comment.parent) == (post, user, None)
    assert response.json()["id"] == comment.pk
    assert response.json()["replies"] == []
    assert post.mentions.filter(comment=comment, user=other_user).exists()

    reply = api.post(comments_url(post), {"body": "And again", "parent": comment.pk})
    assert reply.status_code == 201
    assert reply.json()["parent"] == comment.pk
    deeper = api.post(comments_url(post), {"body": "Deeper", "parent": reply.json()["id"]})
    assert deeper.json()["parent"] == comment.pk  # one level of replies: joins the thread


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        ({"body": ""}, {"body": ["Write something before posting."]}),
        ({"body": "x" * 5001}, {"body": ["Keep it under 5000 characters (this has 5001)."]}),
        ({"body": "Hi", "parent": 999999}, {"parent": ["There is no such comment."]}),
        ({"body": "Hi", "parent": "first"}, {"parent": ["A valid integer is required."]}),
        ({"body": "Hi", "post": 3}, {"post": ["Unknown field."]}),
    ],
)
def test_add_comment_bad_input_is_a_400(api, user, data, errors):
    post = PostFactory(author=user)
    response = api.post(comments_url(post), data, format="json")
    assert response.status_code == 400
    assert response.json() == errors
    assert not Comment.objects.exists()


def test_reply_to_a_comment_of_another_post_is_a_400(api, user):
    post, elsewhere = PostFactory(author=user), PostFactory(author=user)
    parent = CommentFactory(post=elsewhere, author=user)
    response = api.post(comments_url(post), {"body": "Hi", "parent": parent.pk})
    assert response.status_code == 400
    assert response.json() == {"parent": ["You can only reply to a comment on this post."]}
    assert Comment.objects.count() == 1


@pytest.mark.api_wrong_user("post-comments", "POST")
def test_commenting_on_a_post_one_may_not_see_is_404(client_for, owner, user):
    group = make_group(Group.Kind.PRIVATE, owner=owner)
    post = PostFactory(author=owner, audience=Post.Audience.GROUP, group=group)
    response = client_for(user).post(comments_url(post), {"body": "Let me in"})
    assert response.status_code == 404
    assert not Comment.objects.exists()


@pytest.mark.api_endpoint("comment-detail", "DELETE")
def test_author_deletes_comment(api, user, other_user):
    comment = CommentFactory(post=PostFactory(author=other_user), author=user)
    assert api.delete(comment_url(comment)).status_code == 204
    comment.refresh_from_db()
    assert comment.deleted is not None
    assert api.delete(comment_url(comment)).status_code == 404


@pytest.mark.api_wrong_user("comment-detail", "DELETE")
def test_others_cannot_delete_a_comment(client_for, user, other_user, outsider):
    post = PostFactory(author=user, audience=Post.Audience.AGENCY)
    comment = CommentFactory(post=post, author=user)
    assert client_for(other_user).delete(comment_url(comment)).status_code == 403
    assert client_for(outsider).delete(comment_url(comment)).status_code == 404
    comment.refresh_from_db()
    assert comment.deleted is None


def test_group_manager_deletes_a_comment_in_their_group(client_for, user, owner):
    group = make_group(Group.Kind.OPEN, owner=owner, members=[user])
    MembershipFactory(group=group, user=PostFactory().author, role=Membership.Role.MEMBER)
    post = PostFactory(author=user, audience=Post.Audience.GROUP, group=group)
    comment = CommentFactory(post=post, author=user)
    assert client_for(owner).delete(comment_url(comment)).status_code == 204
    comment.refresh_from_db()
    assert comment.deleted is not None


# --- reactions -------------------------------------------------------------------------------


@pytest.mark.api_endpoint("post-reactions", "POST")
def test_react_is_idempotent(api, user, other_user):
    post = PostFactory(author=other_user)
    first = api.post(reactions_url(post), {"kind": "celebrate"})
    assert first.status_code == 201
    assert first.json()["reactions"]["celebrate"] == 1
    assert first.json()["my_reactions"] == ["celebrate"]
    again = api.post(reactions_url(post), {"kind": "celebrate"})
    assert again.status_code == 200
    assert again.json()["reactions"]["celebrate"] == 1
    assert Reaction.objects.filter(post=post, user=user, kind="celebrate").count() == 1


@pytest.mark.api_endpoint("post-reactions", "DELETE")
def test_unreact_by_body_or_query(api, user, other_user):
    post = PostFactory(author=other_user)
    Reaction.objects.create(post=post, user=user, kind="like")
    Reaction.objects.create(post=post, user=user, kind="thanks")
    Reaction.objects.create(post=post, user=other_user, kind="like")
    response = api.delete(reactions_url(post), {"kind": "like"}, format="json")
    assert response.status_code == 200
    assert response.json()["reactions"]["like"] == 1
    assert response.json()["my_reactions"] == ["thanks"]
    response = api.delete(reactions_url(post) + "?kind=thanks")
    assert response.status_code == 200
    assert response.json()["my_reactions"] == []
    assert list(Reaction.objects.values_list("user", "kind")) == [(other_user.pk, "like")]


@pytest.mark.parametrize("method", ["post", "delete"])
@pytest.mark.parametrize(
    ("data", "errors"),
    [
        ({"kind": "love"}, {"kind": ['"love" is not a valid choice.']}),
        ({}, {"kind": ["This field is required."]}),
        ({"kind": "like", "count": 5}, {"count": ["Unknown field."]}),
    ],
)
def test_reaction_bad_input_is_a_400(api, user, method, data, errors):
    post = PostFactory(author=user)
    response = getattr(api, method)(reactions_url(post), data, format="json")
    assert response.status_code == 400
    assert response.json() == errors
    assert not Reaction.objects.exists()


@pytest.mark.api_wrong_user("post-reactions", "POST", "DELETE")
def test_reacting_to_a_post_one_may_not_see_is_404(client_for, user, outsider):
    post = PostFactory(author=user, audience=Post.Audience.AGENCY)
    Reaction.objects.create(post=post, user=outsider, kind="like")  # from before a move
    stranger = client_for(outsider)
    assert stranger.post(reactions_url(post), {"kind": "thanks"}).status_code == 404
    assert stranger.delete(reactions_url(post), {"kind": "like"}, format="json").status_code == 404
    assert list(Reaction.objects.values_list("user", "kind")) == [(outsider.pk, "like")]


def test_comments_query_count_does_not_grow_with_the_thread(api, user):
    post = PostFactory(author=user)

    def count_queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert api.get(comments_url(post)).status_code == 200
        return len(captured.captured_queries)

    first = actions.add_comment(post=post, author=UserFactory(), body="First")
    small = count_queries()
    for n in range(5):
        actions.add_comment(post=post, author=UserFactory(), body=f"Reply {n}", parent=first)
        actions.add_comment(post=post, author=UserFactory(), body=f"Comment {n}")
    assert count_queries() == small
