"""Groups through the API: listing, creating, membership, requests, invitations, roles.

The secret-group rule throughout: someone who may not know a secret group exists gets the
same 404 as for a group that does not exist.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from groups.models import Group, Invitation, JoinRequest, Membership
from tests.factories import MembershipFactory, UserFactory

from .conftest import make_group

pytestmark = pytest.mark.django_db

GROUPS = reverse("api:groups")
INVITATIONS = reverse("api:invitations")


def url(name: str, group, *args) -> str:
    return reverse(f"api:{name}", args=[group.slug, *args])


def slugs(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [group["slug"] for group in response.json()["results"]]


def assert_hidden(response, client) -> None:
    """A 404 that says exactly what a missing group says."""
    missing = client.get(reverse("api:group-detail", args=["no-such-group"]))
    assert response.status_code == missing.status_code == 404
    assert response.json() == missing.json() == {"detail": "Not found."}


def role_of(group, user) -> str | None:
    membership = Membership.objects.filter(group=group, user=user).first()
    return membership.role if membership else None


# --- the list and creating -------------------------------------------------------------------


@pytest.mark.api_endpoint("groups", "GET")
def test_group_list(api, user, owner):
    open_ = make_group(Group.Kind.OPEN, owner=owner, members=[user])
    private = make_group(Group.Kind.PRIVATE, owner=owner)
    mine_secret = make_group(Group.Kind.SECRET, owner=owner, members=[user])
    make_group(Group.Kind.SECRET, owner=owner)  # not ours: not listed
    response = api.get(GROUPS)
    assert sorted(slugs(response)) == sorted([open_.slug, private.slug, mine_secret.slug])
    by_slug = {g["slug"]: g for g in response.json()["results"]}
    assert by_slug[open_.slug]["member_count"] == 2
    assert by_slug[open_.slug]["is_member"] is True
    assert by_slug[private.slug]["is_member"] is False
    assert slugs(api.get(GROUPS, {"kind": "private"})) == [private.slug]
    assert sorted(slugs(api.get(GROUPS, {"mine": "true"}))) == sorted(
        [open_.slug, mine_secret.slug]
    )
    private.description = "About budgets"
    private.save()
    assert slugs(api.get(GROUPS, {"q": "budgets"})) == [private.slug]


@pytest.mark.api_wrong_user("groups", "GET")
def test_group_list_hides_secret_groups_from_outsiders(client_for, owner, outsider):
    secret = make_group(Group.Kind.SECRET, owner=owner)
    assert slugs(client_for(outsider).get(GROUPS)) == []
    assert slugs(client_for(outsider).get(GROUPS, {"q": secret.name})) == []
    assert slugs(client_for(owner).get(GROUPS)) == [secret.slug]


@pytest.mark.parametrize("query", [{"kind": "hidden"}, {"mine": "maybe"}, {"sort": "name"}])
def test_group_list_bad_query_is_a_400(api, query):
    response = api.get(GROUPS, query)
    assert response.status_code == 400
    assert list(response.json()) == list(query)


@pytest.mark.api_endpoint("groups", "POST")
def test_create_group(api, user):
    response = api.post(
        GROUPS, {"name": "Open Data", "description": "Data for all", "kind": "private"}
    )
    assert response.status_code == 201, response.content
    group = Group.objects.get()
    assert (group.name, group.slug, group.kind) == ("Open Data", "open-data", "private")
    assert role_of(group, user) == "owner"
    data = response.json()
    assert data["slug"] == "open-data"
    assert data["role"] == "owner"
    assert data["member_count"] == 1
    assert data["can_manage"] is True


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        ({"name": ""}, {"name": ["Give the group a name."]}),
        ({"name": "x" * 121}, {"name": ["Keep the name under 120 characters."]}),
        ({"name": "G", "kind": "hidden"}, {"kind": ['"hidden" is not a valid choice.']}),
        ({"name": "G", "owner": "me"}, {"owner": ["Unknown field."]}),
        ({}, {"name": ["This field is required."]}),
    ],
)
def test_create_group_bad_input_is_a_400(api, data, errors):
    response = api.post(GROUPS, data, format="json")
    assert response.status_code == 400
    assert response.json() == errors
    assert not Group.objects.exists()


@pytest.mark.api_wrong_user("groups", "POST")
def test_former_staff_cannot_create_groups(client_for, user):
    user.is_active = False
    user.save()
    assert client_for(user).post(GROUPS, {"name": "Ghosts"}).status_code == 403
    assert not Group.objects.exists()


# --- one group -------------------------------------------------------------------------------


@pytest.mark.api_endpoint("group-detail", "GET")
def test_group_detail(api, user, owner):
    group = make_group(Group.Kind.PRIVATE, owner=owner, members=[user])
    data = api.get(url("group-detail", group)).json()
    assert data["slug"] == group.slug
    assert data["kind"] == "private"
    assert data["member_count"] == 2
    assert (data["is_member"], data["role"], data["can_read"]) == (True, "member", True)
    assert (data["can_manage"], data["can_invite"]) == (False, False)


@pytest.mark.api_wrong_user("group-detail", "GET")
def test_secret_group_detail_is_404_for_outsiders_but_not_for_invitees(client_for, owner, user):
    group = make_group(Group.Kind.SECRET, owner=owner)
    assert_hidden(client_for(user).get(url("group-detail", group)), client_for(user))
    Invitation.objects.create(group=group, invitee=user, inviter=owner)
    data = client_for(user).get(url("group-detail", group)).json()
    assert (data["has_invitation"], data["is_member"], data["can_read"]) == (True, False, False)


@pytest.mark.api_endpoint("group-detail", "PATCH")
def test_owner_edits_group(client_for, owner):
    group = make_group(Group.Kind.OPEN, owner=owner)
    response = client_for(owner).patch(
        url("group-detail", group), {"description": "New words", "kind": "private"}
    )
    assert response.status_code == 200, response.content
    group.refresh_from_db()
    assert (group.description, group.kind) == ("New words", "private")
    assert response.json()["kind"] == "private"
    bad = client_for(owner).patch(url("group-detail", group), {"name": " "})
    assert bad.status_code == 400
    assert bad.json() == {"name": ["Give the group a name."]}


@pytest.mark.api_wrong_user("group-detail", "PATCH")
def test_members_and_outsiders_cannot_edit_a_group(client_for, owner, user, outsider):
    group = make_group(Group.Kind.PRIVATE, owner=owner, members=[user])
    secret = make_group(Group.Kind.SECRET, owner=owner)
    response = client_for(user).patch(url("group-detail", group), {"name": "Mine now"})
    assert response.status_code == 403
    assert response.json() == {"detail": "Only the group's owners and admins can change it."}
    assert_hidden(
        client_for(outsider).patch(url("group-detail", secret), {"name": "Found it"}),
        client_for(outsider),
    )
    group.refresh_from_db()
    secret.refresh_from_db()
    assert "Mine now" != group.name and "Found it" != secret.name


@pytest.mark.api_endpoint("group-members", "GET")
def test_group_members(api, user, owner, outsider):
    group = make_group(Group.Kind.OPEN, owner=owner, members=[outsider])
    response = api.get(url("group-members", group))  # open group: readable by all staff
    assert response.status_code == 200
    members = {m["person"]["username"]: m["role"] for m in response.json()["results"]}
    assert members == {owner.username: "owner", outsider.username: "member"}
    assert response.json()["count"] == 2


@pytest.mark.api_wrong_user("group-members", "GET")
def test_group_members_hidden_from_outsiders(client_for, owner, user):
    private = make_group(Group.Kind.PRIVATE, owner=owner)
    secret = make_group(Group.Kind.SECRET, owner=owner)
    outsider = client_for(user)
    response = outsider.get(url("group-members", private))
    assert response.status_code == 200
    assert response.json()["results"] == []
    assert_hidden(outsider.get(url("group-members", secret)), outsider)


# --- joining and leaving ---------------------------------------------------------------------


@pytest.mark.api_endpoint("group-join", "POST")
def test_join_open_group_is_idempotent(api, user, owner):
    group = make_group(Group.Kind.OPEN, owner=owner)
    response = api.post(url("group-join", group))
    assert response.status_code == 200
    assert response.json()["role"] == "member"
    assert api.post(url("group-join", group)).status_code == 200
    assert Membership.objects.filter(group=group, user=user).count() == 1


@pytest.mark.api_wrong_user("group-join", "POST")
def test_join_private_is_403_and_secret_without_invitation_is_404(api, user, owner):
    private = make_group(Group.Kind.PRIVATE, owner=owner)
    secret = make_group(Group.Kind.SECRET, owner=owner)
    response = api.post(url("group-join", private))
    assert response.status_code == 403
    assert response.json() == {"detail": "This group is private: ask to join and an admin decides."}
    assert_hidden(api.post(url("group-join", secret)), api)
    assert not Membership.objects.filter(user=user).exists()


def test_join_secret_group_with_an_invitation(api, user, owner):
    group = make_group(Group.Kind.SECRET, owner=owner)
    invitation = Invitation.objects.create(group=group, invitee=user, inviter=owner)
    assert api.post(url("group-join", group)).status_code == 200
    assert role_of(group, user) == "member"
    invitation.refresh_from_db()
    assert invitation.status == "accepted"


@pytest.mark.api_endpoint("group-leave", "POST")
def test_leave_group(api, user, owner):
    group = make_group(Group.Kind.OPEN, owner=owner, members=[user])
    assert api.post(url("group-leave", group)).status_code == 204
    assert role_of(group, user) is None


def test_last_owner_cannot_leave(client_for, owner):
    group = make_group(Group.Kind.OPEN, owner=owner)
    response = client_for(owner).post(url("group-leave", group))
    assert response.status_code == 400
    assert response.json() == {
        "non_field_errors": [
            "You are the last owner. Make another member an owner before you leave."
        ]
    }
    assert role_of(group, owner) == "owner"


@pytest.mark.api_wrong_user("group-leave", "POST")
def test_leave_a_secret_group_one_is_not_in_is_404(api, owner):
    group = make_group(Group.Kind.SECRET, owner=owner)
    assert_hidden(api.post(url("group-leave", group)), api)
    assert role_of(group, owner) == "owner"


# --- members' roles --------------------------------------------------------------------------


@pytest.mark.api_endpoint("group-member", "POST", "DELETE")
def test_owner_changes_roles_and_removes_members(client_for, owner, user, other_user):
    group = make_group(Group.Kind.PRIVATE, owner=owner, members=[user, other_user])
    manager = client_for(owner)
    response = manager.post(url("group-member", group, user.username), {"role": "admin"})
    assert response.status_code == 200, response.content
    assert response.json()["role"] == "admin"
    assert response.json()["person"]["username"] == user.username
    assert role_of(group, user) == "admin"
    assert manager.delete(url("group-member", group, other_user.username)).status_code == 204
    assert role_of(group, other_user) is None


@pytest.mark.api_wrong_user("group-member", "POST", "DELETE")
def test_members_cannot_manage_members(client_for, owner, user, other_user, outsider):
    group = make_group(Group.Kind.OPEN, owner=owner, members=[user, other_user])
    secret = make_group(Group.Kind.SECRET, owner=owner, members=[other_user])
    member = client_for(user)
    promote = member.post(url("group-member", group, other_user.username), {"role": "owner"})
    assert promote.status_code == 403
    assert member.delete(url("group-member", group, other_user.username)).status_code == 403
    stranger = client_for(outsider)
    assert_hidden(
        stranger.post(url("group-member", secret, other_user.username), {"role": "owner"}),
        stranger,
    )
    assert_hidden(stranger.delete(url("group-member", secret, other_user.username)), stranger)
    assert (role_of(group, other_user), role_of(secret, other_user)) == ("member", "member")


def test_admins_cannot_make_owners(client_for, owner, user, other_user):
    group = make_group(Group.Kind.OPEN, owner=owner, members=[other_user])
    MembershipFactory(group=group, user=user, role=Membership.Role.ADMIN)
    response = client_for(user).post(
        url("group-member", group, other_user.username), {"role": "owner"}
    )
    assert response.status_code == 403
    assert response.json() == {"detail": "Only an owner can make or unmake owners."}
    assert role_of(group, other_user) == "member"


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        ({"role": "king"}, {"role": ['"king" is not a valid choice.']}),
        ({}, {"role": ["This field is required."]}),
        ({"role": "admin", "until": "2030"}, {"until": ["Unknown field."]}),
    ],
)
def test_change_role_bad_input_is_a_400(client_for, owner, user, data, errors):
    group = make_group(Group.Kind.OPEN, owner=owner, members=[user])
    response = client_for(owner).post(url("group-member", group, user.username), data)
    assert response.status_code == 400
    assert response.json() == errors
    assert role_of(group, user) == "member"


def test_last_owner_cannot_step_down_and_missing_members_are_404(client_for, owner):
    group = make_group(Group.Kind.OPEN, owner=owner)
    manager = client_for(owner)
    response = manager.post(url("group-member", group, owner.username), {"role": "member"})
    assert response.status_code == 400
    assert response.json() == {
        "non_field_errors": ["A group needs an owner. Make someone else an owner first."]
    }
    assert role_of(group, owner) == "owner"
    stranger = UserFactory()
    assert (
        manager.post(url("group-member", group, stranger.username), {"role": "admin"}).status_code
        == 404
    )
    assert manager.delete(url("group-member", group, "nobody")).status_code == 404


# --- join requests ---------------------------------------------------------------------------


@pytest.mark.api_endpoint("group-requests", "POST")
def test_ask_to_join_a_private_group(api, user, owner):
    group = make_group(Group.Kind.PRIVATE, owner=owner)
    response = api.post(url("group-requests", group), {"message": "I work on this"})
    assert response.status_code == 201, response.content
    join_request = JoinRequest.objects.get()
    assert (join_request.user, join_request.message, join_request.status) == (
        user,
        "I work on this",
        "pending",
    )
    assert response.json()["id"] == join_request.pk
    again = api.post(url("group-requests", group), {})
    assert again.json()["id"] == join_request.pk
    assert JoinRequest.objects.count() == 1


@pytest.mark.api_wrong_user("group-requests", "POST")
def test_asking_to_join_open_and_secret_groups(api, owner):
    open_ = make_group(Group.Kind.OPEN, owner=owner)
    secret = make_group(Group.Kind.SECRET, owner=owner)
    response = api.post(url("group-requests", open_), {})
    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["This group is open: join it directly."]}
    assert_hidden(api.post(url("group-requests", secret), {}), api)
    long = api.post(
        url("group-requests", make_group("private", owner=owner)), {"message": "x" * 501}
    )
    assert long.status_code == 400
    assert long.json() == {"message": ["Keep the message under 500 characters."]}
    assert not JoinRequest.objects.exists()


@pytest.mark.api_endpoint("group-requests", "GET")
@pytest.mark.api_endpoint("group-request-approve", "POST")
@pytest.mark.api_endpoint("group-request-deny", "POST")
def test_manager_decides_requests(client_for, owner, user, other_user):
    group = make_group(Group.Kind.PRIVATE, owner=owner)
    yes = JoinRequest.objects.create(group=group, user=user, message="Please")
    no = JoinRequest.objects.create(group=group, user=other_user)
    manager = client_for(owner)
    pending = manager.get(url("group-requests", group))
    assert pending.status_code == 200
    assert sorted(r["person"]["username"] for r in pending.json()) == sorted(
        [user.username, other_user.username]
    )
    approved = manager.post(url("group-request-approve", group, yes.pk))
    assert approved.status_code == 200
    assert approved.json()["status"] == "approved"
    assert role_of(group, user) == "member"
    denied = manager.post(url("group-request-deny", group, no.pk))
    assert denied.json()["status"] == "denied"
    assert role_of(group, other_user) is None
    no.refresh_from_db()
    assert (no.status, no.decided_by) == ("denied", owner)
    assert manager.get(url("group-requests", group)).json() == []
    # a decided request is no longer pending: deciding again finds nothing
    assert manager.post(url("group-request-approve", group, no.pk)).status_code == 404


@pytest.mark.api_wrong_user("group-requests", "GET")
@pytest.mark.api_wrong_user("group-request-approve", "POST")
@pytest.mark.api_wrong_user("group-request-deny", "POST")
def test_only_managers_see_and_decide_requests(client_for, owner, user, other_user, outsider):
    group = make_group(Group.Kind.PRIVATE, owner=owner, members=[other_user])
    join_request = JoinRequest.objects.create(group=group, user=user)
    member = client_for(other_user)
    assert member.get(url("group-requests", group)).status_code == 403
    assert member.post(url("group-request-approve", group, join_request.pk)).status_code == 403
    assert (
        client_for(user).post(url("group-request-approve", group, join_request.pk)).status_code
        == 403
    )
    assert member.post(url("group-request-deny", group, join_request.pk)).status_code == 403
    secret = make_group(Group.Kind.SECRET, owner=owner)
    secret_request = JoinRequest.objects.create(group=secret, user=outsider)
    stranger = client_for(outsider)
    assert_hidden(stranger.get(url("group-requests", secret)), stranger)
    assert_hidden(stranger.post(url("group-request-approve", secret, secret_request.pk)), stranger)
    join_request.refresh_from_db()
    assert join_request.status == "pending"
    assert role_of(group, user) is None


# --- invitations -----------------------------------------------------------------------------


@pytest.mark.api_endpoint("group-invitations", "POST")
def test_manager_invites(client_for, owner, user):
    group = make_group(Group.Kind.SECRET, owner=owner)
    response = client_for(owner).post(url("group-invitations", group), {"username": user.username})
    assert response.status_code == 201, response.content
    invitation = Invitation.objects.get()
    assert (invitation.group, invitation.invitee, invitation.inviter) == (group, user, owner)
    assert response.json()["invitee"]["username"] == user.username
    assert response.json()["group"]["slug"] == group.slug


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        ({"username": "nobody"}, {"username": ["Nobody on the network has this username."]}),
        ({}, {"username": ["This field is required."]}),
        ({"username": "{member}"}, {"invitee": ["This person is already a member."]}),
        ({"username": "{member}", "role": "admin"}, {"role": ["Unknown field."]}),
    ],
)
def test_invite_bad_input_is_a_400(client_for, owner, user, data, errors):
    group = make_group(Group.Kind.PRIVATE, owner=owner, members=[user])
    data = {k: v.format(member=user.username) for k, v in data.items()}
    response = client_for(owner).post(url("group-invitations", group), data)
    assert response.status_code == 400
    assert response.json() == errors
    assert not Invitation.objects.exists()


@pytest.mark.api_wrong_user("group-invitations", "POST")
def test_members_of_private_groups_and_outsiders_cannot_invite(client_for, owner, user, outsider):
    group = make_group(Group.Kind.PRIVATE, owner=owner, members=[user])
    secret = make_group(Group.Kind.SECRET, owner=owner)
    member = client_for(user)
    response = member.post(url("group-invitations", group), {"username": outsider.username})
    assert response.status_code == 403
    stranger = client_for(outsider)
    assert_hidden(
        stranger.post(url("group-invitations", secret), {"username": outsider.username}),
        stranger,
    )
    assert not Invitation.objects.exists()


@pytest.mark.api_endpoint("invitations", "GET")
@pytest.mark.api_endpoint("invitation-accept", "POST")
@pytest.mark.api_endpoint("invitation-decline", "POST")
def test_invitee_lists_accepts_and_declines(api, user, owner):
    secret = make_group(Group.Kind.SECRET, owner=owner)
    private = make_group(Group.Kind.PRIVATE, owner=owner)
    to_accept = Invitation.objects.create(group=secret, invitee=user, inviter=owner)
    to_decline = Invitation.objects.create(group=private, invitee=user, inviter=owner)
    listed = api.get(INVITATIONS)
    assert listed.status_code == 200
    assert sorted(i["id"] for i in listed.json()) == sorted([to_accept.pk, to_decline.pk])
    accepted = api.post(reverse("api:invitation-accept", args=[to_accept.pk]))
    assert accepted.status_code == 200
    assert accepted.json()["slug"] == secret.slug
    assert accepted.json()["role"] == "member"
    assert role_of(secret, user) == "member"
    declined = api.post(reverse("api:invitation-decline", args=[to_decline.pk]))
    assert declined.status_code == 200
    assert declined.json()["status"] == "declined"
    to_decline.refresh_from_db()
    assert to_decline.status == "declined"
    assert role_of(private, user) is None
    assert api.get(INVITATIONS).json() == []


@pytest.mark.api_wrong_user("invitations", "GET")
@pytest.mark.api_wrong_user("invitation-accept", "POST")
@pytest.mark.api_wrong_user("invitation-decline", "POST")
def test_someone_elses_invitation_is_404(client_for, owner, user, outsider):
    group = make_group(Group.Kind.SECRET, owner=owner)
    invitation = Invitation.objects.create(group=group, invitee=user, inviter=owner)
    stranger = client_for(outsider)
    assert stranger.get(INVITATIONS).json() == []
    accept = stranger.post(reverse("api:invitation-accept", args=[invitation.pk]))
    decline = stranger.post(reverse("api:invitation-decline", args=[invitation.pk]))
    assert accept.status_code == decline.status_code == 404
    assert role_of(group, outsider) is None
    invitation.refresh_from_db()
    assert invitation.status == "pending"
