"""Read paths for groups: listing, one group, members, requests and invitations."""

import pytest
from django.contrib.auth.models import AnonymousUser

from groups import actions, selectors
from groups.models import Group, Invitation, Membership
from tests.factories import GroupFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

OWNER, ADMIN, MEMBER = Membership.Role.OWNER, Membership.Role.ADMIN, Membership.Role.MEMBER


@pytest.fixture(autouse=True)
def _fast_and_explicit(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.OUTBOX_DRAIN_INLINE = False


@pytest.fixture
def world(user):
    """One group of each kind; `user` is in the private one only."""
    groups = {
        kind: GroupFactory(kind=kind, name=f"{kind.title()} group", slug=kind)
        for kind in Group.Kind.values
    }
    for group in groups.values():
        MembershipFactory(group=group, role=OWNER)
    MembershipFactory(group=groups["private"], user=user)
    return groups


def test_groups_list_hides_secret_groups_from_outsiders(user, world):
    """Open and private groups are listed; a secret group only for its members."""
    listed = list(selectors.groups_list(viewer=user))
    assert [g.slug for g in listed] == ["open", "private"]
    counts = {g.slug: (g.member_count, g.is_member) for g in listed}
    assert counts == {"open": (1, False), "private": (2, True)}
    MembershipFactory(group=world["secret"], user=user)
    assert [g.slug for g in selectors.groups_list(viewer=user)] == ["open", "private", "secret"]
    assert not selectors.groups_list(viewer=AnonymousUser()).exists()


def test_groups_list_filters(user, world):
    """Search text, kind and `mine` narrow the list, never widen it."""
    assert [g.slug for g in selectors.groups_list(viewer=user, query="PRIV")] == ["private"]
    assert [g.slug for g in selectors.groups_list(viewer=user, kind="open")] == ["open"]
    assert [g.slug for g in selectors.groups_list(viewer=user, kind="secret")] == []
    assert [g.slug for g in selectors.groups_list(viewer=user, kind="bogus")] == [
        "open",
        "private",
    ]
    assert [g.slug for g in selectors.groups_list(viewer=user, mine=True)] == ["private"]


def test_group_get_answers_none_for_unknowable_groups(user, other_user, world):
    """A secret group is found by members and invitees only."""
    assert selectors.group_get(viewer=user, slug="secret") is None
    assert selectors.group_get(viewer=user, slug="private") == world["private"]
    Invitation.objects.create(group=world["secret"], invitee=other_user)
    assert selectors.group_get(viewer=other_user, slug="secret") == world["secret"]
    assert selectors.group_get(viewer=user, slug="nope") is None


def test_members_are_listed_for_readers_only(user, other_user, world):
    """Members of a private group are listed for members, not for outsiders; open groups'
    members for everyone."""
    assert selectors.group_members(viewer=user, group=world["private"]).count() == 2
    assert not selectors.group_members(viewer=other_user, group=world["private"]).exists()
    assert selectors.group_members(viewer=other_user, group=world["open"]).count() == 1
    assert selectors.member_get(viewer=user, group=world["private"], username=user.username)
    assert (
        selectors.member_get(viewer=other_user, group=world["private"], username=user.username)
        is None
    )


def test_members_are_listed_owners_first(user):
    """The members page shows owners, then admins, then members."""
    group = GroupFactory()
    for role, name in [(MEMBER, "Aaron"), (ADMIN, "Bea"), (OWNER, "Cyd")]:
        MembershipFactory(group=group, role=role, user=UserFactory(profile__display_name=name))
    roles = [m.role for m in selectors.member_list(viewer=user, group=group)]
    assert roles == [OWNER, ADMIN, MEMBER]


def test_pending_requests_are_for_managers(user, other_user):
    """Owners and admins see pending requests; members and the asker do not."""
    group = GroupFactory(kind=Group.Kind.PRIVATE)
    owner = MembershipFactory(group=group, role=OWNER).user
    MembershipFactory(group=group, user=other_user)
    request = actions.request_to_join(group=group, user=user)
    assert list(selectors.pending_requests(viewer=owner, group=group)) == [request]
    assert not selectors.pending_requests(viewer=other_user, group=group).exists()
    assert not selectors.pending_requests(viewer=user, group=group).exists()
    assert selectors.join_request_get(viewer=owner, group=group, request_id=str(request.pk))
    assert selectors.join_request_get(viewer=user, group=group, request_id=request.pk) is None
    assert selectors.join_request_get(viewer=owner, group=group, request_id="x") is None
    assert selectors.pending_request_of(user=user, group=group) == request


def test_invitations_are_the_invitees_own(user, other_user):
    """One sees only one's own pending invitations."""
    group = GroupFactory(kind=Group.Kind.SECRET)
    owner = MembershipFactory(group=group, role=OWNER).user
    invitation = actions.invite(group=group, inviter=owner, invitee=user)
    assert list(selectors.invitations_for(user=user)) == [invitation]
    assert selectors.invitation_get(user=user, invitation_id=str(invitation.pk)) == invitation
    assert selectors.invitation_get(user=other_user, invitation_id=invitation.pk) is None
    assert selectors.invitation_get(user=user, invitation_id="1; drop") is None
    actions.decline_invitation(invitation=invitation, user=user)
    assert not selectors.invitations_for(user=user).exists()


def test_membership_of(user, world):
    """A membership is found for active members; a leaver has none."""
    assert selectors.membership_of(user=user, group=world["private"]).role == MEMBER
    assert selectors.membership_of(user=user, group=world["open"]) is None
    user.is_active = False
    assert selectors.membership_of(user=user, group=world["private"]) is None


def test_each_person_gets_their_own_pending_invitation_count(monkeypatch):
    """A statement compiled once, run for each person: their pending invitations only."""
    from feeds.compiled import Statements

    people = [UserFactory() for _ in range(3)]
    groups = [GroupFactory(kind=Group.Kind.PRIVATE) for _ in range(3)]
    statuses = [Invitation.Status.PENDING, Invitation.Status.DECLINED, Invitation.Status.PENDING]
    for n, person in enumerate(people):
        for group, status in zip(groups[: n + 1], statuses, strict=False):
            Invitation.objects.create(group=group, invitee=person, status=status)
    monkeypatch.setattr(selectors._pending_invitations, "_statements", Statements(size=4))
    counts = [selectors.pending_invitation_count(user=p) for p in (*people, UserFactory())]
    assert counts == [1, 1, 2, 0]
    assert counts[:3] == [selectors.invitations_for(user=p).count() for p in people]
    assert len(selectors._pending_invitations._statements._items) == 1  # the compiled path ran
