"""The feeds web pages, through HTTP: what each person sees and may do.

The permission rules themselves are tested in tests/permissions; here we check that every
page asks them (404 for what a person may not see, 403 for what they may see but not do),
that forms keep what was typed when something is wrong, and that the home page costs a
fixed number of queries however many posts it shows.
"""

from __future__ import annotations

import io
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from PIL import Image

from feeds import actions
from feeds.cursors import encode_cursor
from feeds.models import Attachment, Comment, Post, Reaction
from groups.models import Group, Invitation, Membership
from profiles.models import Follow
from tests.factories import (
    CommentFactory,
    GroupFactory,
    MembershipFactory,
    PostFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

HOME = reverse("feeds:home")
CREATE = reverse("feeds:post_create")

PDF_BYTES = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
ELF_BYTES = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00" + b"\x00" * 200
PE_BYTES = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200


def upload(name: str, data: bytes, content_type: str = "application/octet-stream"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type=content_type)


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 3), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def text_of(response) -> str:
    return response.content.decode()


def textarea_value(html: str, name: str = "body") -> str:
    match = re.search(rf'<textarea[^>]*name="{name}"[^>]*>(.*?)</textarea>', html, re.S)
    assert match, f"no textarea named {name}"
    return match.group(1)


# --- who may come in -------------------------------------------------------------------------


@pytest.fixture
def post(user):
    return PostFactory(author=user, body="Hello everyone")


def all_urls(post, comment, attachment_id):
    return [
        ("get", HOME),
        ("post", CREATE),
        ("get", reverse("feeds:post", args=[post.pk])),
        ("get", reverse("feeds:post_edit", args=[post.pk])),
        ("get", reverse("feeds:post_delete", args=[post.pk])),
        ("post", reverse("feeds:comment_create", args=[post.pk])),
        ("post", reverse("feeds:comment_delete", args=[comment.pk])),
        ("post", reverse("feeds:react", args=[post.pk])),
        ("get", reverse("feeds:attachment", args=[attachment_id])),
        ("get", reverse("feeds:hashtag", args=["budget"])),
    ]


def test_anonymous_visitors_are_sent_to_sign_in_on_every_page(client, post):
    """No feeds URL answers anything but a redirect to the sign-in page to a stranger."""
    comment = CommentFactory(post=post)
    for method, url in all_urls(post, comment, 1):
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login")), url
    assert Comment.objects.filter(deleted__isnull=True).count() == 1
    assert Post.objects.filter(deleted__isnull=True).count() == 1


def test_a_deactivated_account_cannot_use_the_pages(client, user, post):
    client.force_login(user)
    user.is_active = False
    user.save(update_fields=["is_active"])
    response = client.get(HOME)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    response = client.post(CREATE, {"body": "still here?", "audience": "everyone"})
    assert response.status_code == 302
    assert not Post.objects.filter(body="still here?").exists()


def test_login_page_renders_with_next(client):
    response = client.get(reverse("login") + "?next=/posts/1/")
    assert response.status_code == 200
    html = text_of(response)
    assert 'name="username"' in html and 'name="password"' in html
    assert 'name="next" value="/posts/1/"' in html


def test_login_page_shows_wrong_password_error(client, user):
    response = client.post(reverse("login"), {"username": user.username, "password": "nope"})
    assert response.status_code == 200
    assert 'role="alert"' in text_of(response)
    assert "_auth_user_id" not in client.session


def test_404_page_is_safe_for_anonymous_visitors(client):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert "Page not found" in text_of(response)


# --- home --------------------------------------------------------------------------------------


