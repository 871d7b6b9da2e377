from django.urls import path

from . import views

app_name = "groups"
urlpatterns = [
    path("", views.group_list, name="list"),
    path("new/", views.group_create, name="create"),
    path("invitations/<int:invitation_id>/", views.invitation_answer, name="invitation"),
    path("<slug:slug>/", views.group_detail, name="detail"),
    path("<slug:slug>/edit/", views.group_edit, name="edit"),
    path("<slug:slug>/members/", views.group_members, name="members"),
    path("<slug:slug>/join/", views.group_join, name="join"),
    path("<slug:slug>/leave/", views.group_leave, name="leave"),
    path("<slug:slug>/request/", views.group_request, name="request"),
    path("<slug:slug>/requests/<int:request_id>/", views.request_decide, name="request_decide"),
    path("<slug:slug>/invite/", views.group_invite, name="invite"),
    path("<slug:slug>/members/<str:username>/", views.member_manage, name="member_manage"),
]
