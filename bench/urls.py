"""The project's URLs plus /bench/hello/: the cheapest possible view on the same server, the
baseline the search endpoint is compared with."""

from django.http import HttpResponse
from django.urls import include, path


def hello(request):
    return HttpResponse("hello, world", content_type="text/plain")


urlpatterns = [
    path("bench/hello/", hello),
    path("", include("intranet.urls")),
]
