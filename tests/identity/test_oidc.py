"""OpenID Connect sign-in, driven through the whole flow against two real providers on
127.0.0.1: django-allauth's identity provider ("finance") and the OpenID-certified npm
`oidc-provider` ("health"). Agora runs in-process (Django's test client); the provider's
pages are driven over HTTP like a browser would.
"""

from __future__ import annotations

import itertools
from urllib.parse import urljoin

import pytest
from django.contrib.auth import get_user_model

from identity.conf import DIRECTORY_SOURCE
from identity.models import DirectoryIdentity
from tests.factories import UserFactory
from tests.identity import flows
from tests.identity.servers.harness import ProviderBrowser, free_port, parse_forms

pytestmark = [pytest.mark.integration, pytest.mark.django_db]
User = get_user_model()
_numbers = itertools.count(1)


@pytest.fixture(params=["allauth", "node"])
def provider(request, configure_providers):
    """Each test runs against both providers."""
    test_provider = request.getfixturevalue(
        "allauth_idp" if request.param == "allauth" else "node_idp"
    )
    configure_providers(test_provider)
    return test_provider


@pytest.fixture
def allauth_provider(allauth_idp, configure_providers):
    """The provider that can be told to misbehave (it forgets that at the end of the test)."""
    configure_providers(allauth_idp)
    yield allauth_idp
    allauth_idp.tamper()


def new_person(provider, **claims) -> str:
    """A person at the provider with a fresh login and email; returns the login."""
    login = f"person{next(_numbers)}"
    domain = "finance.gov.test" if provider.id == "finance" else "health.gov.test"
    values = {
        "email": f"{login}@{domain}",
        "email_verified": True,
        "name": f"Person {login}",
        "given_name": "Person",
        "family_name": login.title(),
        "agency": provider.label,
        "department": "Digital Services",
        "job_title": "Service designer",
    }
    values.update(claims)
    provider.add_person(login, **{k: v for k, v in values.items() if v is not None})
    return login


def assert_failed(response, text="Sign-in did not work"):
    assert response.status_code in {400, 401, 403}, response.status_code
    assert text in response.content.decode()


# --- the whole flow ---------------------------------------------------------------------------


def test_sign_in_creates_the_account_and_profile_and_lands_on_the_home_feed(client, provider):
    login = new_person(provider)
    authorize = flows.start(client, provider.id)
    query = flows.query_of(authorize)
    assert authorize.startswith(provider.issuer)
    assert query["response_type"] == "code"
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) >= 43
    assert query["state"] and len(query["nonce"]) >= 32
    assert set(query["scope"].split()) == {"openid", "profile", "email"}

    response = flows.callback(client, flows.at_provider(authorize, login))

    assert response.status_code == 302
    assert response["Location"] == "/"
    user = flows.signed_in_user(client)
    assert user is not None and user.email == f"{login}@{provider.id}.gov.test"
    profile = user.profile
    assert profile.display_name == f"Person {login}"
    assert profile.agency.name == provider.label
    assert profile.department.name == "Digital Services"
    assert profile.job_title == "Service designer"
    link = DirectoryIdentity.objects.get(user=user)
    assert (link.source, link.external_id) == (provider.issuer, provider.subjects[login])
    home = client.get("/")
    assert home.status_code == 200
    assert "My profile" in home.content.decode()


def test_a_later_sign_in_updates_the_profile_and_keeps_the_account(client, provider):
    login = new_person(provider)
    flows.sign_in(client, provider.id, login)
    first = flows.signed_in_user(client)
    client.logout()
    provider.change(login, job_title="Head of Digital", department="Platforms")
    flows.sign_in(client, provider.id, login)
    user = flows.signed_in_user(client)
    assert user == first
    user.profile.refresh_from_db()
    assert (user.profile.job_title, user.profile.department.name) == (
        "Head of Digital",
        "Platforms",
    )
    assert User.objects.filter(email=user.email).count() == 1


def test_next_is_honoured(client, provider):
    login = new_person(provider)
    response = flows.sign_in(client, provider.id, login, next_url="/groups/")
    assert response["Location"] == "/groups/"


# --- what must be refused ---------------------------------------------------------------------


def test_a_tampered_state_is_refused(client, provider):
    login = new_person(provider)
    back = flows.at_provider(flows.start(client, provider.id), login)
    response = flows.callback(client, flows.with_query(back, state="forged-state"))
    assert_failed(response)
    assert flows.signed_in_user(client) is None
    assert not User.objects.exists()


