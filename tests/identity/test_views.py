"""The sign-in page, the password switch, sign-out, and the read-only directory fields."""

import pytest
from django.core.exceptions import ValidationError

from identity import conf as identity_conf
from identity.models import DirectoryIdentity
from identity.selectors import directory_fields
from profiles.actions import update_profile
from profiles.models import Department
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

ENV = {
    "OIDC_PROVIDERS": "finance,health",
    "OIDC_FINANCE_ISSUER": "https://login.finance.gov.test",
    "OIDC_FINANCE_CLIENT_ID": "agora",
    "OIDC_FINANCE_CLIENT_SECRET": "s",
    "OIDC_FINANCE_LABEL": "Ministry of Finance",
    "OIDC_HEALTH_ISSUER": "https://login.health.gov.test",
    "OIDC_HEALTH_CLIENT_ID": "agora",
    "OIDC_HEALTH_LABEL": "Department of Health",
    "SAML_PROVIDERS": "justice",
    "SAML_JUSTICE_ENTITY_ID": "https://idp.justice.gov.test/metadata",
    "SAML_JUSTICE_METADATA_URL": "https://idp.justice.gov.test/metadata",
    "SAML_JUSTICE_LABEL": "Ministry of Justice",
}


@pytest.fixture
def three_agencies(settings):
    settings.SOCIALACCOUNT_PROVIDERS = identity_conf.socialaccount_providers(
        identity_conf.oidc_providers(ENV), identity_conf.saml_providers(ENV)
    )


def test_the_sign_in_page_lists_every_agency_provider(client, three_agencies):
    page = client.get("/accounts/login/?next=/groups/").content.decode()
    for label, url in [
        ("Ministry of Finance", "/accounts/oidc/finance/login/"),
        ("Department of Health", "/accounts/oidc/health/login/"),
        ("Ministry of Justice", "/accounts/saml/justice/login/"),
    ]:
        assert f"Continue with {label}" in page
        assert f'<form method="post" action="{url}">' in page
    assert 'name="next" value="/groups/"' in page
    assert 'for="id_username">Username' in page  # the demo keeps its password form
    assert ">Sign in</button>" in page


def test_without_providers_the_page_is_the_password_form(client):
    page = client.get("/accounts/login/").content.decode()
    assert "Continue with" not in page
    assert 'for="id_password">Password' in page


def test_a_provider_url_opened_directly_asks_before_signing_in(client, three_agencies):
    response = client.get("/accounts/oidc/finance/login/")
    assert response.status_code == 200
    assert "Sign in with Ministry of Finance" in response.content.decode()


def test_an_unknown_provider_is_404(client, three_agencies):
    assert client.post("/accounts/oidc/nowhere/login/").status_code == 404


def test_password_sign_in_works_while_local_login_is_on(client):
    user = UserFactory()
    response = client.post(
        "/accounts/login/", {"username": user.username, "password": PASSWORD, "next": "/"}
    )
    assert response.status_code == 302


def test_local_login_off_hides_the_form_and_refuses_passwords(client, settings, three_agencies):
    settings.AGORA_LOCAL_LOGIN = False
    user = UserFactory()
    page = client.get("/accounts/login/").content.decode()
    assert "Continue with Ministry of Finance" in page
    assert 'name="password"' not in page
    response = client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 403
    assert not client.login(username=user.username, password=PASSWORD)
    api = client.post("/api/auth/token/", {"username": user.username, "password": PASSWORD})
    assert api.status_code == 400
    admin = client.post(
        "/admin/login/", {"username": user.username, "password": PASSWORD, "next": "/admin/"}
    )
    assert admin.status_code == 200  # the form again, not a session