def test_home_shows_own_followed_and_group_posts_but_not_others(web, user, other_user):
    followed = UserFactory()
    Follow.objects.create(follower=user, followee=followed)
    group = GroupFactory(kind=Group.Kind.PRIVATE)
    MembershipFactory(group=group, user=user)
    stranger = UserFactory()
    PostFactory(author=user, body="my own words")
    PostFactory(author=followed, body="from someone I follow")
    PostFactory(author=stranger, body="group news", audience="group", group=group)
    PostFactory(author=stranger, body="a stranger speaks")
    PostFactory(author=other_user, body="colleague I do not follow")
    other_group = GroupFactory(kind=Group.Kind.PRIVATE)
    PostFactory(author=followed, body="private elsewhere", audience="group", group=other_group)

    response = web.get(HOME)

    assert response.status_code == 200
    html = text_of(response)
    assert "my own words" in html
    assert "from someone I follow" in html
    assert "group news" in html
    assert "a stranger speaks" not in html
    assert "colleague I do not follow" not in html
    assert "private elsewhere" not in html
    assert group.name in html  # the group badge


def test_home_empty_state_points_to_people_and_groups(web):
    html = text_of(web.get(HOME))
    assert "Follow colleagues or join groups" in html
    assert reverse("profiles:directory") in html
    assert reverse("groups:list") in html


def test_home_aside_lists_trending_hashtags_and_pending_invitations(web, user):
    actions.create_post(author=UserFactory(), body="Talking about #budget today")
    Follow.objects.create(follower=user, followee=Post.objects.get().author)
    group = GroupFactory(kind=Group.Kind.SECRET)
    Invitation.objects.create(group=group, invitee=user)
    html = text_of(web.get(HOME))
    assert reverse("feeds:hashtag", args=["budget"]) in html
    assert "1 pending group invitation" in html


def test_composer_offers_only_my_groups(web, user):
    mine = GroupFactory(name="Budget working group")
    MembershipFactory(group=mine, user=user)
    GroupFactory(name="Someone else's group")
    html = text_of(web.get(HOME))
    assert f'value="group:{mine.pk}"' in html
    assert "Budget working group" in html
    assert "Someone else&#x27;s group" not in html
    assert 'value="agency"' in html


def test_malformed_cursor_is_a_400_page_not_a_500(web):
    for query in ("?before=%%%", "?before=bm90LWEtY3Vyc29y", "?since=" + "x" * 80):
        response = web.get(HOME + query)
        assert response.status_code == 400, query
        assert "This page link is not valid" in text_of(response)


def test_pagination_link_leads_to_older_posts(web, user, settings):
    settings.AGORA_PAGE_SIZE = 3
    posts = [PostFactory(author=user, body=f"entry {i:02d}") for i in range(5)]

    first = text_of(web.get(HOME))
    assert all(f"entry {i:02d}" in first for i in (4, 3, 2))
    assert "entry 01" not in first and "entry 00" not in first
    match = re.search(r'href="([^"]*\?before=[^"]+)"', first)
    assert match, "no Older posts link"
    assert match.group(1) == f"{HOME}?before={encode_cursor(posts[2].pk)}"

    second = text_of(web.get(match.group(1)))
    assert "entry 01" in second and "entry 00" in second
    assert "entry 02" not in second and "entry 04" not in second
    assert 'rel="next"' not in second  # the last page has no further link
    assert "Back to the newest posts" in second


def test_since_shows_only_newer_posts(web, user):
    old = PostFactory(author=user, body="the old one")
    PostFactory(author=user, body="the new one")
    html = text_of(web.get(f"{HOME}?since={encode_cursor(old.pk)}"))
    assert "the new one" in html
    assert "the old one" not in html


def _world_for_home(user, n: int) -> None:
    """n posts of every kind that the home page shows: attachments, groups, reactions."""
    followed = UserFactory()
    Follow.objects.create(follower=user, followee=followed)
    group = GroupFactory(kind=Group.Kind.PRIVATE)
    MembershipFactory(group=group, user=user)
    for i in range(n):
        if i % 3 == 0:
            p = PostFactory(author=followed, body=f"#topic{i} post {i}")
        elif i % 3 == 1:
            p = PostFactory(author=UserFactory(), body=f"post {i}", audience="group", group=group)
        else:
            p = PostFactory(author=user, body=f"post {i}", audience="agency")
        Attachment.objects.create(
            post=p, file="attachments/x.pdf", kind="document", content_type="application/pdf",
            size=10, original_name=f"file{i}.pdf",
        )  # fmt: skip
        Reaction.objects.create(post=p, user=followed, kind="like")
        CommentFactory(post=p, author=followed)


