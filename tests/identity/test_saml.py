"""SAML sign-in against a real SAML identity provider (pysaml2, signing with xmlsec1) on
127.0.0.1, through django-allauth's SAML provider (python3-saml)."""

from __future__ import annotations

import base64

import pytest
from django.contrib.auth import get_user_model

from identity.models import DirectoryIdentity
from tests.identity import flows
from tests.identity.servers.fixtures import PASSWORD
from tests.identity.servers.harness import ProviderBrowser

pytestmark = [pytest.mark.integration, pytest.mark.django_db]
User = get_user_model()


@pytest.fixture
def saml(client, saml_idp, configure_providers):
    configure_providers(saml_idp)
    client.defaults["HTTP_HOST"] = "testserver"  # browsers always send Host; python3-saml needs it
    yield saml_idp
    saml_idp.control("/control/mode", {"sign": True})


def assertion_from_provider(client, login: str) -> dict[str, str]:
    """Press the button, sign in at the provider: the form it would auto-post to Agora."""
    response = client.post("/accounts/saml/justice/login/")
    assert response.status_code == 302
    posted = ProviderBrowser().post_saml_login(response["Location"], login, PASSWORD)
    assert posted.pop("action") == "http://testserver/accounts/saml/justice/acs/"
    return posted


def post_to_agora(client, form: dict[str, str]):
    response = client.post("/accounts/saml/justice/acs/", form)
    assert response.status_code == 302  # allauth moves on to finish the sign-in
    return client.get(response["Location"])


def test_saml_sign_in_creates_the_account_from_the_attributes(client, saml):
    response = post_to_agora(client, assertion_from_provider(client, "jude"))
    assert response.status_code == 302
    assert response["Location"] == "/"
    user = flows.signed_in_user(client)
    assert user.username == "jude.okafor"
    assert user.email == "jude.okafor@justice.gov.test"
    profile = user.profile
    assert profile.display_name == "Jude Okafor"
    assert profile.agency.name == "Ministry of Justice"
    assert profile.department.name == "Courts Service"
    assert profile.job_title == "Court digitisation lead"
    link = DirectoryIdentity.objects.get(user=user)
    assert (link.kind, link.source, link.external_id) == ("saml", saml.entity_id, "justice-0001")
    assert client.get("/").status_code == 200


def test_an_unsigned_response_is_rejected(client, saml):
    saml.control("/control/mode", {"sign": False})
    response = post_to_agora(client, assertion_from_provider(client, "jude"))
    assert response.status_code == 401
    assert "Sign-in did not work" in response.content.decode()
    assert flows.signed_in_user(client) is None
    assert not User.objects.exists()


def test_a_tampered_assertion_is_rejected(client, saml):
    """Someone edits the signed assertion (another email): the signature no longer holds."""
    form = assertion_from_provider(client, "rita")
    xml = base64.b64decode(form["SAMLResponse"]).decode()
    assert "rita.moreau@justice.gov.test" in xml
    form["SAMLResponse"] = base64.b64encode(
        xml.replace("rita.moreau@justice.gov.test", "jude.okafor@justice.gov.test").encode()
    ).decode()
    response = post_to_agora(client, form)
    assert response.status_code == 401
    assert flows.signed_in_user(client) is None
    assert not User.objects.exists()


def test_a_response_cannot_be_replayed(client, saml):
    form = assertion_from_provider(client, "rita")
    assert post_to_agora(client, form)["Location"] == "/"
    client.logout()
    response = post_to_agora(client, form)
    assert response.status_code in {401, 403}
    assert flows.signed_in_user(client) is None
