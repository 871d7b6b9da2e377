"""The JSON API under /api/. Every endpoint needs an active, signed-in member of staff
(session or `Authorization: Token ...`), except obtaining a token.

A new pattern here needs a test marked `api_endpoint` for each of its methods and one marked
`api_wrong_user` (tests/api/test_url_coverage.py fails otherwise).
"""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from feeds import api as feeds_api
from groups import api as groups_api
from intranet.api_permissions import IsActiveStaffMember
from profiles import api as profiles_api

app_name = "api"
urlpatterns = [
    path(
        "schema/",
        SpectacularAPIView.as_view(permission_classes=[IsActiveStaffMember]),
        name="schema",
    ),
    path("auth/token/", profiles_api.AuthTokenView.as_view(), name="auth-token"),
    # feeds
    path("feed/home/", feeds_api.HomeFeedView.as_view(), name="feed-home"),
    path("groups/<slug:slug>/posts/", feeds_api.GroupFeedView.as_view(), name="group-posts"),
    path("people/<str:username>/posts/", feeds_api.PersonFeedView.as_view(), name="person-posts"),
    path("tags/<str:tag>/posts/", feeds_api.HashtagFeedView.as_view(), name="tag-posts"),
    # posts, comments, reactions
    path("posts/", feeds_api.PostCreateView.as_view(), name="posts"),
    path("posts/<int:post_id>/", feeds_api.PostDetailView.as_view(), name="post-detail"),
    path(
        "posts/<int:post_id>/comments/",
        feeds_api.PostCommentsView.as_view(),
        name="post-comments",
    ),
    path(
        "posts/<int:post_id>/reactions/",
        feeds_api.PostReactionsView.as_view(),
        name="post-reactions",
    ),
    path(
        "comments/<int:comment_id>/", feeds_api.CommentDetailView.as_view(), name="comment-detail"
    ),
    # people
    path("people/", profiles_api.PeopleView.as_view(), name="people"),
    path("people/me/", profiles_api.MeView.as_view(), name="person-me"),
    path("people/<str:username>/", profiles_api.PersonView.as_view(), name="person-detail"),
    path("people/<str:username>/follow/", profiles_api.FollowView.as_view(), name="person-follow"),
    path(
        "people/<str:username>/followers/",
        profiles_api.FollowersView.as_view(),
        name="person-followers",
    ),
    path(
        "people/<str:username>/following/",
        profiles_api.FollowingView.as_view(),
        name="person-following",
    ),
    # groups
    path("groups/", groups_api.GroupListView.as_view(), name="groups"),
    path("groups/<slug:slug>/", groups_api.GroupDetailView.as_view(), name="group-detail"),
    path(
        "groups/<slug:slug>/members/", groups_api.GroupMembersView.as_view(), name="group-members"
    ),
    path(
        "groups/<slug:slug>/members/<str:username>/",
        groups_api.GroupMemberView.as_view(),
        name="group-member",
    ),
    path("groups/<slug:slug>/join/", groups_api.GroupJoinView.as_view(), name="group-join"),
    path("groups/<slug:slug>/leave/", groups_api.GroupLeaveView.as_view(), name="group-leave"),
    path(
        "groups/<slug:slug>/requests/",
        groups_api.GroupRequestsView.as_view(),
        name="group-requests",
    ),
    path(
        "groups/<slug:slug>/requests/<int:request_id>/approve/",
        groups_api.ApproveRequestView.as_view(),
        name="group-request-approve",
    ),
    path(
        "groups/<slug:slug>/requests/<int:request_id>/deny/",
        groups_api.DenyRequestView.as_view(),
        name="group-request-deny",
    ),
    path(
        "groups/<slug:slug>/invitations/",
        groups_api.GroupInvitationsView.as_view(),
        name="group-invitations",
    ),
    path("invitations/", groups_api.InvitationListView.as_view(), name="invitations"),
    path(
        "invitations/<int:invitation_id>/accept/",
        groups_api.InvitationAcceptView.as_view(),
        name="invitation-accept",
    ),
    path(
        "invitations/<int:invitation_id>/decline/",
        groups_api.InvitationDeclineView.as_view(),
        name="invitation-decline",
    ),
]
