"""provision_from_claims: who a verified sign-in lands on, and what it may change.

No server here: the claims are what identity.adapters extracts after the protocol checks
(tests/identity/test_oidc.py and test_saml.py drive those against real providers).
"""

import pytest
from django.contrib.auth import get_user_model

from identity import actions
from identity.claims import Claims
from identity.conf import DIRECTORY_SOURCE, OIDC, ProviderConfig
from identity.models import DirectoryIdentity
from outbox.models import OutboxEvent
from profiles.models import Agency, Department
from tests.factories import AgencyFactory, UserFactory

User = get_user_model()
ISSUER = "https://login.finance.gov.test"
PROVIDER = ProviderConfig(id="finance", kind=OIDC, label="Ministry of Finance", issuer=ISSUER)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _allowed_domains(settings):
    settings.AGORA_ALLOWED_EMAIL_DOMAINS = ["finance.gov.test", ".health.gov.test"]
    settings.AGORA_ALLOWED_ISSUERS = []


def claims(subject="sub-1", **values) -> Claims:
    base = {
        "email": "ana.lopez@finance.gov.test",
        "email_verified": True,
        "name": "Ana Lopez",
        "given_name": "Ana",
        "family_name": "Lopez",
        "agency": "Ministry of Finance",
        "department": "Budget",
        "job_title": "Budget analyst",
    }
    base.update(values)
    present = {k for k, v in base.items() if v is not None and k != "email_verified"}
    base = {k: v for k, v in base.items() if v is not None}
    return Claims(
        issuer=base.pop("issuer", ISSUER), subject=subject, present=frozenset(present), **base
    )


def provision(value: Claims, provider=PROVIDER, **kwargs):
    return actions.provision_from_claims(provider=provider, claims=value, **kwargs)


def refused(value: Claims, provider=PROVIDER, **kwargs) -> str:
    with pytest.raises(actions.SignInRefused) as info:
        provision(value, provider, **kwargs)
    assert info.value.message  # a sentence for the person
    return info.value.code


def test_first_sign_in_creates_the_account_and_profile_from_the_claims():
    user = provision(claims())
    profile = user.profile
    assert user.email == "ana.lopez@finance.gov.test"
    assert (user.first_name, user.last_name) == ("Ana", "Lopez")
    assert not user.has_usable_password()
    assert profile.display_name == "Ana Lopez"
    assert profile.job_title == "Budget analyst"
    assert profile.agency.name == "Ministry of Finance"
    assert profile.department.name == "Budget"
    assert profile.department.agency == profile.agency
    link = DirectoryIdentity.objects.get(user=user)
    assert (link.kind, link.source, link.external_id) == ("oidc", ISSUER, "sub-1")
    assert set(link.managed_fields) == {"display_name", "job_title", "agency", "department"}
    assert OutboxEvent.objects.filter(topic="profile.updated", object_id=profile.pk).exists()


def test_later_sign_ins_update_the_profile_and_only_write_when_something_changed():
    user = provision(claims())
    events = OutboxEvent.objects.count()
    assert provision(claims()) == user
    assert OutboxEvent.objects.count() == events  # nothing changed, nothing written
    provision(claims(job_title="Head of Budget", department="Forecasting"))
    user.profile.refresh_from_db()
    assert user.profile.job_title == "Head of Budget"
    assert user.profile.department.name == "Forecasting"
    assert OutboxEvent.objects.count() == events + 1


def test_moving_agency_leaves_the_old_department_behind():
    user = provision(claims())
    provision(claims(agency="Department of Health", department=None))
    user.profile.refresh_from_db()
    assert user.profile.agency.name == "Department of Health"
    assert user.profile.department is None


def test_an_agency_is_found_by_its_name_or_short_name_never_duplicated():
    agency = AgencyFactory(name="Ministry of Finance", short_name="MoF", slug="mof")
    assert provision(claims(agency="mof")).profile.agency == agency
    assert Agency.objects.count() == 1


def test_the_provider_agency_applies_when_no_claim_names_one():
    provider = ProviderConfig(
        id="finance", kind=OIDC, label="MoF", issuer=ISSUER, agency="Ministry of Finance"
    )
    user = provision(claims(agency=None, department=None), provider)
    assert user.profile.agency.name == "Ministry of Finance"


def test_the_same_subject_from_another_issuer_is_another_person():
    ana = provision(claims())
    other = provision(claims(issuer="https://login.health.gov.test", email="x@a.health.gov.test"))
    assert other != ana
    assert DirectoryIdentity.objects.filter(external_id="sub-1").count() == 2


def test_a_new_identity_with_a_colleagues_email_is_refused_and_creates_nothing():
    UserFactory(email="ana.lopez@finance.gov.test")
    users = User.objects.count()
    assert refused(claims(subject="attacker")) == "email_taken"
    assert User.objects.count() == users
    assert not DirectoryIdentity.objects.exists()