HOME_QUERY_BUDGET = 15  # session, user, profile (language), 10 for the page, notification bell,
# community guidelines link


def test_home_page_has_a_fixed_query_budget(client, django_assert_max_num_queries):
    """The home page costs the same number of queries for 5 posts as for 20."""
    counts = {}
    for n in (5, 20):
        viewer = UserFactory()
        _world_for_home(viewer, n)
        client.force_login(viewer)
        with django_assert_max_num_queries(HOME_QUERY_BUDGET):
            with CaptureQueriesContext(connection) as ctx:
                response = client.get(HOME)
        assert response.status_code == 200
        assert text_of(response).count('class="feed__item"') == n
        counts[n] = len(ctx.captured_queries)
    assert counts[5] == counts[20]


# --- composing ------------------------------------------------------------------------------------


def test_publishing_a_post_redirects_home_with_a_message(web, user):
    response = web.post(CREATE, {"body": "Our new intranet is live", "audience": "everyone"})
    assert response.status_code == 302
    assert response["Location"] == HOME
    post = Post.objects.get()
    assert post.author == user and post.audience == "everyone"
    page = text_of(web.get(HOME))
    assert "Your post is published." in page
    assert "Our new intranet is live" in page


def test_publishing_to_my_group(web, user):
    group = GroupFactory(kind=Group.Kind.PRIVATE)
    MembershipFactory(group=group, user=user)
    response = web.post(CREATE, {"body": "for the group", "audience": f"group:{group.pk}"})
    assert response.status_code == 302
    post = Post.objects.get()
    assert post.group == group and post.audience == "group"


def test_empty_body_is_an_error_next_to_the_field(web):
    response = web.post(CREATE, {"body": "   ", "audience": "everyone"})
    assert response.status_code == 400
    html = text_of(response)
    assert "Write something before posting." in html
    assert 'aria-invalid="true"' in html
    assert not Post.objects.exists()


def test_too_long_body_keeps_what_was_typed(web):
    body = "A" * 5001
    response = web.post(CREATE, {"body": body, "audience": "everyone"})
    assert response.status_code == 400
    html = text_of(response)
    assert "Keep it under 5000 characters" in html
    assert body in textarea_value(html)
    assert not Post.objects.exists()


def test_crlf_line_breaks_count_as_one_character(web):
    body = ("x" * 9 + "\r\n") * 500  # 5,000 characters once line breaks are one each
    response = web.post(CREATE, {"body": body.strip() + "y", "audience": "everyone"})
    assert response.status_code == 302
    assert "\r" not in Post.objects.get().body


def test_unknown_audience_is_a_form_error_and_keeps_the_text(web):
    response = web.post(CREATE, {"body": "keep me <please>", "audience": "martians"})
    assert response.status_code == 400
    html = text_of(response)
    assert "keep me &lt;please&gt;" in textarea_value(html)
    assert 'id="composer_audience"' in html
    assert re.search(r'id="composer_audience_errors"', html)
    assert not Post.objects.exists()


def test_posting_in_a_group_i_am_not_in_is_forbidden(web):
    group = GroupFactory(kind=Group.Kind.PRIVATE)
    response = web.post(CREATE, {"body": "let me in", "audience": f"group:{group.pk}"})
    assert response.status_code == 403
    assert not Post.objects.exists()


def test_posting_in_a_secret_group_as_an_outsider_is_not_found(web):
    group = GroupFactory(kind=Group.Kind.SECRET)
    response = web.post(CREATE, {"body": "hello?", "audience": f"group:{group.pk}"})
    assert response.status_code == 404
    missing = web.post(CREATE, {"body": "hello?", "audience": "group:999999"})
    assert missing.status_code == 404
    assert not Post.objects.exists()


