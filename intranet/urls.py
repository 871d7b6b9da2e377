from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from intranet.views import set_language

urlpatterns = [
    path("", include("feeds.urls")),
    path("people/", include("profiles.urls")),
    path("groups/", include("groups.urls")),
    path("api/", include("intranet.api_urls")),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/setlang/", set_language, name="set_language"),
    path("admin/", admin.site.urls),
]