def test_a_known_person_whose_provider_sends_a_colleagues_email_stays_in_their_own_account():
    colleague = UserFactory(email="bob@finance.gov.test")
    ana = provision(claims())
    assert provision(claims(email="bob@finance.gov.test")) == ana
    ana.refresh_from_db()
    colleague.refresh_from_db()
    assert ana.email == "ana.lopez@finance.gov.test"  # kept, never the colleague's
    assert colleague.email == "bob@finance.gov.test"


def test_unverified_email_refuses_a_new_person_and_is_ignored_for_a_known_one():
    assert refused(claims(email_verified=False)) == "email_unverified"
    assert not User.objects.exists()
    ana = provision(claims())
    assert provision(claims(email="ana.new@finance.gov.test", email_verified=False)) == ana
    ana.refresh_from_db()
    assert ana.email == "ana.lopez@finance.gov.test"


def test_a_verified_new_email_of_an_allowed_domain_is_taken():
    ana = provision(claims())
    provision(claims(email="ana.lopez-martin@finance.gov.test"))
    ana.refresh_from_db()
    assert ana.email == "ana.lopez-martin@finance.gov.test"


def test_a_provider_trusted_for_emails_needs_no_email_verified_claim():
    trusted = ProviderConfig(id="x", kind=OIDC, label="X", issuer=ISSUER, trust_email=True)
    assert provision(claims(email_verified=False), trusted).email == "ana.lopez@finance.gov.test"


def test_no_email_is_refused():
    assert refused(claims(email=None)) == "no_email"


@pytest.mark.parametrize(
    ("email", "allowed"),
    [
        ("a@finance.gov.test", True),
        ("a@FINANCE.gov.test", True),
        ("a@evil-finance.gov.test", False),
        ("a@finance.gov.test.evil", False),
        ("a@labs.health.gov.test", True),  # ".health.gov.test" allows subdomains
        ("a@health.gov.test", False),
        ("a@gmail.test", False),
    ],
)
def test_email_domains(email, allowed):
    assert actions.email_domain_allowed(email) is allowed


def test_an_email_of_another_domain_is_refused(settings):
    assert refused(claims(email="ana@gmail.test")) == "domain_not_allowed"
    settings.AGORA_ALLOWED_EMAIL_DOMAINS = []
    assert provision(claims(email="ana@gmail.test")).email == "ana@gmail.test"


def test_a_known_person_moved_to_a_domain_not_allowed_is_refused():
    provision(claims())
    assert refused(claims(email="ana@gmail.test")) == "domain_not_allowed"


def test_issuers_not_listed_are_refused_when_a_list_is_set(settings):
    settings.AGORA_ALLOWED_ISSUERS = ["https://login.health.gov.test/"]
    assert refused(claims()) == "issuer_not_allowed"
    settings.AGORA_ALLOWED_ISSUERS = [ISSUER + "/"]  # a trailing slash is the same issuer
    assert provision(claims())


def test_a_deactivated_person_is_refused():
    user = provision(claims())
    user.is_active = False
    user.save()
    assert refused(claims()) == "deactivated"


def test_allauth_and_the_issuer_link_must_agree():
    ana = provision(claims())
    other = UserFactory()
    assert refused(claims(), linked_user=other) == "identity_conflict"
    # allauth knows (provider id, sub) but this issuer never vouched for it
    assert refused(claims(subject="sub-2"), linked_user=ana) == "identity_conflict"
    assert provision(claims(), linked_user=ana) == ana


def test_a_person_from_the_directory_is_found_by_the_immutable_id_claim():
    agency = AgencyFactory(name="Ministry of Finance")
    department = Department.objects.create(agency=agency, name="Tax Policy")
    person = UserFactory(
        username="ana.l", email="ana.lopez@finance.gov.test", profile__agency=agency
    )
    person.profile.department = department
    person.profile.job_title = "Tax inspector"
    person.profile.save()
    DirectoryIdentity.objects.create(
        user=person,
        kind="directory",
        source=DIRECTORY_SOURCE,
        external_id="E00042",
        managed_fields=["display_name", "job_title", "agency", "department"],
    )
    user = provision(claims(external_id="E00042", email="ana.new@finance.gov.test"))
    assert user == person
    person.refresh_from_db()
    assert person.email == "ana.lopez@finance.gov.test"  # the directory keeps the address
    person.profile.refresh_from_db()
    assert person.profile.job_title == "Tax inspector"  # the directory wins over claims
    assert person.profile.department == department
    assert DirectoryIdentity.objects.filter(user=person, kind="oidc").exists()


def test_an_unknown_immutable_id_does_not_match_anyone_by_email():
    UserFactory(email="ana.lopez@finance.gov.test")
    assert refused(claims(external_id="E99999")) == "email_taken"


def test_usernames_are_unique_handles_and_never_reserved_words():
    UserFactory(username="ana")
    assert actions.unique_username("Ana@finance.gov.test") == "ana2"
    assert actions.unique_username("me") == "me2"
    assert actions.unique_username("", "Zoë O'Brien") == "zoeobrien"
    assert actions.unique_username("", "") == "user"
    user = provision(claims(username="ana"))
    assert user.username == "ana2"
