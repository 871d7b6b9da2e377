"""Group pages: the list, one group, its members, and every change of membership.

Each view parses its input with a form, calls one action or selector and renders or
redirects. Action errors map onto HTTP: ValidationError → a message or form error,
PermissionDenied → 403, Http404 → 404. A secret group the viewer may not know of answers
404 everywhere, exactly like a group that does not exist.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest, PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

import permissions
from feeds.selectors import posts_for_group
from profiles.views import add_action_errors, feed_page, page_range, paginate, safe_next_url

from . import actions, selectors
from .forms import (
    GroupFilterForm,
    GroupForm,
    InviteForm,
    JoinRequestForm,
    MemberManageForm,
)
from .models import Group, Membership


def _posted(request):
    """The POST data of a POST (even an empty one), else None: an unbound form."""
    return request.POST if request.method == "POST" else None


def _group_or_404(request, slug: str) -> Group:
    group = selectors.group_get(viewer=request.user, slug=slug)
    if group is None:
        raise Http404
    return group


def _name(user) -> str:
    profile = getattr(user, "profile", None)
    return profile.display_name if profile else user.get_username()


def _error_message(request, error: ValidationError) -> None:
    messages.error(request, " ".join(error.messages))


@login_required
@require_GET
def group_list(request):
    form = GroupFilterForm(request.GET)
    page = paginate(request, selectors.groups_list(viewer=request.user, **form.filters()))
    return render(
        request,
        "groups/list.html",
        {
            "form": form,
            "page": page,
            "page_range": page_range(page),
            "invitations": selectors.invitations_for(user=request.user),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def group_create(request):
    form = GroupForm(_posted(request))
    if form.is_bound and form.is_valid():
        try:
            group = actions.create_group(creator=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(request, _("Your group “%(name)s” is ready.") % {"name": group.name})
            return redirect(group.get_absolute_url())
    return render(request, "groups/form.html", {"form": form, "group": None})


@login_required
@require_POST
def invitation_answer(request, invitation_id: int):
    invitation = selectors.invitation_get(user=request.user, invitation_id=invitation_id)
    if invitation is None:
        raise Http404
    group = invitation.group
    action = request.POST.get("action")
    if action == "accept":
        actions.accept_invitation(invitation=invitation, user=request.user)
        messages.success(request, _("Welcome to %(name)s.") % {"name": group.name})
        return redirect(group.get_absolute_url())
    if action == "decline":
        actions.decline_invitation(invitation=invitation, user=request.user)
        messages.success(
            request, _("You declined the invitation to %(name)s.") % {"name": group.name}
        )
        return redirect(safe_next_url(request, reverse("groups:list")))
    raise BadRequest(_("Choose accept or decline."))


@login_required
@require_GET
def group_detail(request, slug: str):
    group = _group_or_404(request, slug)
    standing = selectors.viewer_standing(viewer=request.user, group=group)
    feed = None
    if standing.can_read:
        feed, bad_cursor = feed_page(request, posts_for_group, viewer=request.user, group=group)
        if bad_cursor:
            return bad_cursor
    return render(
        request,
        "groups/detail.html",
        {
            "group": group,
            "standing": standing,
            "feed": feed,
            "feed_base_url": request.path,
            "join_requests": selectors.pending_requests(viewer=request.user, group=group),
            "invite_form": InviteForm() if standing.can_invite else None,
            "request_form": JoinRequestForm(),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def group_edit(request, slug: str):
    group = _group_or_404(request, slug)
    if not permissions.can_manage_group(request.user, group):
        raise PermissionDenied(_("Only the group's owners and admins can change it."))
    initial = {"name": group.name, "description": group.description, "kind": group.kind}
    form = GroupForm(_posted(request), initial=initial)
    if form.is_bound and form.is_valid():
        try:
            actions.update_group(group=group, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_action_errors(form, exc)
            group.refresh_from_db()
        else:
            messages.success(request, _("The group is saved."))
            return redirect(group.get_absolute_url())
    return render(request, "groups/form.html", {"form": form, "group": group})


@login_required
@require_GET
def group_members(request, slug: str):
    group = _group_or_404(request, slug)
    standing = selectors.viewer_standing(viewer=request.user, group=group)
    page = paginate(request, selectors.member_list(viewer=request.user, group=group))
    return render(
        request,
        "groups/members.html",
        {
            "group": group,
            "standing": standing,
            "page": page,
            "page_range": page_range(page),
            "roles": Membership.Role.choices,
            "viewer_is_owner": standing.role == Membership.Role.OWNER,
        },
    )


@login_required
@require_POST
def group_join(request, slug: str):
    group = _group_or_404(request, slug)
    actions.join_group(group=group, user=request.user)
    messages.success(request, _("You joined %(name)s.") % {"name": group.name})
    return redirect(safe_next_url(request, group.get_absolute_url()))


@login_required
@require_POST
def group_leave(request, slug: str):
    group = _group_or_404(request, slug)
    try:
        actions.leave_group(group=group, user=request.user)
    except ValidationError as exc:
        _error_message(request, exc)
        return redirect(group.get_absolute_url())
    messages.success(request, _("You left %(name)s.") % {"name": group.name})
    if selectors.group_get(viewer=request.user, slug=slug) is None:  # a secret group is gone
        return redirect("groups:list")
    return redirect(safe_next_url(request, group.get_absolute_url()))


@login_required
@require_http_methods(["GET", "POST"])
def group_request(request, slug: str):
    group = _group_or_404(request, slug)
    form = JoinRequestForm(_posted(request))
    if form.is_bound and form.is_valid():
        try:
            actions.request_to_join(
                group=group, user=request.user, message=form.cleaned_data["message"]
            )
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                add_action_errors(form, exc)
            else:  # already a member, or the group is open: nothing to ask
                _error_message(request, exc)
                return redirect(group.get_absolute_url())
        else:
            messages.success(request, _("Your request is sent. The group's admins will decide."))
            return redirect(group.get_absolute_url())
    return render(request, "groups/request.html", {"group": group, "form": form})


@login_required
@require_POST
def request_decide(request, slug: str, request_id: int):
    group = _group_or_404(request, slug)
    if not permissions.can_manage_group(request.user, group):
        raise PermissionDenied(_("Only the group's owners and admins decide on requests."))
    join_request = selectors.join_request_get(
        viewer=request.user, group=group, request_id=request_id
    )
    if join_request is None:
        raise Http404
    action = request.POST.get("action")
    if action not in {"approve", "deny"}:
        raise BadRequest(_("Choose approve or deny."))
    try:
        actions.decide_join_request(
            join_request=join_request, actor=request.user, approve=action == "approve"
        )
    except ValidationError as exc:
        _error_message(request, exc)
    else:
        name = _name(join_request.user)
        if action == "approve":
            messages.success(request, _("%(name)s is now a member.") % {"name": name})
        else:
            messages.success(request, _("You turned down %(name)s's request.") % {"name": name})
    return redirect(safe_next_url(request, group.get_absolute_url()))


@login_required
@require_POST
def group_invite(request, slug: str):
    group = _group_or_404(request, slug)
    if not permissions.can_invite(request.user, group):
        raise PermissionDenied(_("You cannot invite people to this group."))
    form = InviteForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, " ".join(errors))
        return redirect(group.get_absolute_url())
    invitee = form.cleaned_data["username"]
    try:
        actions.invite(group=group, inviter=request.user, invitee=invitee)
    except ValidationError as exc:
        _error_message(request, exc)
    else:
        messages.success(request, _("%(name)s is invited.") % {"name": _name(invitee)})
    return redirect(group.get_absolute_url())


@login_required
@require_POST
def member_manage(request, slug: str, username: str):
    group = _group_or_404(request, slug)
    membership = selectors.member_get(viewer=request.user, group=group, username=username)
    if membership is None:
        raise Http404
    form = MemberManageForm(request.POST)
    if not form.is_valid():
        raise BadRequest(_("Choose a role, or remove the member."))
    member = membership.user
    name = _name(member)
    back = safe_next_url(request, reverse("groups:members", args=[group.slug]))
    try:
        if form.cleaned_data["action"] == "role":
            role = form.cleaned_data["role"]
            actions.change_role(group=group, actor=request.user, user=member, role=role)
            label = Membership.Role(role).label
            messages.success(
                request, _("%(name)s's role is now %(role)s.") % {"name": name, "role": label}
            )
        else:
            actions.remove_member(group=group, actor=request.user, user=member)
            if member.pk == request.user.pk:
                messages.success(request, _("You left %(name)s.") % {"name": group.name})
                return redirect("groups:list")
            messages.success(request, _("%(name)s is no longer a member.") % {"name": name})
    except ValidationError as exc:
        _error_message(request, exc)
    return redirect(back)
