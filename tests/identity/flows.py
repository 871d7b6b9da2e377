"""The sign-in flows as a person's browser runs them: Agora (Django's test client) and the
provider (ProviderBrowser over real HTTP)."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit

from tests.identity.servers.fixtures import AGORA, PASSWORD
from tests.identity.servers.harness import ProviderBrowser


def start(client, provider_id: str, *, next_url: str | None = None) -> str:
    """Press the provider's button on the sign-in page; returns the provider's URL."""
    data = {"next": next_url} if next_url else {}
    response = client.post(f"/accounts/oidc/{provider_id}/login/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    return response["Location"]


def at_provider(
    url: str, login: str, password: str = PASSWORD, browser: ProviderBrowser | None = None
) -> str:
    """Sign in at the provider; returns the callback URL it sends the browser back to."""
    return (browser or ProviderBrowser()).sign_in(url, login, password)


def callback(client, url: str):
    assert url.startswith(AGORA), url
    return client.get(url.removeprefix(AGORA))


def sign_in(
    client,
    provider_id: str,
    login: str,
    *,
    next_url: str | None = None,
    browser: ProviderBrowser | None = None,
):
    """The whole flow; returns Agora's answer to the callback."""
    url = start(client, provider_id, next_url=next_url)
    return callback(client, at_provider(url, login, browser=browser))


def signed_in_user(client):
    """Who Agora thinks the test client is now (None: nobody)."""
    user = client.get("/accounts/login/").wsgi_request.user
    return user if user.is_authenticated else None


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.update(changes)
    return parts._replace(query=urlencode(query)).geturl()


def query_of(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))
