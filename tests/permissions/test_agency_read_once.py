"""A read-only request reads the viewer's agency once (permissions.agency_read_once), and
only a read-only request: a write, and anything outside a request, reads it at every check."""

import pytest
from django.db import connection
from django.http import HttpResponse
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

import permissions
from feeds.models import Post
from intranet.middleware import ReadOnceMiddleware
from profiles.models import Follow, Profile
from tests.factories import AgencyFactory, PostFactory, UserFactory

pytestmark = pytest.mark.django_db


def profile_reads(queries) -> int:
    return sum('FROM "profiles_profile"' in q["sql"] for q in queries)


def test_inside_a_block_the_agency_is_read_once_and_the_block_forgets_it():
    user = UserFactory()
    first, second = user.profile.agency, AgencyFactory()
    with permissions.agency_read_once():
        with CaptureQueriesContext(connection) as queries:
            assert permissions.agency_id_of(user) == first.pk
            assert permissions.agency_id_of(user) == first.pk
        assert profile_reads(queries) == 1
    Profile.objects.filter(user=user).update(agency=second)
    with CaptureQueriesContext(connection) as queries:  # outside: fresh at every call
        assert permissions.agency_id_of(user) == second.pk
        assert permissions.agency_id_of(user) == second.pk
    assert profile_reads(queries) == 2
    with permissions.agency_read_once():  # a new block reads the agency as it is now
        assert permissions.agency_id_of(user) == second.pk


def test_a_profile_read_in_the_block_serves_the_later_checks():
    user = UserFactory()
    with permissions.agency_read_once():
        permissions.agency_was_read(user, user.profile.agency_id)
        with CaptureQueriesContext(connection) as queries:
            assert permissions.agency_id_of(user) == user.profile.agency_id
        assert profile_reads(queries) == 0
    permissions.agency_was_read(user, None)  # outside a block: remembered nowhere
    assert permissions.agency_id_of(user) == user.profile.agency_id


@pytest.mark.parametrize(("method", "reads"), [("get", 1), ("head", 1), ("post", 2)])
def test_the_middleware_scopes_reads_only(method, reads):
    user = UserFactory()

    def view(request):
        permissions.agency_id_of(user)
        permissions.agency_id_of(user)
        return HttpResponse("ok")

    request = getattr(RequestFactory(), method)("/")
    with CaptureQueriesContext(connection) as queries:
        ReadOnceMiddleware(view)(request)
    assert profile_reads(queries) == reads


def test_the_home_page_reads_the_viewers_profile_once_and_shows_their_agency_posts(client):
    agency = AgencyFactory()
    viewer, colleague = UserFactory(profile__agency=agency), UserFactory(profile__agency=agency)
    outsider = UserFactory()
    PostFactory(author=colleague, audience=Post.Audience.AGENCY, body="Only for our agency")
    PostFactory(author=outsider, audience=Post.Audience.AGENCY, body="Not for you")
    Follow.objects.create(follower=viewer, followee=colleague)
    Follow.objects.create(follower=viewer, followee=outsider)
    client.force_login(viewer)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Only for our agency" in html and "Not for you" not in html
    assert profile_reads(queries) == 1


def test_a_token_request_reads_token_user_and_profile_in_one_query():
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    user = UserFactory()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/feed/home/")
    assert response.status_code == 200, response.content
    sql = [q["sql"] for q in queries]
    assert '"authtoken_token"' in sql[0] and 'JOIN "profiles_profile"' in sql[0], sql
    assert profile_reads(queries) == 0, sql  # no statement of its own for the agency


def test_a_token_of_someone_without_a_profile_signs_in_with_no_agency():
    from rest_framework.authtoken.models import Token

    from intranet.api_authentication import TokenAuthentication

    user = UserFactory()
    Profile.objects.filter(user=user).delete()
    token = Token.objects.create(user=user)
    with permissions.agency_read_once():
        assert TokenAuthentication().authenticate_credentials(token.key) == (user, token)
        with CaptureQueriesContext(connection) as queries:
            assert permissions.agency_id_of(user) is None
        assert profile_reads(queries) == 0
