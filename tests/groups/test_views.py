"""The group pages over HTTP: list, create, one group, members, and membership changes.

The secret-group rule is checked on every URL: an outsider gets exactly what a group that
does not exist gives (404), never a 403 that would confirm it exists.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from feeds.cursors import encode_cursor
from feeds.models import Post
from groups.models import Group, Invitation, JoinRequest, Membership
from tests.factories import GroupFactory, MembershipFactory, PostFactory, UserFactory

pytestmark = pytest.mark.django_db

LIST = reverse("groups:list")


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """Factories set a password for every user; a cheap hasher keeps large worlds quick."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def group_with(kind: str, *, owner=None, **fields) -> Group:
    group = GroupFactory(kind=kind, **fields)
    MembershipFactory(group=group, user=owner or UserFactory(), role=Membership.Role.OWNER)
    return group


def names_listed(response) -> set[str]:
    return {group.name for group in response.context["page"].object_list}


def url(name: str, group: Group, *args) -> str:
    return reverse(f"groups:{name}", args=[group.slug, *args])


def is_member(user, group) -> bool:
    return Membership.objects.filter(user=user, group=group).exists()


# --- sign-in ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        reverse("groups:list"),
        reverse("groups:create"),
        reverse("groups:detail", args=["g"]),
        reverse("groups:members", args=["g"]),
        reverse("groups:edit", args=["g"]),
        reverse("groups:request", args=["g"]),
    ],
)
def test_group_pages_need_sign_in(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_join_needs_sign_in(client):
    group = group_with(Group.Kind.OPEN)
    assert client.post(url("join", group)).status_code == 302
    assert group.memberships.count() == 1


# --- list ---------------------------------------------------------------------------------


def test_list_hides_secret_groups_from_outsiders(web, user):
    group_with(Group.Kind.OPEN, name="Open Circle")
    group_with(Group.Kind.PRIVATE, name="Private Club")
    hidden = group_with(Group.Kind.SECRET, name="Hidden Cell")
    response = web.get(LIST)
    assert names_listed(response) == {"Open Circle", "Private Club"}
    assert "Hidden Cell" not in response.content.decode()
    assert "Hidden Cell" not in web.get(LIST, {"q": "hidden"}).content.decode()
    assert "Hidden Cell" not in web.get(LIST, {"kind": "secret"}).content.decode()
    assert hidden.slug not in response.content.decode()


def test_list_shows_secret_groups_to_members_and_invitees(web, user):
    mine = group_with(Group.Kind.SECRET, name="My Secret")
    MembershipFactory(group=mine, user=user)
    invited = group_with(Group.Kind.SECRET, name="Invited Secret")
    Invitation.objects.create(group=invited, invitee=user)
    response = web.get(LIST)
    assert {"My Secret", "Invited Secret"} <= names_listed(response)


def test_list_shows_kind_badge_member_count_and_membership(web, user):
    group = group_with(Group.Kind.PRIVATE, name="Counted")
    MembershipFactory(group=group, user=user)
    html = web.get(LIST).content.decode()
    assert "2 members" in html
    assert "kind-badge--private" in html
    assert "You are a member" in html
    assert reverse("groups:create") in html


def test_list_filters(web, user):
    mine = group_with(Group.Kind.OPEN, name="Alpha Team", description="about rivers")
    MembershipFactory(group=mine, user=user)
    group_with(Group.Kind.PRIVATE, name="Beta Team")
    group_with(Group.Kind.OPEN, name="Gamma")
    assert names_listed(web.get(LIST, {"q": "team"})) == {"Alpha Team", "Beta Team"}
    assert names_listed(web.get(LIST, {"q": "rivers"})) == {"Alpha Team"}
    assert names_listed(web.get(LIST, {"kind": "private"})) == {"Beta Team"}
    assert names_listed(web.get(LIST, {"mine": "on"})) == {"Alpha Team"}
    response = web.get(LIST, {"kind": "bogus"})
    assert response.status_code == 200
    assert "kind" in response.context["form"].errors
    assert len(names_listed(response)) == 3


def test_list_is_paginated(web):
    for n in range(30):
        GroupFactory(name=f"Group {n:02d}")
    first = web.get(LIST)
    assert len(first.context["page"].object_list) == 24
    assert 'aria-current="page"' in first.content.decode()
    assert len(web.get(LIST, {"page": 2}).context["page"].object_list) == 6


def test_empty_list_offers_to_create(web):
    html = web.get(LIST, {"q": "zzz"}).content.decode()
    assert "No group matches" in html


# --- create / edit ------------------------------------------------------------------------


def test_create_group_makes_the_creator_owner(web, user):
    response = web.get(reverse("groups:create"))
    html = response.content.decode()
    assert 'type="radio"' in html and "Secret: unlisted; members only; by invitation" in html
    response = web.post(
        reverse("groups:create"), {"name": "Data Guild", "description": "Hi", "kind": "private"}
    )
    group = Group.objects.get(name="Data Guild")
    assert response.status_code == 302
    assert response["Location"] == group.get_absolute_url()
    assert group.kind == Group.Kind.PRIVATE
    assert Membership.objects.get(group=group, user=user).role == Membership.Role.OWNER


def test_create_group_errors_keep_input(web):
    response = web.post(
        reverse("groups:create"), {"name": "  ", "description": "kept text", "kind": "weird"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "kept text" in html
    assert response.context["form"].errors.keys() == {"name", "kind"}
    assert not Group.objects.exists()


def test_edit_group_by_manager_only(web, user, other_user):
    group = group_with(Group.Kind.OPEN, owner=other_user, name="Before")
    MembershipFactory(group=group, user=user)  # a plain member
    assert web.get(url("edit", group)).status_code == 403
    data = {"name": "After", "description": "", "kind": "open"}
    assert web.post(url("edit", group), data).status_code == 403
    Membership.objects.filter(group=group, user=user).update(role=Membership.Role.ADMIN)
    assert web.get(url("edit", group)).status_code == 200
    response = web.post(url("edit", group), data)
    assert response.status_code == 302
    group.refresh_from_db()
    assert group.name == "After"


# --- detail -------------------------------------------------------------------------------


def test_open_group_page_for_a_non_member(web):
    group = group_with(Group.Kind.OPEN, name="Open House", description="Everyone welcome")
    PostFactory(author=group.memberships.get().user, audience="group", group=group, body="hello")
    response = web.get(url("detail", group))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Open House" in html and "Everyone welcome" in html
    assert "hello" in html
    assert url("join", group) in html
    assert url("leave", group) not in html


def test_member_sees_leave_and_composer_shortcut(web, user):
    group = group_with(Group.Kind.PRIVATE)
    MembershipFactory(group=group, user=user)
    html = web.get(url("detail", group)).content.decode()
    assert url("leave", group) in html
    assert f"/?group={group.slug}" in html
    assert "You are a member" in html
    assert url("request", group) not in html


def test_private_group_hides_posts_and_members_from_non_members(web, user):
    group = group_with(Group.Kind.PRIVATE, description="Visible description")
    owner = group.memberships.get().user
    PostFactory(author=owner, audience=Post.Audience.GROUP, group=group, body="inner talk")
    response = web.get(url("detail", group))
    html = response.content.decode()
    assert "Visible description" in html
    assert "inner talk" not in html
    assert "only members can read its posts" in html
    assert url("request", group) in html  # ask to join
    members = web.get(url("members", group))
    assert members.status_code == 200
    assert owner.profile.display_name not in members.content.decode()
    assert "Only members can see who is in this group." in members.content.decode()


def test_group_feed_bad_cursor_is_400_and_good_cursor_pages(web, settings):
    settings.AGORA_PAGE_SIZE = 1
    group = group_with(Group.Kind.OPEN)
    author = group.memberships.get().user
    first = PostFactory(author=author, audience="group", group=group, body="first post")
    PostFactory(author=author, audience="group", group=group, body="second post")
    html = web.get(url("detail", group)).content.decode()
    assert "second post" in html and "first post" not in html
    html = web.get(url("detail", group), {"before": encode_cursor(first.pk + 1)}).content.decode()
    assert "first post" in html
    assert web.get(url("detail", group), {"before": "%%%"}).status_code == 400


def test_unknown_group_is_404(web):
    assert web.get(reverse("groups:detail", args=["nope"])).status_code == 404


# --- secret groups never reveal themselves ------------------------------------------------


@pytest.mark.parametrize(
    ("method", "name", "data"),
    [
        ("get", "detail", {}),
        ("get", "members", {}),
        ("get", "edit", {}),
        ("get", "request", {}),
        ("post", "join", {}),
        ("post", "leave", {}),
        ("post", "request", {"message": "let me in"}),
        ("post", "invite", {"username": "someone"}),
        ("post", "edit", {"name": "x", "kind": "open"}),
    ],
)
def test_secret_group_is_404_for_outsiders_on_every_url(web, user, method, name, data):
    secret = group_with(Group.Kind.SECRET)
    response = getattr(web, method)(url(name, secret), data)
    assert response.status_code == 404
    missing = getattr(web, method)(reverse(f"groups:{name}", args=["does-not-exist"]), data)
    assert missing.status_code == 404
    assert not is_member(user, secret)
    assert not JoinRequest.objects.filter(group=secret).exists()


def test_secret_group_member_manage_and_decide_are_404_for_outsiders(web, user):
    secret = group_with(Group.Kind.SECRET)
    owner = secret.memberships.get().user
    pending = JoinRequest.objects.create(group=secret, user=UserFactory())
    response = web.post(url("member_manage", secret, owner.username), {"action": "remove"})
    assert response.status_code == 404
    response = web.post(url("request_decide", secret, pending.pk), {"action": "approve"})
    assert response.status_code == 404
    assert is_member(owner, secret)
    assert JoinRequest.objects.get(pk=pending.pk).status == JoinRequest.Status.PENDING


def test_secret_group_page_for_an_invitee_offers_to_join(web, user):
    secret = group_with(Group.Kind.SECRET, name="Quiet Room")
    owner = secret.memberships.get().user
    PostFactory(author=owner, audience=Post.Audience.GROUP, group=secret, body="hush")
    Invitation.objects.create(group=secret, invitee=user, inviter=owner)
    response = web.get(url("detail", secret))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Quiet Room" in html and "You are invited to this group." in html
    assert "hush" not in html
    web.post(url("join", secret))
    assert is_member(user, secret)
    assert "hush" in web.get(url("detail", secret)).content.decode()


# --- join, request, decide ----------------------------------------------------------------


def test_join_open_group_is_idempotent(web, user):
    group = group_with(Group.Kind.OPEN, name="Join Me")
    response = web.post(url("join", group), follow=True)
    assert "You joined Join Me." in response.content.decode()
    web.post(url("join", group))
    assert Membership.objects.filter(group=group, user=user).count() == 1
    assert web.get(url("join", group)).status_code == 405


def test_join_private_group_directly_is_403(web, user):
    group = group_with(Group.Kind.PRIVATE)
    assert web.post(url("join", group)).status_code == 403
    assert not is_member(user, group)


def test_private_request_then_approve(web, user, other_user):
    group = group_with(Group.Kind.PRIVATE, owner=other_user, name="Guild")
    response = web.post(url("request", group), {"message": "I do GIS"}, follow=True)
    html = response.content.decode()
    assert "Your request is sent." in html
    assert "Request pending" in html
    join_request = JoinRequest.objects.get(group=group, user=user)
    assert join_request.message == "I do GIS"
    web.post(url("request", group), {"message": "again"})  # idempotent
    assert JoinRequest.objects.filter(group=group, user=user).count() == 1

    manager = Client()
    manager.force_login(other_user)
    html = manager.get(url("detail", group)).content.decode()
    assert "Requests to join" in html and "I do GIS" in html
    decide = url("request_decide", group, join_request.pk)
    response = manager.post(decide, {"action": "approve"}, follow=True)
    assert f"{user.profile.display_name} is now a member." in response.content.decode()
    assert is_member(user, group)
    join_request.refresh_from_db()
    assert join_request.status == JoinRequest.Status.APPROVED
    assert join_request.decided_by == other_user


def test_private_request_then_deny_by_an_admin(client, user, other_user):
    group = group_with(Group.Kind.PRIVATE)
    MembershipFactory(group=group, user=other_user, role=Membership.Role.ADMIN)
    join_request = JoinRequest.objects.create(group=group, user=user)
    client.force_login(other_user)
    response = client.post(url("request_decide", group, join_request.pk), {"action": "deny"})
    assert response.status_code == 302
    join_request.refresh_from_db()
    assert join_request.status == JoinRequest.Status.DENIED
    assert join_request.decided_by == other_user
    assert not is_member(user, group)
    # deciding again: the request is no longer pending
    response = client.post(url("request_decide", group, join_request.pk), {"action": "approve"})
    assert response.status_code == 404
    assert not is_member(user, group)


def test_non_manager_cannot_decide_requests(web, user):
    group = group_with(Group.Kind.PRIVATE)
    MembershipFactory(group=group, user=user)  # a plain member
    applicant = UserFactory()
    join_request = JoinRequest.objects.create(group=group, user=applicant)
    response = web.post(url("request_decide", group, join_request.pk), {"action": "approve"})
    assert response.status_code == 403
    assert not is_member(applicant, group)
    assert "Requests to join" not in web.get(url("detail", group)).content.decode()


def test_request_message_too_long_is_a_form_error(web, user):
    group = group_with(Group.Kind.PRIVATE)
    response = web.post(url("request", group), {"message": "x" * 501})
    assert response.status_code == 200
    assert "message" in response.context["form"].errors
    assert not JoinRequest.objects.exists()


def test_request_to_open_group_says_join_instead(web):
    group = group_with(Group.Kind.OPEN)
    response = web.post(url("request", group), follow=True)
    assert "This group is open: join it directly." in response.content.decode()
    assert not JoinRequest.objects.exists()


# --- invitations --------------------------------------------------------------------------


def test_manager_invites_by_username_and_invitee_accepts(web, user, other_user):
    group = group_with(Group.Kind.SECRET, owner=other_user, name="Inner")
    manager = Client()
    manager.force_login(other_user)
    response = manager.post(url("invite", group), {"username": user.username}, follow=True)
    assert f"{user.profile.display_name} is invited." in response.content.decode()
    invitation = Invitation.objects.get(group=group, invitee=user)

    html = web.get(LIST).content.decode()
    assert "Your invitations" in html and "Inner" in html
    answer = reverse("groups:invitation", args=[invitation.pk])
    response = web.post(answer, {"action": "accept"})
    assert response.status_code == 302
    assert response["Location"] == group.get_absolute_url()
    assert is_member(user, group)
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.ACCEPTED


def test_invitee_declines(web, user):
    group = group_with(Group.Kind.SECRET)
    invitation = Invitation.objects.create(group=group, invitee=user)
    response = web.post(reverse("groups:invitation", args=[invitation.pk]), {"action": "decline"})
    assert response.status_code == 302
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.DECLINED
    assert not is_member(user, group)
    assert web.get(url("detail", group)).status_code == 404  # secret again


def test_someone_elses_invitation_is_404(web, other_user):
    group = group_with(Group.Kind.SECRET)
    invitation = Invitation.objects.create(group=group, invitee=other_user)
    answer = reverse("groups:invitation", args=[invitation.pk])
    assert web.post(answer, {"action": "accept"}).status_code == 404
    assert not Membership.objects.filter(group=group).exclude(role="owner").exists()


def test_invite_errors_are_messages(client, other_user):
    group = group_with(Group.Kind.PRIVATE, owner=other_user)
    client.force_login(other_user)
    response = client.post(url("invite", group), {"username": "ghost"}, follow=True)
    assert "No active colleague has the username" in response.content.decode()
    member = UserFactory()
    MembershipFactory(group=group, user=member)
    response = client.post(url("invite", group), {"username": member.username}, follow=True)
    assert "This person is already a member." in response.content.decode()
    assert not Invitation.objects.exists()


def test_plain_member_cannot_invite_to_private_group(web, user, other_user):
    group = group_with(Group.Kind.PRIVATE)
    MembershipFactory(group=group, user=user)
    response = web.post(url("invite", group), {"username": other_user.username})
    assert response.status_code == 403
    assert not Invitation.objects.exists()


# --- leave --------------------------------------------------------------------------------


def test_member_leaves(web, user):
    group = group_with(Group.Kind.OPEN, name="Exit")
    MembershipFactory(group=group, user=user)
    response = web.post(url("leave", group), follow=True)
    assert "You left Exit." in response.content.decode()
    assert not is_member(user, group)


def test_last_owner_cannot_leave(web, user):
    group = group_with(Group.Kind.OPEN, owner=user)
    response = web.post(url("leave", group), follow=True)
    assert response.status_code == 200
    assert "You are the last owner." in response.content.decode()
    assert Membership.objects.get(group=group, user=user).role == Membership.Role.OWNER


def test_leaving_a_secret_group_goes_back_to_the_list(web, user):
    group = group_with(Group.Kind.SECRET)
    MembershipFactory(group=group, user=user)
    response = web.post(url("leave", group))
    assert response["Location"] == LIST
    assert not is_member(user, group)


# --- members and roles --------------------------------------------------------------------


def test_members_page_lists_roles_and_manage_controls_for_managers(web, user):
    group = group_with(Group.Kind.OPEN, owner=user)
    member = UserFactory(profile__display_name="Plain Member")
    MembershipFactory(group=group, user=member)
    admin = UserFactory(profile__display_name="Zed Admin")
    MembershipFactory(group=group, user=admin, role=Membership.Role.ADMIN)
    response = web.get(url("members", group))
    html = response.content.decode()
    assert "Plain Member" in html and "role-badge--owner" in html
    assert url("member_manage", group, member.username) in html
    listed = [m.user_id for m in response.context["page"].object_list]
    assert listed == [user.pk, admin.pk, member.pk]  # owners, admins, then members


def test_members_page_has_no_controls_for_plain_members(web, user):
    group = group_with(Group.Kind.OPEN)
    MembershipFactory(group=group, user=user)
    owner = group.memberships.get(role="owner").user
    html = web.get(url("members", group)).content.decode()
    assert owner.profile.display_name in html
    assert url("member_manage", group, owner.username) not in html


def test_owner_changes_roles_and_removes_members(web, user):
    group = group_with(Group.Kind.PRIVATE, owner=user)
    member = UserFactory()
    MembershipFactory(group=group, user=member)
    manage = url("member_manage", group, member.username)
    response = web.post(manage, {"action": "role", "role": "admin"}, follow=True)
    assert "role is now Admin" in response.content.decode()
    assert Membership.objects.get(group=group, user=member).role == Membership.Role.ADMIN
    web.post(manage, {"action": "role", "role": "owner"})
    assert Membership.objects.get(group=group, user=member).role == Membership.Role.OWNER
    # with two owners, the first may step down
    web.post(url("member_manage", group, user.username), {"action": "role", "role": "member"})
    assert Membership.objects.get(group=group, user=user).role == Membership.Role.MEMBER


def test_owner_removes_a_member(web, user):
    group = group_with(Group.Kind.OPEN, owner=user)
    member = UserFactory()
    MembershipFactory(group=group, user=member)
    response = web.post(url("member_manage", group, member.username), {"action": "remove"})
    assert response.status_code == 302
    assert not is_member(member, group)


def test_admin_cannot_touch_owners_and_member_cannot_manage(web, user):
    group = group_with(Group.Kind.OPEN)
    owner = group.memberships.get().user
    MembershipFactory(group=group, user=user, role=Membership.Role.ADMIN)
    manage_owner = url("member_manage", group, owner.username)
    assert web.post(manage_owner, {"action": "role", "role": "member"}).status_code == 403
    assert web.post(manage_owner, {"action": "remove"}).status_code == 403
    assert Membership.objects.get(group=group, user=owner).role == Membership.Role.OWNER

    Membership.objects.filter(group=group, user=user).update(role=Membership.Role.MEMBER)
    other = UserFactory()
    MembershipFactory(group=group, user=other)
    manage_other = url("member_manage", group, other.username)
    assert web.post(manage_other, {"action": "role", "role": "admin"}).status_code == 403
    assert web.post(manage_other, {"action": "remove"}).status_code == 403
    assert Membership.objects.get(group=group, user=other).role == Membership.Role.MEMBER


def test_last_owner_cannot_step_down(web, user):
    group = group_with(Group.Kind.OPEN, owner=user)
    manage_self = url("member_manage", group, user.username)
    response = web.post(manage_self, {"action": "role", "role": "member"}, follow=True)
    assert "A group needs an owner." in response.content.decode()
    assert Membership.objects.get(group=group, user=user).role == Membership.Role.OWNER


def test_member_manage_bad_input(web, user):
    group = group_with(Group.Kind.OPEN, owner=user)
    member = UserFactory()
    MembershipFactory(group=group, user=member)
    manage = url("member_manage", group, member.username)
    assert web.post(manage, {"action": "explode"}).status_code == 400
    assert web.post(manage, {"action": "role", "role": "emperor"}).status_code == 400
    assert web.post(url("member_manage", group, "ghost"), {"action": "remove"}).status_code == 404
    assert Membership.objects.get(group=group, user=member).role == Membership.Role.MEMBER


def test_members_page_query_count_does_not_grow_with_the_page(web, user):
    group = group_with(Group.Kind.OPEN, owner=user)

    def queries_for_members() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert web.get(url("members", group)).status_code == 200
        return len(captured)

    MembershipFactory(group=group)
    few = queries_for_members()
    for _ in range(10):
        MembershipFactory(group=group)
    assert queries_for_members() == few
