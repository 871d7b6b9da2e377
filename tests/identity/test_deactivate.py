"""A deactivated person loses everything at once: sessions, API tokens, websockets; their
posts stay, shown as a former colleague's."""

import pytest
from channels.testing import WebsocketCommunicator
from django.contrib.sessions.models import Session
from django.test import Client
from rest_framework.authtoken.models import Token

from feeds.models import Post
from identity.conf import DIRECTORY_SOURCE
from identity.models import DirectoryIdentity
from intranet.asgi import application
from outbox.models import OutboxEvent
from profiles.actions import deactivate_user
from tests.factories import PASSWORD, PostFactory, UserFactory
from tests.realtime.conftest import IN_MEMORY, run


def signed_in_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_deactivation_ends_sessions_and_tokens_and_keeps_posts(settings):
    settings.OUTBOX_DRAIN_INLINE = False
    leaver, colleague = UserFactory(), UserFactory()
    leaver_browser, colleague_browser = signed_in_client(leaver), signed_in_client(colleague)
    Token.objects.create(user=leaver)
    Token.objects.create(user=colleague)
    post = PostFactory(author=leaver, body="Handover notes")

    assert deactivate_user(leaver) is True

    leaver.refresh_from_db()
    assert not leaver.is_active
    assert not Token.objects.filter(user=leaver).exists()
    assert Token.objects.filter(user=colleague).exists()
    sessions = [s.get_decoded().get("_auth_user_id") for s in Session.objects.all()]
    assert str(leaver.pk) not in sessions
    assert str(colleague.pk) in sessions
    assert OutboxEvent.objects.filter(topic="user.deactivated", object_id=leaver.pk).exists()
    # The old browser is signed out; the colleague still reads the leaver's post.
    assert leaver_browser.get("/")["Location"].startswith("/accounts/login/")
    assert Post.objects.filter(pk=post.pk, deleted__isnull=True).exists()
    assert colleague_browser.get(f"/posts/{post.pk}/").status_code == 200
    # Nothing more to do the second time.
    assert deactivate_user(leaver) is False


@pytest.mark.django_db
def test_a_deactivated_person_cannot_sign_in_with_a_password(client):
    user = UserFactory()
    deactivate_user(user)
    assert not client.login(username=user.username, password=PASSWORD)
    response = client.post("/api/auth/token/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 400


@pytest.mark.django_db(transaction=True)
def test_a_deactivated_person_cannot_connect_a_websocket(settings):
    settings.CHANNEL_LAYERS = IN_MEMORY
    user = UserFactory()
    client = signed_in_client(user)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    token = Token.objects.create(user=user)

    def attempt(headers) -> bool:
        async def body():
            communicator = WebsocketCommunicator(application, "/ws/?feed=home", headers=headers)
            connected, _code = await communicator.connect(timeout=3)
            if connected:
                await communicator.disconnect()
            return connected

        return run(body)

    by_session = [(b"cookie", cookie), (b"origin", b"http://localhost")]
    by_token = [(b"authorization", f"Token {token.key}".encode())]
    assert attempt(by_session)  # the test can fail: before, both connect
    assert attempt(by_token)
    deactivate_user(user)
    assert not attempt(by_session)
    assert not attempt(by_token)


@pytest.mark.django_db
def test_a_leaver_of_the_directory_is_marked_and_deactivated():
    from identity.actions import deactivate_leaver

    user = UserFactory()
    link = DirectoryIdentity.objects.create(
        user=user, kind="directory", source=DIRECTORY_SOURCE, external_id="E1"
    )
    assert deactivate_leaver(link) is True
    link.refresh_from_db()
    user.refresh_from_db()
    assert link.deactivated is not None
    assert not user.is_active
    assert deactivate_leaver(link) is False
