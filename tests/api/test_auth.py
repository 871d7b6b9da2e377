"""Signing in to the API: tokens, sessions, and that nothing answers an anonymous caller."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token

from tests.factories import PASSWORD, UserFactory

from .test_url_coverage import api_operations, api_patterns_by_name

pytestmark = pytest.mark.django_db

TOKEN_URL = reverse("api:auth-token")
ME_URL = reverse("api:person-me")


@pytest.mark.api_endpoint("auth-token", "POST", "DELETE")
def test_token_obtain_use_and_revoke(client_for, user):
    """A token is issued for the right password, signs requests in, and dies on revoke."""
    anonymous = client_for()
    response = anonymous.post(TOKEN_URL, {"username": user.username, "password": PASSWORD})
    assert response.status_code == 200, response.content
    key = response.json()["token"]
    assert response.json()["username"] == user.username
    assert Token.objects.get(user=user).key == key

    again = anonymous.post(TOKEN_URL, {"username": user.username, "password": PASSWORD})
    assert again.json()["token"] == key  # one token per person: asking twice gives it again

    anonymous.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    me = anonymous.get(ME_URL)
    assert me.status_code == 200
    assert me.json()["username"] == user.username

    assert anonymous.delete(TOKEN_URL).status_code == 204
    assert not Token.objects.filter(user=user).exists()
    refused = anonymous.get(ME_URL)  # the old token is refused
    assert refused.status_code == 401
    assert refused.json() == {"detail": "Invalid token."}


@pytest.mark.api_wrong_user("auth-token", "POST")
@pytest.mark.parametrize(
    "credentials",
    [
        {"username": "nobody-here", "password": PASSWORD},
        {"username": "{user}", "password": "wrong password"},
        {"username": "{user}"},
        {},
    ],
)
def test_token_refused_for_wrong_credentials(client_for, user, credentials):
    data = {k: v.format(user=user.username) for k, v in credentials.items()}
    response = client_for().post(TOKEN_URL, data)
    assert response.status_code == 400
    assert "token" not in response.json()
    assert not Token.objects.exists()


@pytest.mark.api_wrong_user("auth-token", "POST")
def test_token_refused_for_deactivated_user(client_for):
    leaver = UserFactory(is_active=False)
    response = client_for().post(TOKEN_URL, {"username": leaver.username, "password": PASSWORD})
    assert response.status_code == 400
    assert response.json() == {
        "non_field_errors": ["Unable to sign in with this username and password."]
    }
    assert not Token.objects.filter(user=leaver).exists()


def test_token_unknown_field_is_rejected(client_for, user):
    response = client_for().post(
        TOKEN_URL, {"username": user.username, "password": PASSWORD, "scope": "admin"}
    )
    assert response.status_code == 400
    assert response.json() == {"scope": ["Unknown field."]}


@pytest.mark.api_wrong_user("person-me", "GET")
def test_deactivated_users_token_is_refused(client_for, user):
    """Someone who leaves keeps no access through a token issued before."""
    key = Token.objects.create(user=user).key
    user.is_active = False
    user.save()
    client = client_for()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    response = client.get(ME_URL)
    assert response.status_code == 401
    assert response.json() == {"detail": "User inactive or deleted."}


def test_deactivated_users_session_is_refused(client_for, user):
    user.is_active = False
    user.save()
    assert client_for(user).get(ME_URL).status_code == 403


@pytest.mark.api_wrong_user("auth-token", "DELETE")
def test_revoking_needs_a_signed_in_user(client_for, user):
    Token.objects.create(user=user)
    assert client_for().delete(TOKEN_URL).status_code == 401
    assert Token.objects.filter(user=user).exists()


def test_revoking_only_touches_ones_own_token(client_for, user, other_user):
    Token.objects.create(user=other_user)
    assert client_for(user).delete(TOKEN_URL).status_code == 204
    assert Token.objects.filter(user=other_user).exists()


def test_password_guessing_is_throttled(client_for, user, other_user):
    client = client_for()
    answers = [
        client.post(TOKEN_URL, {"username": user.username, "password": f"guess {n}"}).status_code
        for n in range(11)
    ]
    assert answers[:10] == [400] * 10
    assert answers[10] == 429
    assert not Token.objects.exists()
    # someone else signing in from the same address (a proxy, say) is not locked out
    other = client.post(TOKEN_URL, {"username": other_user.username, "password": PASSWORD})
    assert other.status_code == 200


def _sample_url(name: str) -> str:
    view_name, pattern = PATTERNS[name]
    kwargs = {
        arg: 1 if converter.regex == "[0-9]+" else "x"
        for arg, converter in pattern.pattern.converters.items()
    }
    return reverse(view_name, kwargs=kwargs)


PATTERNS = api_patterns_by_name()


@pytest.mark.parametrize(
    ("name", "method"),
    sorted(op for op in api_operations() if op != ("auth-token", "POST")),
)
def test_anonymous_callers_are_refused_everywhere(client_for, name, method):
    """Every operation but obtaining a token needs a signed-in member of staff."""
    response = client_for().generic(method, _sample_url(name))
    assert response.status_code in (401, 403)
