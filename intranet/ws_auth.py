"""Who is on the other end of a websocket: the session (browsers) or an API token (clients).

Browsers authenticate with their session cookie; because a cookie is sent whatever page opens
the socket, those handshakes must come from one of our own origins (ALLOWED_HOSTS) or they
are refused. Other clients send `Authorization: Token <key>` (DRF's authtoken, the key from
`POST /api/auth/token/`) in the handshake: a browser cannot set that header on a websocket,
so no origin check is needed and cookies are ignored on that path. (A query-string token would
end up in access logs; a token in the subprotocol header is a hack.)

Either way the person and their live state (`feeds.selectors.live_state`) are read in ONE
trip to the database thread, so a storm of reconnecting pages costs one database connection
per handshake (bench/live.py measured the difference). The session is checked by Django's own
`django.contrib.auth.get_user`, exactly as for a page.
"""

from __future__ import annotations

from types import SimpleNamespace

from channels.db import database_sync_to_async
from channels.security.websocket import AllowedHostsOriginValidator
from channels.sessions import CookieMiddleware, SessionMiddleware
from django.contrib.auth.models import AnonymousUser


def _with_state(user):
    from feeds.selectors import live_state

    if not (user.is_authenticated and user.is_active):
        return AnonymousUser(), None
    return user, live_state(user=user)


@database_sync_to_async
def _session_user(session):
    from django.contrib.auth import get_user

    return _with_state(get_user(SimpleNamespace(session=session)))


@database_sync_to_async
def _token_user(key: str):
    from rest_framework.authtoken.models import Token

    token = Token.objects.select_related("user").filter(key=key).first()
    return _with_state(token.user if token is not None else AnonymousUser())


def _token_key(scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, key = value.decode("latin-1").partition(" ")
            if scheme.lower() == "token" and key.strip():
                return key.strip()
            return ""  # an Authorization header we do not understand: nobody
    return None


class _SessionAuth:
    """scope["user"] and scope["live_state"] from the session (after channels' session
    middleware has put it in the scope)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        user, state = await _session_user(scope["session"])
        return await self.app(dict(scope, user=user, live_state=state), receive, send)


class TokenAuthMiddleware:
    """scope["user"] and scope["live_state"] from `Authorization: Token <key>` (else nobody)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        key = _token_key(scope)
        user, state = await _token_user(key) if key else (AnonymousUser(), None)
        return await self.app(dict(scope, user=user, live_state=state), receive, send)


class SessionOrTokenAuth:
    """Route a handshake through token auth if it carries a token, else through the session
    (with the origin check)."""

    def __init__(self, app):
        self.token = TokenAuthMiddleware(app)
        self.session = AllowedHostsOriginValidator(
            CookieMiddleware(SessionMiddleware(_SessionAuth(app)))
        )

    async def __call__(self, scope, receive, send):
        if _token_key(scope) is not None:
            return await self.token(scope, receive, send)
        return await self.session(scope, receive, send)
