"""Write paths for groups: create, edit, join, leave, request, invite, roles.

The secret-group rule holds here too: someone who may not know a secret group exists gets
Http404 from every action, never a message that gives it away.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

import permissions
from outbox.actions import record_event

from .models import Group, Invitation, JoinRequest, Membership


def _require_visible(user, group: Group) -> None:
    if not permissions.can_view_group(user, group):
        raise Http404


def _unique_slug(name: str) -> str:
    base = slugify(name)[:120] or "group"
    slug, n = base, 2
    while Group.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def _membership_changed(group: Group, user_id: int) -> None:
    record_event(topic="membership.changed", object_id=group.pk, payload={"user": user_id})


def create_group(*, creator, name: str, description: str = "", kind: str = Group.Kind.OPEN):
    if not permissions.is_active_staff(creator):
        raise PermissionDenied
    name = (name or "").strip()
    errors = {}
    if not name:
        errors["name"] = _("Give the group a name.")
    elif len(name) > 120:
        errors["name"] = _("Keep the name under 120 characters.")
    if kind not in Group.Kind.values:
        errors["kind"] = _("Choose open, private or secret.")
    if len(description or "") > 2000:
        errors["description"] = _("Keep the description under 2,000 characters.")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        group = Group.objects.create(
            name=name,
            slug=_unique_slug(name),
            description=(description or "").strip(),
            kind=kind,
            created_by=creator,
        )
        Membership.objects.create(group=group, user=creator, role=Membership.Role.OWNER)
        record_event(topic="group.updated", object_id=group.pk)
        _membership_changed(group, creator.pk)
    return group


def update_group(*, group: Group, actor, name=None, description=None, kind=None) -> Group:
    _require_visible(actor, group)
    if not permissions.can_manage_group(actor, group):
        raise PermissionDenied(_("Only the group's owners and admins can change it."))
    errors = {}
    if name is not None:
        name = name.strip()
        if not name:
            errors["name"] = _("Give the group a name.")
        elif len(name) > 120:
            errors["name"] = _("Keep the name under 120 characters.")
    if kind is not None and kind not in Group.Kind.values:
        errors["kind"] = _("Choose open, private or secret.")
    if description is not None and len(description) > 2000:
        errors["description"] = _("Keep the description under 2,000 characters.")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        if name is not None:
            group.name = name
        if description is not None:
            group.description = description.strip()
        if kind is not None:
            group.kind = kind
        group.save()
        record_event(topic="group.updated", object_id=group.pk)
    return group


def join_group(*, group: Group, user) -> Membership:
    """Join an open group, or a group one has a pending invitation to. Idempotent."""
    _require_visible(user, group)
    existing = Membership.objects.filter(group=group, user=user).first()
    if existing:
        return existing
    if not permissions.can_join_directly(user, group):
        if permissions.can_request_to_join(user, group):
            raise PermissionDenied(_("This group is private: ask to join and an admin decides."))
        raise PermissionDenied(_("This group is by invitation only."))
    with transaction.atomic():
        membership, _created = Membership.objects.get_or_create(group=group, user=user)
        Invitation.objects.filter(
            group=group, invitee=user, status=Invitation.Status.PENDING
        ).update(status=Invitation.Status.ACCEPTED)
        _membership_changed(group, user.pk)
    return membership


def _owner_count(group: Group) -> int:
    return group.memberships.filter(role=Membership.Role.OWNER).count()


def leave_group(*, group: Group, user) -> None:
    """Leave a group. The last owner must hand over first. Idempotent for non-members."""
    _require_visible(user, group)
    with transaction.atomic():
        membership = Membership.objects.select_for_update().filter(group=group, user=user).first()
        if membership is None:
            return
        if membership.role == Membership.Role.OWNER and _owner_count(group) <= 1:
            raise ValidationError(
                _("You are the last owner. Make another member an owner before you leave."),
                code="last_owner",
            )
        membership.delete()
        _membership_changed(group, user.pk)


def request_to_join(*, group: Group, user, message: str = "") -> JoinRequest:
    _require_visible(user, group)
    if Membership.objects.filter(group=group, user=user).exists():
        raise ValidationError(_("You are already a member of this group."), code="member")
    if group.is_open:
        raise ValidationError(_("This group is open: join it directly."), code="open")
    if not permissions.can_request_to_join(user, group):
        raise PermissionDenied(_("This group is by invitation only."))
    if len(message or "") > 500:
        raise ValidationError({"message": _("Keep the message under 500 characters.")})
    pending = JoinRequest.objects.filter(
        group=group, user=user, status=JoinRequest.Status.PENDING
    ).first()
    if pending:
        return pending
    try:
        with transaction.atomic():
            join_request = JoinRequest.objects.create(group=group, user=user, message=message or "")
            record_event(topic="join_request.created", object_id=join_request.pk)
            return join_request
    except IntegrityError:  # a concurrent request won the race
        return JoinRequest.objects.get(group=group, user=user, status=JoinRequest.Status.PENDING)


def decide_join_request(*, join_request: JoinRequest, actor, approve: bool) -> JoinRequest:
    group = join_request.group
    _require_visible(actor, group)
    if not permissions.can_manage_group(actor, group):
        raise PermissionDenied(_("Only the group's owners and admins decide on requests."))
    with transaction.atomic():
        join_request = JoinRequest.objects.select_for_update().get(pk=join_request.pk)
        if join_request.status != JoinRequest.Status.PENDING:
            raise ValidationError(_("This request was already decided."), code="decided")
        join_request.status = JoinRequest.Status.APPROVED if approve else JoinRequest.Status.DENIED
        join_request.decided_by = actor
        join_request.decided = timezone.now()
        join_request.save(update_fields=["status", "decided_by", "decided"])
        record_event(topic="join_request.decided", object_id=join_request.pk)
        if approve and join_request.user.is_active:
            Membership.objects.get_or_create(group=group, user=join_request.user)
            _membership_changed(group, join_request.user_id)
    return join_request


def invite(*, group: Group, inviter, invitee) -> Invitation:
    _require_visible(inviter, group)
    if not permissions.can_invite(inviter, group):
        raise PermissionDenied(_("You cannot invite people to this group."))
    if not permissions.is_active_staff(invitee):
        raise ValidationError({"invitee": _("This person cannot be invited.")})
    if Membership.objects.filter(group=group, user=invitee).exists():
        raise ValidationError({"invitee": _("This person is already a member.")}, code="member")
    pending = Invitation.objects.filter(
        group=group, invitee=invitee, status=Invitation.Status.PENDING
    ).first()
    if pending:
        return pending
    try:
        with transaction.atomic():
            invitation = Invitation.objects.create(group=group, invitee=invitee, inviter=inviter)
            record_event(topic="invitation.created", object_id=invitation.pk)
            return invitation
    except IntegrityError:
        return Invitation.objects.get(
            group=group, invitee=invitee, status=Invitation.Status.PENDING
        )


def accept_invitation(*, invitation: Invitation, user) -> Membership:
    if invitation.invitee_id != user.pk or invitation.status != Invitation.Status.PENDING:
        raise Http404
    return join_group(group=invitation.group, user=user)


def decline_invitation(*, invitation: Invitation, user) -> Invitation:
    if invitation.invitee_id != user.pk or invitation.status != Invitation.Status.PENDING:
        raise Http404
    with transaction.atomic():
        invitation.status = Invitation.Status.DECLINED
        invitation.save(update_fields=["status"])
        record_event(topic="invitation.declined", object_id=invitation.pk)
    return invitation


def change_role(*, group: Group, actor, user, role: str) -> Membership:
    _require_visible(actor, group)
    if role not in Membership.Role.values:
        raise ValidationError({"role": _("Choose owner, admin or member.")})
    actor_membership = Membership.objects.filter(group=group, user=actor).first()
    if actor_membership is None or not actor_membership.is_manager:
        raise PermissionDenied(_("Only the group's owners and admins can change roles."))
    with transaction.atomic():
        membership = Membership.objects.select_for_update().filter(group=group, user=user).first()
        if membership is None:
            raise ValidationError({"user": _("This person is not a member.")})
        touches_owner = Membership.Role.OWNER in (role, membership.role)
        if touches_owner and actor_membership.role != Membership.Role.OWNER:
            raise PermissionDenied(_("Only an owner can make or unmake owners."))
        if (
            membership.role == Membership.Role.OWNER
            and role != Membership.Role.OWNER
            and _owner_count(group) <= 1
        ):
            raise ValidationError(
                _("A group needs an owner. Make someone else an owner first."), code="last_owner"
            )
        membership.role = role
        membership.save(update_fields=["role"])
        _membership_changed(group, membership.user_id)
    return membership


def remove_member(*, group: Group, actor, user) -> None:
    _require_visible(actor, group)
    if actor.pk == user.pk:
        return leave_group(group=group, user=user)
    actor_membership = Membership.objects.filter(group=group, user=actor).first()
    if actor_membership is None or not actor_membership.is_manager:
        raise PermissionDenied(_("Only the group's owners and admins can remove members."))
    with transaction.atomic():
        membership = Membership.objects.filter(group=group, user=user).first()
        if membership is None:
            return None
        if membership.is_manager and actor_membership.role != Membership.Role.OWNER:
            raise PermissionDenied(_("Only an owner can remove an owner or admin."))
        if membership.role == Membership.Role.OWNER and _owner_count(group) <= 1:
            raise ValidationError(_("A group needs an owner."), code="last_owner")
        membership.delete()
        _membership_changed(group, user.pk)
    return None
