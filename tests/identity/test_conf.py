"""Agencies configure their providers and directory through environment variables."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from identity import conf

ROOT = Path(__file__).resolve().parents[2]

FINANCE = {
    "OIDC_PROVIDERS": "finance, health-dept",
    "OIDC_FINANCE_ISSUER": "https://login.finance.gov.test/",
    "OIDC_FINANCE_CLIENT_ID": "agora",
    "OIDC_FINANCE_CLIENT_SECRET": "secret",
    "OIDC_FINANCE_LABEL": "Ministry of Finance",
    "OIDC_FINANCE_AGENCY": "Ministry of Finance",
    "OIDC_FINANCE_CLAIMS": "agency=org, job_title=title, external_id=employee_id",
    "OIDC_HEALTH_DEPT_ISSUER": "https://login.health.gov.test",
    "OIDC_HEALTH_DEPT_CLIENT_ID": "agora-health",
    "OIDC_HEALTH_DEPT_SCOPES": "openid email profile agency",
    "OIDC_HEALTH_DEPT_TRUST_EMAIL": "true",
}


def test_several_oidc_providers_from_the_environment():
    finance, health = conf.oidc_providers(FINANCE)
    assert finance["id"] == "finance"
    assert finance["issuer"] == "https://login.finance.gov.test"
    assert finance["label"] == "Ministry of Finance"
    assert finance["claims"]["agency"] == "org"
    assert finance["claims"]["job_title"] == "title"
    assert finance["claims"]["external_id"] == "employee_id"
    assert finance["claims"]["email"] == "email"  # defaults stay
    assert finance["trust_email"] is False
    assert health["id"] == "health-dept"
    assert health["label"] == "health-dept"
    assert health["scopes"] == ["openid", "email", "profile", "agency"]
    assert health["trust_email"] is True


def test_allauth_apps_use_pkce_and_carry_agoras_settings():
    providers = conf.socialaccount_providers(conf.oidc_providers(FINANCE), [])
    apps = providers["agency_oidc"]["APPS"]
    assert [app["provider_id"] for app in apps] == ["finance", "health-dept"]
    finance = apps[0]
    assert finance["client_id"] == "agora"
    assert finance["secret"] == "secret"
    assert finance["settings"]["server_url"] == "https://login.finance.gov.test"
    assert finance["settings"]["oauth_pkce_enabled"] is True
    assert finance["settings"]["agora"]["agency"] == "Ministry of Finance"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"OIDC_PROVIDERS": "finance"}, "OIDC_FINANCE_ISSUER is required"),
        (
            {"OIDC_PROVIDERS": "finance", "OIDC_FINANCE_ISSUER": "https://x"},
            "OIDC_FINANCE_CLIENT_ID is required",
        ),
        ({"OIDC_PROVIDERS": "Finance_1"}, "lowercase letters"),
        ({"OIDC_PROVIDERS": "a,a"}, "twice"),
        (
            {
                "OIDC_PROVIDERS": "a",
                "OIDC_A_ISSUER": "https://x",
                "OIDC_A_CLIENT_ID": "c",
                "OIDC_A_CLAIMS": "colour=blue",
            },
            "is not field=name",
        ),
        (
            {"OIDC_PROVIDERS": "a", "OIDC_A_ISSUER": "ftp://x", "OIDC_A_CLIENT_ID": "c"},
            r"http\(s\) URL",
        ),
        (
            {
                "OIDC_PROVIDERS": "a",
                "OIDC_A_ISSUER": "https://x",
                "OIDC_A_CLIENT_ID": "c",
                "OIDC_A_TRUST_EMAIL": "maybe",
            },
            "true or false",
        ),
    ],
)
def test_mistakes_are_reported_at_start(env, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        conf.oidc_providers(env)


def test_saml_providers_need_metadata_or_an_sso_url_and_certificate(tmp_path):
    base = {"SAML_PROVIDERS": "justice", "SAML_JUSTICE_ENTITY_ID": "https://idp/metadata"}
    with pytest.raises(ImproperlyConfigured, match="METADATA_URL"):
        conf.saml_providers(base)
    cert = tmp_path / "idp.crt"
    cert.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    (justice,) = conf.saml_providers(
        {**base, "SAML_JUSTICE_SSO_URL": "https://idp/sso", "SAML_JUSTICE_CERT": str(cert)}
    )
    assert justice["cert"].startswith("-----BEGIN CERTIFICATE-----")
    assert justice["trust_email"] is True
    app = conf.socialaccount_providers([], [justice])["saml"]["APPS"][0]
    assert app["client_id"] == "justice"
    assert app["settings"]["advanced"]["want_assertion_signed"] is True
    assert app["settings"]["advanced"]["reject_idp_initiated_sso"] is True
    assert app["settings"]["idp"]["x509cert"].startswith("-----BEGIN")


def test_oidc_and_saml_ids_must_differ():
    oidc = conf.oidc_providers(
        {"OIDC_PROVIDERS": "x", "OIDC_X_ISSUER": "https://x", "OIDC_X_CLIENT_ID": "c"}
    )
    saml = conf.saml_providers(
        {"SAML_PROVIDERS": "x", "SAML_X_ENTITY_ID": "e", "SAML_X_METADATA_URL": "https://m"}
    )
    with pytest.raises(ImproperlyConfigured, match="must not share an id"):
        conf.socialaccount_providers(oidc, saml)


def test_the_directory_from_the_environment():
    directory = conf.directory(
        {
            "LDAP_URL": "ldaps://ldap.gov.test",
            "LDAP_BASE_DN": "ou=people,dc=gov,dc=test",
            "LDAP_ATTRIBUTES": "external_id=objectGUID,username=sAMAccountName,agency=company",
            "LDAP_PAGE_SIZE": "1000",
        }
    )
    assert directory.configured
    assert directory.attributes["external_id"] == "objectGUID"
    assert directory.attributes["email"] == "mail"
    assert directory.page_size == 1000
    assert not conf.directory({}).configured
    with pytest.raises(ImproperlyConfigured):
        conf.directory({"LDAP_PAGE_SIZE": "0"})


def test_the_settings_module_reads_the_variables():
    """The real settings module, in a fresh process, with an agency's variables."""
    code = (
        "import json, django; django.setup(); from django.conf import settings as s;"
        "print(json.dumps([s.SOCIALACCOUNT_PROVIDERS['agency_oidc']['APPS'][0]['provider_id'],"
        " s.AGORA_LOCAL_LOGIN, s.AGORA_ALLOWED_EMAIL_DOMAINS, s.LDAP_DIRECTORY.base_dn]))"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "intranet.settings",
        "SECRET_KEY": "test-only-key-for-settings-parsing-0123456789",
        "DATABASE_URL": "sqlite:///:memory:",
        "AGORA_LOCAL_LOGIN": "false",
        "AGORA_ALLOWED_EMAIL_DOMAINS": "finance.gov.test,health.gov.test",
        "LDAP_URL": "ldap://127.0.0.1:389",
        "LDAP_BASE_DN": "dc=gov,dc=test",
        **FINANCE,
    }
    output = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(output.strip().splitlines()[-1]) == [
        "finance",
        False,
        ["finance.gov.test", "health.gov.test"],
        "dc=gov,dc=test",
    ]
