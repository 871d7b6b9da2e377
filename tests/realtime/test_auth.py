"""Who may open /ws/: the session with one of our origins, or an API token; nobody else.

These go through the whole ASGI application (intranet.asgi), as daphne serves it.
"""

from __future__ import annotations

import pytest
from channels.testing import WebsocketCommunicator
from django.test import Client
from rest_framework.authtoken.models import Token

from intranet.asgi import application
from tests.factories import UserFactory

from .conftest import run

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("in_memory_layer")]


def session_cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


def attempt(headers) -> bool:
    async def body():
        communicator = WebsocketCommunicator(application, "/ws/?feed=home", headers=headers)
        connected, _code = await communicator.connect(timeout=3)
        if connected:
            assert await communicator.receive_json_from(timeout=3) == {"kind": "ready"}
            await communicator.disconnect()
        return connected

    return run(body)


def test_a_session_from_our_own_origin_connects():
    cookie = session_cookie(UserFactory())
    assert attempt([(b"cookie", cookie), (b"origin", b"http://localhost")])


@pytest.mark.parametrize("origin", [b"https://evil.example", None])
def test_a_session_from_another_origin_or_none_is_refused(origin):
    """A cookie rides along whatever page opens the socket: cross-site pages are refused."""
    headers = [(b"cookie", session_cookie(UserFactory()))]
    if origin:
        headers.append((b"origin", origin))
    assert not attempt(headers)


def test_no_session_is_refused():
    assert not attempt([(b"origin", b"http://localhost")])


def test_an_api_token_connects_without_an_origin():
    token = Token.objects.create(user=UserFactory())
    assert attempt([(b"authorization", f"Token {token.key}".encode())])


def test_a_bad_token_or_a_deactivated_owner_is_refused_and_the_cookie_does_not_help():
    user = UserFactory()
    cookie = session_cookie(user)
    assert not attempt(
        [(b"authorization", b"Token nope"), (b"cookie", cookie), (b"origin", b"http://localhost")]
    )
    token = Token.objects.create(user=UserFactory(is_active=False))
    assert not attempt([(b"authorization", f"Token {token.key}".encode())])
    assert not attempt([(b"authorization", b"Bearer something")])