@pytest.mark.parametrize(
    ("name", "data"),
    [("report.pdf", ELF_BYTES), ("report.pdf", PE_BYTES), ("photo.png", PDF_BYTES)],
)
def test_a_disguised_upload_is_rejected_and_nothing_is_saved(web, name, data, settings):
    response = web.post(
        CREATE,
        {"body": "see attached", "audience": "everyone", "attachments": [upload(name, data)]},
    )
    assert response.status_code == 400
    html = text_of(response)
    assert f"The content of {name} does not match its file name." in html
    assert "choose them again" in html
    assert "see attached" in textarea_value(html)
    assert not Post.objects.exists()
    assert not Attachment.objects.exists()
    media = settings.MEDIA_ROOT
    assert not media.exists() or not any(p.is_file() for p in media.rglob("*"))


def test_one_bad_file_among_good_ones_saves_nothing(web):
    files = [upload("minutes.pdf", PDF_BYTES), upload("report.pdf", ELF_BYTES)]
    response = web.post(CREATE, {"body": "two files", "audience": "everyone", "attachments": files})
    assert response.status_code == 400
    assert not Post.objects.exists() and not Attachment.objects.exists()


def test_attachments_are_saved_with_the_post(web, user):
    files = [upload("minutes.pdf", PDF_BYTES), upload("chart.png", png_bytes())]
    response = web.post(CREATE, {"body": "two files", "audience": "everyone", "attachments": files})
    assert response.status_code == 302
    kinds = sorted(Post.objects.get().attachments.values_list("kind", "original_name"))
    assert kinds == [("document", "minutes.pdf"), ("image", "chart.png")]


# --- one post --------------------------------------------------------------------------------


def test_post_page_shows_the_post_and_its_details(web, user):
    group = GroupFactory(name="Open data club")
    MembershipFactory(group=group, user=user)
    post = actions.create_post(
        author=user,
        body="**Bold** plan for #opendata",
        audience="group",
        group=group,
        attachments=[upload("plan.pdf", PDF_BYTES)],
    )
    html = text_of(web.get(reverse("feeds:post", args=[post.pk])))
    assert "<strong>Bold</strong>" in html
    assert "Open data club" in html and group.get_absolute_url() in html
    assert user.profile.display_name in html
    attachment = post.attachments.get()
    assert attachment.get_absolute_url() in html and "plan.pdf" in html
    assert reverse("feeds:post_edit", args=[post.pk]) in html
    assert reverse("feeds:post_delete", args=[post.pk]) in html
    assert '<time datetime="' in html


def test_post_page_hides_edit_and_delete_from_others(client, post, other_user):
    client.force_login(other_user)
    html = text_of(client.get(reverse("feeds:post", args=[post.pk])))
    assert "Hello everyone" in html
    assert reverse("feeds:post_edit", args=[post.pk]) not in html
    assert reverse("feeds:post_delete", args=[post.pk]) not in html


def test_private_group_post_is_not_found_for_an_outsider(client, user):
    group = GroupFactory(kind=Group.Kind.PRIVATE)
    MembershipFactory(group=group, user=user)
    post = PostFactory(author=user, audience="group", group=group, body="members only")
    client.force_login(UserFactory())
    response = client.get(reverse("feeds:post", args=[post.pk]))
    assert response.status_code == 404
    assert "members only" not in text_of(response)
    client.force_login(user)
    assert client.get(reverse("feeds:post", args=[post.pk])).status_code == 200


def test_agency_post_is_not_found_for_another_agency(client, user, other_user, outsider):
    post = PostFactory(author=user, audience="agency", body="agency only")
    client.force_login(outsider)
    assert client.get(reverse("feeds:post", args=[post.pk])).status_code == 404
    client.force_login(other_user)  # same agency
    assert "agency only" in text_of(client.get(reverse("feeds:post", args=[post.pk])))


def test_missing_and_deleted_posts_are_not_found(web, user):
    assert web.get(reverse("feeds:post", args=[987654])).status_code == 404
    post = PostFactory(author=user)
    actions.delete_post(post=post, actor=user)
    assert web.get(reverse("feeds:post", args=[post.pk])).status_code == 404