def test_a_callback_cannot_be_replayed(client, provider):
    login = new_person(provider)
    back = flows.at_provider(flows.start(client, provider.id), login)
    assert flows.callback(client, back).status_code == 302
    client.logout()
    assert_failed(flows.callback(client, back))  # its state is spent
    # the code with a fresh state: the provider refuses a code used once
    fresh = flows.query_of(flows.start(client, provider.id))["state"]
    assert_failed(flows.callback(client, flows.with_query(back, state=fresh)))
    assert flows.signed_in_user(client) is None


def test_an_expired_code_is_refused(client, allauth_provider):
    login = new_person(allauth_provider)
    back = flows.at_provider(flows.start(client, allauth_provider.id), login)
    allauth_provider.expire_codes()
    assert_failed(flows.callback(client, back))
    assert not User.objects.exists()


@pytest.mark.parametrize(
    "forged",
    [
        {"nonce": "a-nonce-from-another-sign-in"},
        {"iss": "http://127.0.0.1:9/another-issuer"},
        {"aud": "another-client"},
        {"aud": ["agora-finance", "another-client"]},  # several audiences, no azp
        {"userinfo_sub": "someone-else"},
    ],
    ids=["wrong-nonce", "wrong-issuer", "wrong-audience", "extra-audience", "userinfo-other"],
)
def test_a_forged_id_token_or_userinfo_is_refused(client, allauth_provider, forged):
    """The provider signs these with its real key: only Agora's checks stand in the way."""
    login = new_person(allauth_provider)
    allauth_provider.tamper(**forged)
    response = flows.sign_in(client, allauth_provider.id, login)
    assert_failed(response)
    assert flows.signed_in_user(client) is None
    assert not User.objects.exists()


def test_an_authorization_response_from_another_issuer_is_refused(
    client, node_idp, configure_providers
):
    """RFC 9207: oidc-provider names itself in the response; a mix-up is refused."""
    configure_providers(node_idp)
    login = new_person(node_idp)
    back = flows.at_provider(flows.start(client, node_idp.id), login)
    assert flows.query_of(back)["iss"] == node_idp.issuer
    assert_failed(flows.callback(client, flows.with_query(back, iss="http://127.0.0.1:9")))
    assert not User.objects.exists()


def test_a_changed_email_never_lands_in_a_colleagues_account(client, provider):
    """The flaw of two major networks' advisories: bound by (issuer, sub), never by email."""
    colleague = UserFactory(email=f"colleague@{provider.id}.gov.test")
    login = new_person(provider)
    flows.sign_in(client, provider.id, login)
    person = flows.signed_in_user(client)
    client.logout()

    provider.change(login, email=colleague.email)  # the provider now says: the colleague
    response = flows.sign_in(client, provider.id, login)
    assert response.status_code == 302
    assert flows.signed_in_user(client) == person
    person.refresh_from_db()
    assert person.email != colleague.email
    client.logout()

    # And a new identity claiming the colleague's (verified) address gets nothing at all.
    intruder = new_person(provider, email=colleague.email)
    users = User.objects.count()
    response = flows.sign_in(client, provider.id, intruder)
    assert response.status_code == 403
    assert "Another Agora account already uses" in response.content.decode()
    assert flows.signed_in_user(client) is None
    assert User.objects.count() == users


def test_an_unverified_email_is_refused_to_a_newcomer_and_ignored_for_a_known_person(
    client, provider
):
    colleague = UserFactory(email=f"colleague@{provider.id}.gov.test")
    newcomer = new_person(provider, email=colleague.email, email_verified=False)
    response = flows.sign_in(client, provider.id, newcomer)
    assert response.status_code == 403
    assert "has not confirmed your email address" in response.content.decode()
    assert flows.signed_in_user(client) is None

    login = new_person(provider)
    flows.sign_in(client, provider.id, login)
    person = flows.signed_in_user(client)
    client.logout()
    provider.change(login, email=colleague.email, email_verified=False)
    flows.sign_in(client, provider.id, login)
    assert flows.signed_in_user(client) == person
    person.refresh_from_db()
    assert person.email == f"{login}@{provider.id}.gov.test"


def test_claims_without_an_email_are_refused_with_a_clear_page(client, provider):
    login = new_person(provider, email=None, email_verified=None)
    response = flows.sign_in(client, provider.id, login)
    assert response.status_code == 403
    assert "did not give Agora your email address" in response.content.decode()
    assert not User.objects.exists()


def test_an_email_domain_not_allowed_is_refused(client, provider):
    login = new_person(provider, email="someone@gmail.test")
    response = flows.sign_in(client, provider.id, login)
    assert response.status_code == 403
    assert "someone@gmail.test is not an address of one of them" in response.content.decode()
    assert not User.objects.exists()


