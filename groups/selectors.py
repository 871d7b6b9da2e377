"""Read paths for groups; every one starts from permissions.visible_groups(viewer)."""

from __future__ import annotations

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

import permissions

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
