"""Read paths for groups; every one starts from permissions.visible_groups(viewer)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Case, Count, Exists, IntegerField, OuterRef, Q, QuerySet, Value, When

import permissions
from feeds.compiled import CountOf

from .models import Group, Invitation, JoinRequest, Membership


def groups_list(*, viewer, query: str = "", kind: str = "", mine: bool = False) -> QuerySet[Group]:
    qs = permissions.visible_groups(viewer).annotate(
        member_count=Count("memberships", distinct=True),
        is_member=Exists(Membership.objects.filter(group=OuterRef("pk"), user_id=viewer.pk)),
    )
    if query:
        qs = qs.filter(Q(name__icontains=query) | Q(description__icontains=query))
    if kind in Group.Kind.values:
        qs = qs.filter(kind=kind)
    if mine:
        qs = qs.filter(pk__in=permissions.member_group_ids(viewer))
    return qs.order_by("name", "pk")


def group_get(*, viewer, slug: str) -> Group | None:
    """The group if `viewer` may know it exists, else None (answer 404)."""
    return permissions.visible_groups(viewer).filter(slug=slug).first()


def group_members(*, viewer, group: Group) -> QuerySet[Membership]:
    if not permissions.can_read_group_content(viewer, group):
        return Membership.objects.none()
    return group.memberships.select_related("user__profile__agency").order_by(
        "role", "user__profile__display_name", "pk"
    )


def member_get(*, viewer, group: Group, username: str) -> Membership | None:
    """One member of `group` by username (deactivated ones too), if `viewer` may see members."""
    return group_members(viewer=viewer, group=group).filter(user__username__iexact=username).first()


def member_list(*, viewer, group: Group) -> QuerySet[Membership]:
    """The members page: owners first, then admins, then members, each by name."""
    rank = Case(
        When(role=Membership.Role.OWNER, then=Value(0)),
        When(role=Membership.Role.ADMIN, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    return group_members(viewer=viewer, group=group).order_by(
        rank, "user__profile__display_name", "pk"
    )


def membership_of(*, user, group: Group) -> Membership | None:
    if not permissions.is_active_staff(user):
        return None
    return Membership.objects.filter(group=group, user=user).first()


def pending_requests(*, viewer, group: Group) -> QuerySet[JoinRequest]:
    if not permissions.can_manage_group(viewer, group):
        return JoinRequest.objects.none()
    return group.join_requests.filter(status=JoinRequest.Status.PENDING).select_related(
        "user__profile"
    )


def pending_request_of(*, user, group: Group) -> JoinRequest | None:
    return JoinRequest.objects.filter(
        group=group, user=user, status=JoinRequest.Status.PENDING
    ).first()


def invitations_for(*, user) -> QuerySet[Invitation]:
    return Invitation.objects.filter(invitee=user, status=Invitation.Status.PENDING).select_related(
        "group", "inviter__profile"
    )


def pending_invitation_count(*, user) -> int:
    """How many invitations `user` has not answered (the home page's side column), compiled
    once (`feeds.compiled.CountOf`), as the home page asks on every visit."""
    return _pending_invitations(user.pk)


_pending_invitations = CountOf(
    lambda user_id: Invitation.objects.filter(invitee_id=user_id, status=Invitation.Status.PENDING),
    person="invitee_id",
)


def invitation_get(*, user, invitation_id) -> Invitation | None:
    try:
        invitation_id = int(invitation_id)
    except (TypeError, ValueError):
        return None
    return invitations_for(user=user).filter(pk=invitation_id).first()


def join_request_get(*, viewer, group: Group, request_id) -> JoinRequest | None:
    try:
        request_id = int(request_id)
    except (TypeError, ValueError):
        return None
    return pending_requests(viewer=viewer, group=group).filter(pk=request_id).first()


@dataclass(frozen=True)
class ViewerStanding:
    """Where `viewer` stands with a group they may see: what its page offers them."""

    membership: Membership | None
    member_count: int
    can_read: bool
    can_manage: bool
    can_invite: bool
    has_invitation: bool
    pending_request: JoinRequest | None

    @property
    def role(self) -> str | None:
        return self.membership.role if self.membership else None

    @property
    def is_member(self) -> bool:
        return self.membership is not None


def viewer_standing(*, viewer, group: Group) -> ViewerStanding:
    """The viewer's membership, rights and pending request or invitation for `group`."""
    membership = membership_of(user=viewer, group=group)
    return ViewerStanding(
        membership=membership,
        member_count=group.memberships.count(),
        can_read=permissions.can_read_group_content(viewer, group),
        can_manage=membership is not None and membership.is_manager,
        can_invite=permissions.can_invite(viewer, group),
        has_invitation=membership is None and permissions.has_pending_invitation(viewer, group),
        pending_request=None if membership else pending_request_of(user=viewer, group=group),
    )