def test_an_issuer_not_allowed_is_refused(client, provider, settings):
    settings.AGORA_ALLOWED_ISSUERS = ["https://login.other.gov.test"]
    login = new_person(provider)
    response = flows.sign_in(client, provider.id, login)
    assert response.status_code == 403
    assert "does not accept sign-ins from this service" in response.content.decode()
    assert not User.objects.exists()


def test_a_deactivated_person_is_refused(client, provider):
    from profiles.actions import deactivate_user

    login = new_person(provider)
    flows.sign_in(client, provider.id, login)
    person = flows.signed_in_user(client)
    deactivate_user(person)
    assert flows.signed_in_user(client) is None  # the open session died with the account
    response = flows.sign_in(client, provider.id, login)
    assert response.status_code == 403
    assert "has been closed" in response.content.decode()


def test_a_person_from_the_directory_is_matched_by_the_immutable_id_claim(client, provider):
    person = UserFactory(username="dir.person", email=f"dir.person@{provider.id}.gov.test")
    DirectoryIdentity.objects.create(
        user=person, kind="directory", source=DIRECTORY_SOURCE, external_id="E-4242"
    )
    login = new_person(provider, employee_id="E-4242", email=person.email)
    flows.sign_in(client, provider.id, login)
    assert flows.signed_in_user(client) == person
    assert User.objects.count() == 1


# --- providers that misbehave -----------------------------------------------------------------


def test_a_provider_that_is_down_gives_a_clear_page(client, configure_providers, allauth_idp):
    down = type(allauth_idp)(
        id="down",
        issuer=f"http://127.0.0.1:{free_port()}",
        client_id="agora",
        client_secret="x",
        label="Closed Agency",
        kind="allauth",
    )
    configure_providers(allauth_idp, down)
    response = client.post("/accounts/oidc/down/login/")
    assert_failed(response)
    assert "Closed Agency" in response.content.decode()
    assert client.get("/accounts/login/").status_code == 200  # the other one is still listed


def test_a_provider_error_is_shown_as_a_cancelled_sign_in(client, node_idp, configure_providers):
    """The person cancels at the provider: it answers `error=access_denied`."""
    configure_providers(node_idp)
    browser = ProviderBrowser()
    interaction = browser.session.get(flows.start(client, node_idp.id), allow_redirects=True)
    abort = urljoin(interaction.url, interaction.url.rstrip("/") + "/abort")
    back = abort
    while not back.startswith("http://testserver/"):  # the provider resumes, then answers
        back = urljoin(back, browser.session.get(back, allow_redirects=False).headers["Location"])
    assert flows.query_of(back)["error"] == "access_denied"
    response = flows.callback(client, back)
    assert response.status_code == 302
    page = client.get(response["Location"])
    assert "Sign-in cancelled" in page.content.decode()
    assert not User.objects.exists()


# --- signing out ------------------------------------------------------------------------------


def test_signing_out_also_signs_out_at_the_provider(client, node_idp, configure_providers):
    configure_providers(node_idp)
    login = new_person(node_idp)
    browser = ProviderBrowser()
    flows.sign_in(client, node_idp.id, login, browser=browser)
    assert flows.signed_in_user(client) is not None

    response = client.post("/accounts/logout/")
    end_session = response["Location"]
    assert end_session.startswith(f"{node_idp.issuer}/session/end")
    query = flows.query_of(end_session)
    assert query["post_logout_redirect_uri"] == "http://testserver/accounts/login/"
    assert query["client_id"] == node_idp.client_id
    assert query["id_token_hint"].count(".") == 2
    assert flows.signed_in_user(client) is None

    page = browser.session.get(end_session)
    form = next(f for f in parse_forms(page.text) if "xsrf" in f.fields)
    done = browser.session.post(
        urljoin(page.url, form.action), data={**form.fields, "logout": "yes"}, allow_redirects=False
    )
    assert done.headers["Location"].startswith("http://testserver/accounts/login/")
    # The provider forgot the person: signing in again asks for the password.
    again = browser.session.get(flows.start(client, node_idp.id), allow_redirects=True)
    assert any(f.password_field for f in parse_forms(again.text))


def test_signing_out_of_a_password_session_stays_local(client):
    user = UserFactory()
    client.force_login(user)
    response = client.post("/accounts/logout/")
    assert response["Location"] == "http://testserver/accounts/login/"
    assert flows.signed_in_user(client) is None
