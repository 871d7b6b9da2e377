"""The groups API: the list, one group, its members, and every change of membership.

Each view parses its input with a serializer, calls one action or selector, and serializes.
A secret group the caller may not know of answers 404 everywhere, exactly like a group that
does not exist: every view starts from `selectors.group_get`, which starts from
`permissions.visible_groups`.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

import permissions
from intranet.api import (
    EnumField,
    PageNumberPagination,
    QuerySerializer,
    StrictSerializer,
    absolute_url,
    parse,
    parse_query,
)
from profiles import selectors as profile_selectors
from profiles.api import PersonSerializer

from . import actions, selectors
from .models import Group, Invitation, JoinRequest, Membership

# --- representations -------------------------------------------------------------------------


class GroupSerializer(serializers.Serializer):
    slug = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    description = serializers.CharField(read_only=True)
    kind = EnumField(Group.Kind.choices, enum_name="GroupKindEnum", read_only=True)
    member_count = serializers.IntegerField(read_only=True)
    is_member = serializers.BooleanField(read_only=True)
    created = serializers.DateTimeField(read_only=True)
    url = serializers.SerializerMethodField(help_text="The group's page.")

    def get_url(self, group: Group) -> str:
        return absolute_url(self.context.get("request"), group.get_absolute_url())


class GroupDetailSerializer(GroupSerializer):
    """A group, with where the caller stands in it."""

    role = EnumField(
        Membership.Role.choices,
        enum_name="MemberRoleEnum",
        source="standing.role",
        read_only=True,
        allow_null=True,
    )
    can_read = serializers.BooleanField(
        source="standing.can_read", read_only=True, help_text="May you read posts and members?"
    )
    can_manage = serializers.BooleanField(source="standing.can_manage", read_only=True)
    can_invite = serializers.BooleanField(source="standing.can_invite", read_only=True)
    has_invitation = serializers.BooleanField(source="standing.has_invitation", read_only=True)
    has_pending_request = serializers.SerializerMethodField()

    def get_has_pending_request(self, group: Group) -> bool:
        return group.standing.pending_request is not None


class MembershipSerializer(serializers.Serializer):
    person = PersonSerializer(source="user", read_only=True)
    role = EnumField(Membership.Role.choices, enum_name="MemberRoleEnum", read_only=True)
    joined = serializers.DateTimeField(source="created", read_only=True)


class JoinRequestSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    person = PersonSerializer(source="user", read_only=True)
    message = serializers.CharField(read_only=True)
    status = EnumField(
        JoinRequest.Status.choices, enum_name="JoinRequestStatusEnum", read_only=True
    )
    created = serializers.DateTimeField(read_only=True)
    decided = serializers.DateTimeField(read_only=True, allow_null=True)


class GroupRefSerializer(serializers.Serializer):
    slug = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    kind = EnumField(Group.Kind.choices, enum_name="GroupKindEnum", read_only=True)


class InvitationSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    group = GroupRefSerializer(read_only=True)
    invitee = PersonSerializer(read_only=True)
    inviter = PersonSerializer(read_only=True, allow_null=True)
    status = EnumField(Invitation.Status.choices, enum_name="InvitationStatusEnum", read_only=True)
    created = serializers.DateTimeField(read_only=True)


# --- inputs ----------------------------------------------------------------------------------


class GroupQuerySerializer(QuerySerializer):
    extra_params = ("page",)

    q = serializers.CharField(required=False, allow_blank=True, max_length=100)
    kind = EnumField(Group.Kind.choices, enum_name="GroupKindEnum", required=False)
    mine = serializers.BooleanField(required=False, help_text="Only groups you belong to.")


class PageQuerySerializer(QuerySerializer):
    extra_params = ("page",)


class GroupWriteSerializer(StrictSerializer):
    name = serializers.CharField(allow_blank=True)
    description = serializers.CharField(required=False, allow_blank=True)
    kind = EnumField(Group.Kind.choices, enum_name="GroupKindEnum", required=False)


class JoinRequestCreateSerializer(StrictSerializer):
    message = serializers.CharField(required=False, allow_blank=True)


class InviteSerializer(StrictSerializer):
    username = serializers.CharField(help_text="Whom to invite.")

    def validate_username(self, value):
        invitee = profile_selectors.user_get(username=value)
        if invitee is None:
            raise serializers.ValidationError(_("Nobody on the network has this username."))
        return invitee


class RoleSerializer(StrictSerializer):
    role = EnumField(Membership.Role.choices, enum_name="MemberRoleEnum")


# --- helpers ---------------------------------------------------------------------------------


def _group_or_404(request, slug: str) -> Group:
    group = selectors.group_get(viewer=request.user, slug=slug)
    if group is None:
        raise Http404
    return group


def _group_response(request, slug: str, *, status_code=status.HTTP_200_OK, **kwargs) -> Response:
    group = _group_or_404(request, slug)
    group.standing = selectors.viewer_standing(viewer=request.user, group=group)
    group.member_count = group.standing.member_count
    group.is_member = group.standing.is_member
    data = GroupDetailSerializer(group, context={"request": request}).data
    return Response(data, status=status_code, **kwargs)


def _require_manager(request, group: Group) -> None:
    if not permissions.can_manage_group(request.user, group):
        raise PermissionDenied(_("Only the group's owners and admins decide on requests."))


def _paginated(view: GenericAPIView, request, queryset, serializer_class):
    page = view.paginate_queryset(queryset)
    data = serializer_class(page, many=True, context={"request": request}).data
    return view.get_paginated_response(data)


# --- groups ----------------------------------------------------------------------------------


class GroupListView(GenericAPIView):
    pagination_class = PageNumberPagination

    @extend_schema(parameters=[GroupQuerySerializer], responses=GroupSerializer(many=True))
    def get(self, request):
        query = parse_query(GroupQuerySerializer, request)
        groups = selectors.groups_list(
            viewer=request.user,
            query=query.get("q", ""),
            kind=query.get("kind", ""),
            mine=query.get("mine", False),
        )
        return _paginated(self, request, groups, GroupSerializer)

    @extend_schema(
        request=GroupWriteSerializer,
        responses={201: GroupDetailSerializer},
        summary="Create a group (you become its owner)",
    )
    def post(self, request):
        data = parse(GroupWriteSerializer, request.data)
        group = actions.create_group(creator=request.user, **data)
        return _group_response(request, group.slug, status_code=status.HTTP_201_CREATED)


class GroupDetailView(APIView):
    @extend_schema(responses=GroupDetailSerializer)
    def get(self, request, slug: str):
        return _group_response(request, slug)

    @extend_schema(
        request=GroupWriteSerializer,
        responses=GroupDetailSerializer,
        summary="Change a group (owners and admins)",
    )
    def patch(self, request, slug: str):
        data = parse(GroupWriteSerializer, request.data, partial=True)
        actions.update_group(group=_group_or_404(request, slug), actor=request.user, **data)
        return _group_response(request, slug)


class GroupMembersView(GenericAPIView):
    """The members of a group (none for outsiders of a private group)."""

    pagination_class = PageNumberPagination

    @extend_schema(responses=MembershipSerializer(many=True))
    def get(self, request, slug: str):
        parse_query(PageQuerySerializer, request)
        members = selectors.group_members(viewer=request.user, group=_group_or_404(request, slug))
        return _paginated(self, request, members, MembershipSerializer)


class GroupJoinView(APIView):
    @extend_schema(
        request=None,
        responses=GroupDetailSerializer,
        summary="Join an open group, or one you are invited to",
    )
    def post(self, request, slug: str):
        actions.join_group(group=_group_or_404(request, slug), user=request.user)
        return _group_response(request, slug)


class GroupLeaveView(APIView):
    @extend_schema(request=None, responses={204: None}, summary="Leave a group")
    def post(self, request, slug: str):
        actions.leave_group(group=_group_or_404(request, slug), user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class GroupMemberView(APIView):
    """One member of a group: change their role, or remove them (owners and admins)."""

    def _member(self, request, slug: str, username: str):
        group = _group_or_404(request, slug)
        membership = selectors.member_get(viewer=request.user, group=group, username=username)
        if membership is None:
            raise Http404
        return group, membership

    @extend_schema(request=RoleSerializer, responses=MembershipSerializer)
    def post(self, request, slug: str, username: str):
        data = parse(RoleSerializer, request.data)
        group, membership = self._member(request, slug, username)
        membership = actions.change_role(
            group=group, actor=request.user, user=membership.user, role=data["role"]
        )
        return Response(MembershipSerializer(membership, context={"request": request}).data)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request, slug: str, username: str):
        group, membership = self._member(request, slug, username)
        actions.remove_member(group=group, actor=request.user, user=membership.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- join requests ---------------------------------------------------------------------------


class GroupRequestsView(APIView):
    @extend_schema(
        responses=JoinRequestSerializer(many=True),
        summary="Pending requests to join (owners and admins)",
    )
    def get(self, request, slug: str):
        group = _group_or_404(request, slug)
        _require_manager(request, group)
        pending = selectors.pending_requests(viewer=request.user, group=group)
        return Response(
            JoinRequestSerializer(pending, many=True, context={"request": request}).data
        )

    @extend_schema(
        request=JoinRequestCreateSerializer,
        responses={201: JoinRequestSerializer},
        summary="Ask to join a private group",
    )
    def post(self, request, slug: str):
        data = parse(JoinRequestCreateSerializer, request.data)
        join_request = actions.request_to_join(
            group=_group_or_404(request, slug), user=request.user, message=data.get("message", "")
        )
        data = JoinRequestSerializer(join_request, context={"request": request}).data
        return Response(data, status=status.HTTP_201_CREATED)


class _DecideRequestView(APIView):
    approve: bool

    @extend_schema(request=None, responses=JoinRequestSerializer)
    def post(self, request, slug: str, request_id: int):
        group = _group_or_404(request, slug)
        _require_manager(request, group)
        join_request = selectors.join_request_get(
            viewer=request.user, group=group, request_id=request_id
        )
        if join_request is None:
            raise Http404
        join_request = actions.decide_join_request(
            join_request=join_request, actor=request.user, approve=self.approve
        )
        return Response(JoinRequestSerializer(join_request, context={"request": request}).data)


class ApproveRequestView(_DecideRequestView):
    """Approve a request to join: the person becomes a member."""

    approve = True


class DenyRequestView(_DecideRequestView):
    """Deny a request to join."""

    approve = False


# --- invitations -----------------------------------------------------------------------------


class GroupInvitationsView(APIView):
    @extend_schema(
        request=InviteSerializer,
        responses={201: InvitationSerializer},
        summary="Invite someone to a group",
    )
    def post(self, request, slug: str):
        data = parse(InviteSerializer, request.data)
        invitation = actions.invite(
            group=_group_or_404(request, slug), inviter=request.user, invitee=data["username"]
        )
        data = InvitationSerializer(invitation, context={"request": request}).data
        return Response(data, status=status.HTTP_201_CREATED)


class InvitationListView(APIView):
    @extend_schema(responses=InvitationSerializer(many=True), summary="Your pending invitations")
    def get(self, request):
        invitations = selectors.invitations_for(user=request.user)
        return Response(
            InvitationSerializer(invitations, many=True, context={"request": request}).data
        )


def _invitation_or_404(request, invitation_id: int) -> Invitation:
    invitation = selectors.invitation_get(user=request.user, invitation_id=invitation_id)
    if invitation is None:
        raise Http404
    return invitation


class InvitationAcceptView(APIView):
    @extend_schema(request=None, responses=GroupDetailSerializer, summary="Accept: join the group")
    def post(self, request, invitation_id: int):
        invitation = _invitation_or_404(request, invitation_id)
        actions.accept_invitation(invitation=invitation, user=request.user)
        return _group_response(request, invitation.group.slug)


class InvitationDeclineView(APIView):
    @extend_schema(request=None, responses=InvitationSerializer)
    def post(self, request, invitation_id: int):
        invitation = actions.decline_invitation(
            invitation=_invitation_or_404(request, invitation_id), user=request.user
        )
        return Response(InvitationSerializer(invitation, context={"request": request}).data)
