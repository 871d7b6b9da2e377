"""Write paths for groups: create, join, leave, requests, invitations, roles; their outbox rows;
nothing written when an action refuses."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from groups import actions
from groups.models import Group, Invitation, JoinRequest, Membership
from outbox.models import OutboxEvent
from tests.factories import GroupFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

OWNER, ADMIN, MEMBER = Membership.Role.OWNER, Membership.Role.ADMIN, Membership.Role.MEMBER


@pytest.fixture(autouse=True)
def _fast_and_explicit(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.OUTBOX_DRAIN_INLINE = False


def topics() -> list[str]:
    return list(OutboxEvent.objects.order_by("id").values_list("topic", flat=True))


def snapshot() -> tuple:
    """Everything a group action could write."""
    return (
        list(Membership.objects.order_by("pk").values_list("pk", "group", "user", "role")),
        list(JoinRequest.objects.order_by("pk").values_list("pk", "status")),
        list(Invitation.objects.order_by("pk").values_list("pk", "status")),
        list(Group.objects.order_by("pk").values_list("pk", "name", "kind")),
        topics(),
    )


def make_group(kind=Group.Kind.OPEN, **roles):
    """A group with an owner, plus users by role: make_group(kind, admin=u, member=v)."""
    group = GroupFactory(kind=kind)
    owner = roles.pop("owner", None) or UserFactory()
    MembershipFactory(group=group, user=owner, role=OWNER)
    for role, person in roles.items():
        MembershipFactory(group=group, user=person, role=role)
    OutboxEvent.objects.all().delete()
    return group, owner


# --- create ---------------------------------------------------------------------------------


def test_create_group_makes_the_creator_owner(user):
    """The creator is the owner; events for the group and the membership are recorded."""
    group = actions.create_group(creator=user, name="  Data Office  ", kind=Group.Kind.PRIVATE)
    assert group.name == "Data Office"
    assert group.slug == "data-office"
    assert Membership.objects.get(group=group).user == user
    assert Membership.objects.get(group=group).role == OWNER
    assert list(OutboxEvent.objects.values_list("topic", "object_id", "payload")) == [
        ("group.updated", group.pk, {}),
        ("membership.changed", group.pk, {"user": user.pk}),
    ]


def test_same_names_get_unique_slugs(user):
    """Two groups with one name get different addresses."""
    first = actions.create_group(creator=user, name="Data Office")
    second = actions.create_group(creator=user, name="Data office")
    third = actions.create_group(creator=user, name="Data office!")
    assert len({first.slug, second.slug, third.slug}) == 3
    assert second.slug == "data-office-2"


@pytest.mark.parametrize(
    ("name", "kind", "description"),
    [("", "open", ""), ("   ", "open", ""), ("x" * 121, "open", ""), ("ok", "hidden", ""),
     ("ok", "open", "d" * 2001)],
)  # fmt: skip
def test_create_group_refuses_bad_input(user, name, kind, description):
    """Bad names, kinds and descriptions write nothing."""
    before = snapshot()
    with pytest.raises(ValidationError):
        actions.create_group(creator=user, name=name, kind=kind, description=description)
    assert snapshot() == before


def test_update_group_is_for_managers(user, other_user):
    """Owners and admins edit the group; a member cannot; an outsider of a secret group gets
    404."""
    group, owner = make_group(Group.Kind.SECRET, admin=user, member=other_user)
    actions.update_group(group=group, actor=user, name="Renamed")
    assert Group.objects.get(pk=group.pk).name == "Renamed"
    assert topics() == ["group.updated"]
    before = snapshot()
    with pytest.raises(PermissionDenied):
        actions.update_group(group=group, actor=other_user, name="Mine")
    with pytest.raises(Http404):
        actions.update_group(group=group, actor=UserFactory(), name="Found it")
    assert snapshot() == before


# --- join and leave -------------------------------------------------------------------------


def test_join_open_group(user):
    """Anyone joins an open group, once."""
    group, _owner = make_group(Group.Kind.OPEN)
    membership = actions.join_group(group=group, user=user)
    assert membership.role == MEMBER
    assert actions.join_group(group=group, user=user) == membership
    assert list(OutboxEvent.objects.values_list("topic", "payload")) == [
        ("membership.changed", {"user": user.pk})
    ]


def test_join_private_group_is_refused(user):
    """A private group is joined by request: joining directly is forbidden (403)."""
    group, _owner = make_group(Group.Kind.PRIVATE)
    before = snapshot()
    with pytest.raises(PermissionDenied):
        actions.join_group(group=group, user=user)
    assert snapshot() == before


def test_join_secret_group_without_invitation_is_not_found(user):
    """A secret group does not exist for someone not invited (404, not 403)."""
    group, _owner = make_group(Group.Kind.SECRET)
    before = snapshot()
    with pytest.raises(Http404):
        actions.join_group(group=group, user=user)
    assert snapshot() == before


@pytest.mark.parametrize("kind", [Group.Kind.PRIVATE, Group.Kind.SECRET])
def test_join_with_invitation(user, kind):
    """An invitation lets one join; the invitation is then accepted."""
    group, owner = make_group(kind)
    invitation = actions.invite(group=group, inviter=owner, invitee=user)
    actions.join_group(group=group, user=user)
    assert Membership.objects.filter(group=group, user=user, role=MEMBER).exists()
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.ACCEPTED
    assert topics() == ["invitation.created", "membership.changed"]


def test_leaver_cannot_join(user):
    """A deactivated account cannot join even an open group."""
    group, _owner = make_group(Group.Kind.OPEN)
    user.is_active = False
    user.save()
    with pytest.raises(Http404):
        actions.join_group(group=group, user=user)
    assert not Membership.objects.filter(user=user).exists()


def test_last_owner_cannot_leave(user):
    """The last owner must hand over first; the membership is kept."""
    group, owner = make_group(Group.Kind.OPEN, member=user)
    before = snapshot()
    with pytest.raises(ValidationError):
        actions.leave_group(group=group, user=owner)
    assert snapshot() == before
    assert Membership.objects.filter(group=group, user=owner, role=OWNER).exists()


def test_second_owner_can_leave(user):
    """With two owners, one may leave."""
    group, owner = make_group(Group.Kind.OPEN, owner=user)
    MembershipFactory(group=group, user=UserFactory(), role=OWNER)
    OutboxEvent.objects.all().delete()
    actions.leave_group(group=group, user=user)
    assert not Membership.objects.filter(group=group, user=user).exists()
    assert list(OutboxEvent.objects.values_list("topic", "payload")) == [
        ("membership.changed", {"user": user.pk})
    ]


def test_leave_is_idempotent_for_non_members(user):
    """Leaving a group one is not in changes nothing."""
    group, _owner = make_group(Group.Kind.OPEN)
    actions.leave_group(group=group, user=user)
    assert topics() == []


# --- requests -------------------------------------------------------------------------------


def test_request_then_approve(user, other_user):
    """A request to a private group, approved by an admin, makes a member."""
    group, owner = make_group(Group.Kind.PRIVATE, admin=other_user)
    request = actions.request_to_join(group=group, user=user, message="Please")
    assert actions.request_to_join(group=group, user=user) == request, "one pending request"
    assert list(OutboxEvent.objects.values_list("topic", "object_id")) == [
        ("join_request.created", request.pk)
    ]
    OutboxEvent.objects.all().delete()
    decided = actions.decide_join_request(join_request=request, actor=other_user, approve=True)
    assert decided.status == JoinRequest.Status.APPROVED
    assert decided.decided_by == other_user
    assert Membership.objects.filter(group=group, user=user, role=MEMBER).exists()
    assert topics() == ["join_request.decided", "membership.changed"]


def test_request_then_deny(user):
    """A denied request makes no membership, and the decision is recorded."""
    group, owner = make_group(Group.Kind.PRIVATE)
    request = actions.request_to_join(group=group, user=user)
    OutboxEvent.objects.all().delete()
    actions.decide_join_request(join_request=request, actor=owner, approve=False)
    assert JoinRequest.objects.get(pk=request.pk).status == JoinRequest.Status.DENIED
    assert not Membership.objects.filter(group=group, user=user).exists()
    assert list(OutboxEvent.objects.values_list("topic", "object_id")) == [
        ("join_request.decided", request.pk)
    ]


def test_only_managers_decide_and_only_once(user, other_user):
    """A plain member cannot decide; a decided request cannot be decided again."""
    group, owner = make_group(Group.Kind.PRIVATE, member=other_user)
    request = actions.request_to_join(group=group, user=user)
    before = snapshot()
    with pytest.raises(PermissionDenied):
        actions.decide_join_request(join_request=request, actor=other_user, approve=True)
    assert snapshot() == before
    actions.decide_join_request(join_request=request, actor=owner, approve=False)
    before = snapshot()
    with pytest.raises(ValidationError):
        actions.decide_join_request(join_request=request, actor=owner, approve=True)
    assert snapshot() == before
    assert not Membership.objects.filter(group=group, user=user).exists()


@pytest.mark.parametrize(
    ("kind", "error"),
    [(Group.Kind.OPEN, ValidationError), (Group.Kind.SECRET, Http404)],
)
def test_requests_only_for_private_groups(user, kind, error):
    """Open groups are joined directly; secret ones do not exist for the asker."""
    group, _owner = make_group(kind)
    before = snapshot()
    with pytest.raises(error):
        actions.request_to_join(group=group, user=user)
    assert snapshot() == before


def test_members_do_not_request(user):
    """A member asking to join is told they are already in."""
    group, _owner = make_group(Group.Kind.PRIVATE, member=user)
    with pytest.raises(ValidationError):
        actions.request_to_join(group=group, user=user)
    assert not JoinRequest.objects.exists()


# --- invitations ----------------------------------------------------------------------------


def test_any_member_invites_to_an_open_group(user, other_user):
    """In an open group a plain member may invite."""
    group, _owner = make_group(Group.Kind.OPEN, member=user)
    invitation = actions.invite(group=group, inviter=user, invitee=other_user)
    assert invitation.status == Invitation.Status.PENDING
    assert actions.invite(group=group, inviter=user, invitee=other_user) == invitation
    assert list(OutboxEvent.objects.values_list("topic", "object_id")) == [
        ("invitation.created", invitation.pk)
    ]


@pytest.mark.parametrize("kind", [Group.Kind.PRIVATE, Group.Kind.SECRET])
def test_only_managers_invite_to_closed_groups(user, other_user, kind):
    """In private and secret groups only owners and admins invite."""
    admin = UserFactory()
    group, _owner = make_group(kind, member=user, admin=admin)
    before = snapshot()
    with pytest.raises(PermissionDenied):
        actions.invite(group=group, inviter=user, invitee=other_user)
    assert snapshot() == before
    actions.invite(group=group, inviter=admin, invitee=other_user)
    assert Invitation.objects.filter(group=group, invitee=other_user).exists()


def test_outsider_cannot_invite_to_secret_group(user, other_user):
    """Someone outside a secret group gets 404 when trying to invite to it."""
    group, _owner = make_group(Group.Kind.SECRET)
    with pytest.raises(Http404):
        actions.invite(group=group, inviter=user, invitee=other_user)
    assert not Invitation.objects.exists()


def test_members_and_leavers_are_not_invited(user, other_user):
    """Inviting a member, or a deactivated account, is refused."""
    group, owner = make_group(Group.Kind.PRIVATE, member=user)
    other_user.is_active = False
    other_user.save()
    before = snapshot()
    for invitee in (user, other_user):
        with pytest.raises(ValidationError):
            actions.invite(group=group, inviter=owner, invitee=invitee)
    assert snapshot() == before


def test_accept_and_decline_invitation(user, other_user):
    """The invitee accepts (joins) or declines; nobody else can do either."""
    group, owner = make_group(Group.Kind.SECRET)
    first = actions.invite(group=group, inviter=owner, invitee=user)
    second = actions.invite(group=group, inviter=owner, invitee=other_user)
    with pytest.raises(Http404):
        actions.accept_invitation(invitation=first, user=other_user)
    with pytest.raises(Http404):
        actions.decline_invitation(invitation=first, user=other_user)
    OutboxEvent.objects.all().delete()
    actions.accept_invitation(invitation=first, user=user)
    assert Membership.objects.filter(group=group, user=user).exists()
    actions.decline_invitation(invitation=second, user=other_user)
    assert Invitation.objects.get(pk=second.pk).status == Invitation.Status.DECLINED
    assert not Membership.objects.filter(group=group, user=other_user).exists()
    assert list(OutboxEvent.objects.values_list("topic", "object_id")) == [
        ("membership.changed", group.pk),
        ("invitation.declined", second.pk),
    ]
    with pytest.raises(Http404):
        actions.decline_invitation(invitation=second, user=other_user)


# --- roles and removal ----------------------------------------------------------------------


def test_owner_promotes_and_demotes(user):
    """An owner makes a member admin, and another owner; the change is recorded."""
    group, owner = make_group(Group.Kind.OPEN, member=user)
    actions.change_role(group=group, actor=owner, user=user, role=ADMIN)
    assert Membership.objects.get(group=group, user=user).role == ADMIN
    actions.change_role(group=group, actor=owner, user=user, role=OWNER)
    assert Membership.objects.get(group=group, user=user).role == OWNER
    assert list(OutboxEvent.objects.values_list("topic", "payload")) == [
        ("membership.changed", {"user": user.pk}),
        ("membership.changed", {"user": user.pk}),
    ]


def test_only_owners_touch_owners(user, other_user):
    """An admin cannot make an owner nor demote one; a member changes no role."""
    group, owner = make_group(Group.Kind.OPEN, admin=user, member=other_user)
    before = snapshot()
    with pytest.raises(PermissionDenied):
        actions.change_role(group=group, actor=user, user=other_user, role=OWNER)
    with pytest.raises(PermissionDenied):
        actions.change_role(group=group, actor=user, user=owner, role=MEMBER)
    with pytest.raises(PermissionDenied):
        actions.change_role(group=group, actor=other_user, user=other_user, role=ADMIN)
    with pytest.raises(ValidationError):
        actions.change_role(group=group, actor=owner, user=other_user, role="king")
    with pytest.raises(ValidationError):
        actions.change_role(group=group, actor=owner, user=UserFactory(), role=ADMIN)
    assert snapshot() == before


def test_last_owner_keeps_the_role(user):
    """The only owner cannot be demoted, even by themselves."""
    group, owner = make_group(Group.Kind.OPEN, admin=user)
    before = snapshot()
    with pytest.raises(ValidationError):
        actions.change_role(group=group, actor=owner, user=owner, role=ADMIN)
    assert snapshot() == before


def test_remove_member(user, other_user):
    """An admin removes a plain member; the change is recorded."""
    group, owner = make_group(Group.Kind.PRIVATE, admin=user, member=other_user)
    actions.remove_member(group=group, actor=user, user=other_user)
    assert not Membership.objects.filter(group=group, user=other_user).exists()
    assert list(OutboxEvent.objects.values_list("topic", "payload")) == [
        ("membership.changed", {"user": other_user.pk})
    ]


def test_remove_member_rules(user, other_user):
    """Admins cannot remove owners or admins; members remove nobody; owners may remove an
    admin."""
    admin2 = UserFactory()
    group, owner = make_group(Group.Kind.OPEN, admin=user, member=other_user)
    MembershipFactory(group=group, user=admin2, role=ADMIN)
    OutboxEvent.objects.all().delete()
    before = snapshot()
    with pytest.raises(PermissionDenied):
        actions.remove_member(group=group, actor=user, user=owner)
    with pytest.raises(PermissionDenied):
        actions.remove_member(group=group, actor=user, user=admin2)
    with pytest.raises(PermissionDenied):
        actions.remove_member(group=group, actor=other_user, user=user)
    assert snapshot() == before
    actions.remove_member(group=group, actor=owner, user=admin2)
    assert not Membership.objects.filter(group=group, user=admin2).exists()


def test_removing_oneself_is_leaving(user):
    """The last owner cannot remove themselves either."""
    group, owner = make_group(Group.Kind.OPEN)
    with pytest.raises(ValidationError):
        actions.remove_member(group=group, actor=owner, user=owner)
    assert Membership.objects.filter(group=group, user=owner).exists()