def test_administrators_may_keep_their_password_when_configured(client, settings):
    settings.AGORA_LOCAL_LOGIN = False
    settings.AGORA_LOCAL_LOGIN_ADMINS = True
    admin = UserFactory(is_staff=True)
    person = UserFactory()
    page = client.get("/accounts/login/").content.decode()
    assert "Administrator sign-in" in page
    refused = client.post("/accounts/login/", {"username": person.username, "password": PASSWORD})
    assert refused.status_code == 200
    assert "switched off for this account" in refused.content.decode()
    accepted = client.post("/accounts/login/", {"username": admin.username, "password": PASSWORD})
    assert accepted.status_code == 302


def test_there_is_no_signup_and_no_account_self_service(client):
    assert client.get("/accounts/signup/").status_code == 404
    assert client.get("/accounts/password/reset/").status_code == 404
    assert client.get("/accounts/email/").status_code == 404


def test_sign_out_is_a_post(client):
    client.force_login(UserFactory())
    assert client.get("/accounts/logout/").status_code == 405
    assert client.post("/accounts/logout/").status_code == 302


# --- what came from the directory is read-only -------------------------------------------------


@pytest.fixture
def synced_person():
    user = UserFactory(username="ana")
    profile = user.profile
    profile.job_title = "Budget analyst"
    profile.department = Department.objects.create(agency=profile.agency, name="Budget")
    profile.save()
    DirectoryIdentity.objects.create(
        user=user,
        kind="directory",
        source="ldap",
        external_id="E1",
        managed_fields=["display_name", "job_title", "department", "agency"],
    )
    return profile


def test_directory_fields_names_what_the_directory_keeps(synced_person):
    assert directory_fields(synced_person) == {"display_name", "job_title", "department", "agency"}
    assert directory_fields(UserFactory().profile) == set()


def test_the_person_cannot_change_directory_fields_but_may_change_the_rest(synced_person):
    user = synced_person.user
    with pytest.raises(ValidationError) as error:
        update_profile(profile=synced_person, actor=user, job_title="Chief of everything")
    assert "job_title" in error.value.message_dict
    other = Department.objects.create(agency=synced_person.agency, name="Tax")
    with pytest.raises(ValidationError):
        update_profile(profile=synced_person, actor=user, department=other)
    # A form that sends the current values back, with a change of the person's own fields:
    update_profile(
        profile=synced_person,
        actor=user,
        display_name=synced_person.display_name,
        job_title="Budget analyst",
        department=synced_person.department,
        bio="Numbers person.",
        location="Lyon",
    )
    synced_person.refresh_from_db()
    assert (synced_person.bio, synced_person.location) == ("Numbers person.", "Lyon")
    assert synced_person.job_title == "Budget analyst"


def test_a_leaver_link_no_longer_locks_fields(synced_person):
    from django.utils import timezone

    DirectoryIdentity.objects.filter(user=synced_person.user).update(deactivated=timezone.now())
    assert directory_fields(synced_person) == set()


def test_the_edit_page_keeps_directory_fields_and_saves_the_rest(client, synced_person):
    """A directory field is shown read-only: a value posted for it anyway is ignored (the
    directory's stays) and the person's own fields are saved."""
    client.force_login(synced_person.user)
    page = client.get("/people/me/edit/").content.decode()
    assert "Kept up to date from your agency directory." in page
    form = {
        "display_name": synced_person.display_name,
        "job_title": "Chief of everything",
        "department": synced_person.department.pk,
        "location": "",
        "bio": "Numbers person.",
        "expertise": "",
        "languages": "",
        "phone": "",
        "manager": "",
        "preferred_language": "",
    }
    saved = client.post("/people/me/edit/", form)
    assert saved.status_code == 302
    synced_person.refresh_from_db()
    assert synced_person.job_title == "Budget analyst"
    assert synced_person.bio == "Numbers person."


def test_an_app_added_by_hand_without_agoras_settings_is_not_offered(client, three_agencies):
    from allauth.socialaccount.models import SocialApp

    SocialApp.objects.create(
        provider="agency_oidc", provider_id="stray", name="Stray", client_id="x", settings={}
    )
    page = client.get("/accounts/login/").content.decode()
    assert "Continue with Stray" not in page
    assert "Continue with Ministry of Finance" in page
