from django.contrib import admin
from django.urls import include, path, re_path
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls

from intranet.media_views import document_file, image_file
from intranet.views import set_language
from search.api import SearchAPIView

urlpatterns = [
    path("", include("feeds.urls")),
    path("people/", include("profiles.urls")),
    path("groups/", include("groups.urls")),
    path("search/", include("search.urls")),
    path("api/search/", SearchAPIView.as_view(), name="api-search"),
    path("api/", include("intranet.api_urls")),
    # Sign-in page and sign-out (names `login`, `logout`) first; then django-allauth's agency
    # sign-in (OpenID Connect under accounts/oidc/, SAML under accounts/saml/).
    path("accounts/", include("identity.urls")),
    path("accounts/", include("allauth.urls")),
    path("i18n/setlang/", set_language, name="set_language"),
    path("admin/", admin.site.urls),
    path("notifications/", include("notifications.urls")),
    # The intranet: Wagtail's admin for editors at /cms/, the pages for all staff at /intranet/,
    # and the pages' images (staff only: uploaded files have no public URL).
    path("cms/", include(wagtailadmin_urls)),
    re_path(r"^files/(?P<folder>images|original_images)/(?P<path>.+)$", image_file),
    re_path(r"^documents/(\d+)/(.*)$", document_file, name="wagtaildocs_serve"),
    path("intranet/", include(wagtail_urls)),
]
