from django.urls import path

from . import views

app_name = "feeds"
urlpatterns = [
    path("", views.home, name="home"),
    path("posts/new/", views.post_create, name="post_create"),
    path("posts/<int:post_id>/", views.post_detail, name="post"),
    path("posts/<int:post_id>/edit/", views.post_edit, name="post_edit"),
    path("posts/<int:post_id>/delete/", views.post_delete, name="post_delete"),
    path("posts/<int:post_id>/comments/", views.comment_create, name="comment_create"),
    path("comments/<int:comment_id>/delete/", views.comment_delete, name="comment_delete"),
    path("posts/<int:post_id>/react/", views.react, name="react"),
    path("posts/<int:post_id>/report/", views.post_report, name="post_report"),
    path("attachments/<int:attachment_id>/", views.attachment, name="attachment"),
    path("tags/<str:tag>/", views.hashtag, name="hashtag"),
    path("live/feed/", views.live_feed, name="live_feed"),
]