# --- attachments -------------------------------------------------------------------------------


@pytest.fixture
def private_post_with_files(user):
    group = GroupFactory(kind=Group.Kind.PRIVATE)
    MembershipFactory(group=group, user=user)
    return actions.create_post(
        author=user,
        body="files",
        audience="group",
        group=group,
        attachments=[upload("budget.pdf", PDF_BYTES), upload("chart.png", png_bytes())],
    )


def test_attachment_download_for_a_member(web, private_post_with_files):
    document = private_post_with_files.attachments.get(kind="document")
    response = web.get(document.get_absolute_url())
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("attachment")
    assert 'filename="budget.pdf"' in response["Content-Disposition"]
    assert b"".join(response.streaming_content) == PDF_BYTES

    image = private_post_with_files.attachments.get(kind="image")
    response = web.get(image.get_absolute_url())
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"].startswith("inline")


def test_attachment_is_not_found_for_an_outsider(client, private_post_with_files):
    client.force_login(UserFactory())
    for item in private_post_with_files.attachments.all():
        assert client.get(item.get_absolute_url()).status_code == 404
    assert client.get(reverse("feeds:attachment", args=[999999])).status_code == 404


# --- reactions ---------------------------------------------------------------------------------


def test_reactions_toggle_on_and_off(web, user, post):
    url = reverse("feeds:react", args=[post.pk])
    response = web.post(url, {"kind": "celebrate", "action": "add", "next": HOME})
    assert response.status_code == 302
    assert response["Location"] == f"{HOME}#post-{post.pk}"
    assert Reaction.objects.filter(post=post, user=user, kind="celebrate").exists()
    html = text_of(web.get(reverse("feeds:post", args=[post.pk])))
    assert re.search(
        r'name="kind" value="celebrate">\s*<input type="hidden" name="action" value="remove">', html
    )
    assert 'aria-pressed="true"' in html

    web.post(url, {"kind": "celebrate", "action": "remove"})
    assert not Reaction.objects.filter(post=post, user=user).exists()
    assert 'aria-pressed="true"' not in text_of(web.get(reverse("feeds:post", args=[post.pk])))


def test_reaction_fragment_for_the_script(web, post):
    response = web.post(
        reverse("feeds:react", args=[post.pk]),
        {"kind": "like", "action": "add"},
        headers={"X-Agora-Partial": "reactions"},
    )
    assert response.status_code == 200
    html = text_of(response)
    assert html.lstrip().startswith('<div class="reactions"') or "data-reactions" in html
    assert "<html" not in html
    assert 'aria-pressed="true"' in html


def test_reaction_rejects_unknown_kinds_and_hidden_posts(web, user):
    post = PostFactory(author=user)
    bad = web.post(reverse("feeds:react", args=[post.pk]), {"kind": "angry", "action": "add"})
    assert bad.status_code == 400
    hidden = PostFactory(audience="group", group=GroupFactory(kind=Group.Kind.SECRET))
    response = web.post(reverse("feeds:react", args=[hidden.pk]), {"kind": "like", "action": "add"})
    assert response.status_code == 404
    assert not Reaction.objects.exists()


def test_react_ignores_an_offsite_next(web, post):
    response = web.post(
        reverse("feeds:react", args=[post.pk]),
        {"kind": "like", "action": "add", "next": "https://evil.example/"},
    )
    assert response["Location"].startswith(reverse("feeds:post", args=[post.pk]))


# --- comments -----------------------------------------------------------------------------------


def test_comment_and_reply(web, user, post):
    url = reverse("feeds:comment_create", args=[post.pk])
    response = web.post(url, {"body": "Great news"})
    assert response.status_code == 302
    comment = Comment.objects.get()
    assert response["Location"].endswith(f"#comment-{comment.pk}")

    response = web.post(url, {"body": "Agreed", "parent": comment.pk})
    assert response.status_code == 302
    reply = Comment.objects.get(body="Agreed")
    assert reply.parent == comment

    html = text_of(web.get(reverse("feeds:post", args=[post.pk])))
    assert "Great news" in html and "Agreed" in html
    assert f'id="comment-{reply.pk}"' in html
    assert html.index("Great news") < html.index("Agreed")
    assert f'value="{comment.pk}"' in html  # the reply form names its parent


