"""A new colleague signs in with their agency account, in a real browser.

A real Agora server (daphne, its own fresh database) is configured, through its environment
variables, for the "Department of Health" provider: the OpenID-certified npm `oidc-provider`
on 127.0.0.1 (tests/identity/servers/node_oidc). The browser is the system's Chromium
(tests/e2e/conftest.py).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.e2e.conftest import ROOT, running_daphne, violations
from tests.identity.servers.fixtures import (  # noqa: F401  (fixtures)
    PASSWORD,
    node_idp,
    sso_agora_port,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def sso_server(tmp_path_factory, node_idp, sso_agora_port):  # noqa: F811
    """Agora on the port the provider knows, with local password login switched off."""
    workdir = tmp_path_factory.mktemp("e2e-sso")
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{workdir / 'sso.sqlite3'}",
        "MEDIA_ROOT": str(workdir / "media"),
        "STATIC_ROOT": str(workdir / "static"),
        "DEBUG": "false",
        "SECRET_KEY": "e2e-sso-only-secret-key-not-for-production-0123456789",
        "OUTBOX_DRAIN_INLINE": "true",
        "AGORA_LOCAL_LOGIN": "false",
        "AGORA_ALLOWED_EMAIL_DOMAINS": "health.gov.test",
        **node_idp.env(),
        "OIDC_PROVIDERS": node_idp.id,
    }
    env.pop("REDIS_URL", None)
    python = sys.executable
    for command in (["migrate", "--noinput", "-v0"], ["collectstatic", "--noinput", "-v0"]):
        subprocess.run([python, "manage.py", *command], cwd=ROOT, env=env, check=True)
    with running_daphne(env, sso_agora_port, workdir) as base_url:
        yield base_url


def test_a_new_colleague_signs_in_with_the_agency_account_and_lands_on_the_home_feed(
    browser,
    sso_server,
    node_idp,  # noqa: F811
    axe_script,
):
    node_idp.add_person(
        "nadia",
        email="nadia.haddad@health.gov.test",
        email_verified=True,
        name="Nadia Haddad",
        given_name="Nadia",
        family_name="Haddad",
        preferred_username="nadia.haddad",
        agency="Department of Health",
        department="Digital Health",
        job_title="Data protection officer",
    )
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        page.goto(f"{sso_server}/accounts/login/")
        assert page.get_by_label("Password").count() == 0  # local login is off here
        assert violations(page, axe_script) == []  # the agency sign-in page, by axe-core
        page.get_by_role("button", name="Continue with Department of Health", exact=True).click()

        page.wait_for_url(f"{node_idp.issuer}/**")
        page.locator("input[name=login]").fill("nadia")
        page.locator("input[name=password]").fill(PASSWORD)
        page.get_by_role("button", name="Sign-in").click()

        page.wait_for_url(f"{sso_server}/")
        assert page.get_by_role("link", name="My profile").is_visible()
        page.get_by_role("link", name="My profile").click()
        page.wait_for_url(f"{sso_server}/people/nadia.haddad/")
        main = page.locator("main")
        assert main.get_by_text("Nadia Haddad").first.is_visible()
        assert main.get_by_text("Data protection officer").first.is_visible()
        assert main.get_by_text("Department of Health").first.is_visible()

        # Signing out of Agora signs out at the provider too, and comes back to Agora.
        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url(f"{node_idp.issuer}/**")
        page.get_by_role("button", name="Yes, sign me out").click()
        page.wait_for_url(f"{sso_server}/accounts/login/**")
        assert page.get_by_role("button", name="Continue with Department of Health").is_visible()
    finally:
        context.close()