def test_empty_comment_is_an_error_and_keeps_the_page(web, post):
    response = web.post(reverse("feeds:comment_create", args=[post.pk]), {"body": "  "})
    assert response.status_code == 400
    assert "Write something before posting." in text_of(response)
    assert not Comment.objects.exists()


def test_reply_error_shows_next_to_its_reply_form(web, post):
    comment = CommentFactory(post=post)
    response = web.post(
        reverse("feeds:comment_create", args=[post.pk]), {"body": "", "parent": comment.pk}
    )
    assert response.status_code == 400
    html = text_of(response)
    assert f'id="reply{comment.pk}_body_errors"' in html
    assert '<details class="reply" open>' in html
    assert Comment.objects.count() == 1


def test_reply_to_a_comment_on_another_post_is_refused(web, post):
    elsewhere = CommentFactory()
    response = web.post(
        reverse("feeds:comment_create", args=[post.pk]), {"body": "hi", "parent": elsewhere.pk}
    )
    assert response.status_code == 400
    assert "You can only reply to a comment on this post." in text_of(response)
    assert Comment.objects.count() == 1


def test_commenting_on_a_hidden_post_is_not_found(web):
    hidden = PostFactory(audience="group", group=GroupFactory(kind=Group.Kind.PRIVATE))
    response = web.post(reverse("feeds:comment_create", args=[hidden.pk]), {"body": "hi"})
    assert response.status_code == 404
    assert not Comment.objects.exists()


def test_comment_delete_by_author_and_not_by_others(client, user, other_user, post):
    mine = CommentFactory(post=post, author=other_user, body="mine to delete")
    client.force_login(user)  # the post's author, but not a moderator
    html = text_of(client.get(reverse("feeds:post", args=[post.pk])))
    assert reverse("feeds:comment_delete", args=[mine.pk]) not in html
    assert client.post(reverse("feeds:comment_delete", args=[mine.pk])).status_code == 403
    mine.refresh_from_db()
    assert mine.deleted is None

    client.force_login(other_user)
    html = text_of(client.get(reverse("feeds:post", args=[post.pk])))
    assert reverse("feeds:comment_delete", args=[mine.pk]) in html
    response = client.post(reverse("feeds:comment_delete", args=[mine.pk]))
    assert response.status_code == 302
    mine.refresh_from_db()
    assert mine.deleted is not None
    assert "mine to delete" not in text_of(client.get(reverse("feeds:post", args=[post.pk])))


def test_group_admin_may_delete_comments_in_their_group(client, user):
    group = GroupFactory()
    MembershipFactory(group=group, user=user, role=Membership.Role.ADMIN)
    post = PostFactory(audience="group", group=group)
    comment = CommentFactory(post=post)
    client.force_login(user)
    assert reverse("feeds:comment_delete", args=[comment.pk]) in text_of(
        client.get(reverse("feeds:post", args=[post.pk]))
    )
    assert client.post(reverse("feeds:comment_delete", args=[comment.pk])).status_code == 302
    comment.refresh_from_db()
    assert comment.deleted is not None


def test_comment_delete_on_a_hidden_post_is_not_found(web):
    hidden = CommentFactory(post=PostFactory(audience="group", group=GroupFactory(kind="secret")))
    assert web.post(reverse("feeds:comment_delete", args=[hidden.pk])).status_code == 404
    hidden.refresh_from_db()
    assert hidden.deleted is None


# --- edit and delete ------------------------------------------------------------------------------


def test_author_edits_a_post(web, post):
    url = reverse("feeds:post_edit", args=[post.pk])
    assert "Hello everyone" in textarea_value(text_of(web.get(url)))
    response = web.post(url, {"body": "Hello again, #team"})
    assert response.status_code == 302
    post.refresh_from_db()
    assert post.body == "Hello again, #team" and post.edited is not None
    assert "edited" in text_of(web.get(reverse("feeds:post", args=[post.pk])))


def test_edit_errors_keep_the_text(web, post):
    body = "B" * 5001
    response = web.post(reverse("feeds:post_edit", args=[post.pk]), {"body": body})
    assert response.status_code == 400
    assert body in textarea_value(text_of(response))
    post.refresh_from_db()
    assert post.body == "Hello everyone"


def test_others_cannot_edit(client, post, other_user, outsider):
    url = reverse("feeds:post_edit", args=[post.pk])
    client.force_login(other_user)
    assert client.get(url).status_code == 403
    assert client.post(url, {"body": "hijacked"}).status_code == 403
    post.refresh_from_db()
    assert post.body == "Hello everyone"


def test_author_deletes_a_post_after_confirming(web, post):
    url = reverse("feeds:post_delete", args=[post.pk])
    confirm = web.get(url)
    assert confirm.status_code == 200
    assert "Delete this post?" in text_of(confirm)
    post.refresh_from_db()
    assert post.deleted is None  # GET only asks

    response = web.post(url)
    assert response.status_code == 302
    post.refresh_from_db()
    assert post.deleted is not None
    assert "Hello everyone" not in text_of(web.get(HOME))


def test_others_cannot_delete(client, user, other_user):
    visible = PostFactory(author=user, audience="everyone")
    hidden = PostFactory(audience="group", group=GroupFactory(kind=Group.Kind.PRIVATE))
    client.force_login(other_user)
    assert client.get(reverse("feeds:post_delete", args=[visible.pk])).status_code == 403
    assert client.post(reverse("feeds:post_delete", args=[visible.pk])).status_code == 403
    assert client.post(reverse("feeds:post_delete", args=[hidden.pk])).status_code == 404
    assert client.get(reverse("feeds:post_delete", args=[hidden.pk])).status_code == 404
    assert not Post.objects.filter(deleted__isnull=False).exists()


def test_site_staff_may_delete_any_visible_post(client, post):
    moderator = UserFactory(is_staff=True)
    client.force_login(moderator)
    assert client.post(reverse("feeds:post_delete", args=[post.pk])).status_code == 302
    post.refresh_from_db()
    assert post.deleted_by == moderator


# --- hashtags -------------------------------------------------------------------------------------


def test_hashtag_page_lists_visible_posts_with_the_tag(web, user, outsider):
    actions.create_post(author=user, body="Planning the #Budget")
    actions.create_post(author=user, body="Nothing tagged here")
    actions.create_post(author=outsider, body="Secret #budget talk", audience="agency")
    html = text_of(web.get(reverse("feeds:hashtag", args=["budget"])))
    assert "<h1>#budget</h1>" in html
    assert "Planning the" in html
    assert "Nothing tagged here" not in html
    assert "Secret" not in html


def test_hashtag_page_empty_state_and_bad_cursor(web):
    url = reverse("feeds:hashtag", args=["nothing"])
    assert "No posts you can see use #nothing yet." in text_of(web.get(url))
    assert web.get(url + "?before=zzz").status_code == 400


@pytest.mark.django_db
def test_group_link_preselects_the_group_in_the_composer(web, user):
    """/?group=<slug> (the group page's "Write a post in this group") preselects that group,
    but only among the groups the viewer may post in."""
    from tests.factories import GroupFactory, MembershipFactory

    mine = GroupFactory(kind="private")
    MembershipFactory(group=mine, user=user)
    not_mine = GroupFactory(kind="secret")
    page = web.get(f"/?group={mine.slug}").content.decode()
    assert f'value="group:{mine.pk}" selected' in page
    page = web.get(f"/?group={not_mine.slug}").content.decode()
    assert f"group:{not_mine.pk}" not in page
    assert not_mine.name not in page
