"""Session fixtures: real identity providers and a real directory server, on 127.0.0.1.

- `allauth_idp`: django-allauth's OpenID Connect identity provider as a second Django site
  (tests/identity/servers/allauth_idp), provider id "finance".
- `node_idp`: the OpenID-certified `oidc-provider` npm package (node_oidc/server.mjs),
  provider id "health".
- `saml_idp`: a pysaml2 SAML identity provider (saml_idp.py), provider id "justice".
- `slapd`: a throwaway OpenLDAP server (python-ldap's slapdtest with Debian's slapd).

Each is started once per session. When a server cannot be started (a program is missing),
the tests that need it skip with the reason, except under CI=true, where they fail.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from tests.conftest import skip_or_fail

from .harness import ServerProcess, child_env, free_port, signing_material

SERVERS = Path(__file__).resolve().parent
NODE_DIR = SERVERS / "node_oidc"
AGORA = "http://testserver"  # Django's test client
PASSWORD = "provider-test-password"


def oidc_callback(provider_id: str, base: str = AGORA) -> str:
    return f"{base}/accounts/oidc/{provider_id}/login/callback/"


@dataclass
class OIDCTestProvider:
    """A running OpenID Connect provider and what Agora needs to be configured for it."""

    id: str
    issuer: str
    client_id: str
    client_secret: str
    label: str
    kind: str  # "allauth" or "node"
    subjects: dict[str, str] = field(default_factory=dict)

    def env(self, **extra: str) -> dict[str, str]:
        prefix = f"OIDC_{self.id.upper()}_"
        values = {
            "ISSUER": self.issuer,
            "CLIENT_ID": self.client_id,
            "CLIENT_SECRET": self.client_secret,
            "LABEL": self.label,
            "CLAIMS": "external_id=employee_id",
        }
        values.update(extra)
        return {prefix + key: value for key, value in values.items()}

    def _post(self, path: str, payload: dict | None = None) -> dict:
        response = requests.post(f"{self.issuer}{path}", json=payload or {}, timeout=10)
        response.raise_for_status()
        return response.json()

    def add_person(self, login: str, **claims) -> str:
        """Create (or change) a person at the provider; returns their `sub`."""
        if self.kind == "allauth":
            sub = self._post(f"/control/users/{login}", {"password": PASSWORD, **claims})["sub"]
        else:
            self._post(f"/control/accounts/{login}", claims)
            sub = login
        self.subjects[login] = sub
        return sub

    def change(self, login: str, **claims) -> None:
        if self.kind == "allauth":
            self._post(f"/control/users/{login}", claims)
        else:
            self._post(f"/control/accounts/{login}", claims)

    def tamper(self, **forged) -> None:
        """allauth provider only: forge iss / aud / nonce / userinfo_sub (none: stop)."""
        assert self.kind == "allauth"
        self._post("/control/tamper", forged)

    def expire_codes(self) -> None:
        assert self.kind == "allauth"
        self._post("/control/expire-codes")


@dataclass
class SAMLTestProvider:
    id: str
    base_url: str
    entity_id: str
    sso_url: str
    cert: str
    label: str

    def env(self, **extra: str) -> dict[str, str]:
        prefix = f"SAML_{self.id.upper()}_"
        values = {
            "ENTITY_ID": self.entity_id,
            "SSO_URL": self.sso_url,
            "CERT": self.cert,
            "LABEL": self.label,
            "ATTRIBUTES": "external_id=urn:oid:2.16.840.1.113730.3.1.3",
        }
        values.update(extra)
        return {prefix + key: value for key, value in values.items()}

    def control(self, path: str, payload: dict) -> None:
        requests.post(f"{self.base_url}{path}", json=payload, timeout=10).raise_for_status()


@pytest.fixture(scope="session")
def sso_agora_port() -> int:
    """The port of the browser tests' Agora server, known before the providers start (their
    clients list its callback URLs)."""
    return free_port()


@pytest.fixture(scope="session")
def allauth_idp(tmp_path_factory, sso_agora_port):
    state = tmp_path_factory.mktemp("allauth-idp")
    key, _cert = signing_material(state, "allauth-idp")
    key.rename(state / "signing-key.pem")
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    server = ServerProcess(
        "django-allauth identity provider",
        [sys.executable, "-m", "tests.identity.servers.allauth_idp.serve", str(port)],
        env=child_env(IDP_STATE_DIR=str(state), IDP_ISSUER=issuer),
        log_path=state / "server.log",
        ready_url=f"{issuer}/.well-known/openid-configuration",
    )
    try:
        server.start()
    except RuntimeError as exc:
        skip_or_fail(f"the allauth identity provider could not start: {exc}")
    provider = OIDCTestProvider(
        id="finance",
        issuer=issuer,
        client_id="agora-finance",
        client_secret="finance-client-secret-for-tests-only",
        label="Ministry of Finance",
        kind="allauth",
    )
    login_page = "http://127.0.0.1:{port}/accounts/login/"
    provider._post(
        "/control/clients",
        {
            "client_id": provider.client_id,
            "client_secret": provider.client_secret,
            "redirect_uris": [
                oidc_callback("finance"),
                oidc_callback("finance", f"http://127.0.0.1:{sso_agora_port}"),
            ],
            "post_logout_redirect_uris": [
                f"{AGORA}/accounts/login/",
                login_page.format(port=sso_agora_port),
            ],
        },
    )
    yield provider
    server.stop()


def _node_or_skip() -> str:
    node = shutil.which("node")
    if node is None:
        skip_or_fail("Node.js is not installed (apt-get install nodejs)")
    version = subprocess.run([node, "--version"], capture_output=True, text=True).stdout
    major, minor = (int(part) for part in version.lstrip("v").split(".")[:2])
    if (major, minor) < (20, 19):
        skip_or_fail(f"oidc-provider 9 needs Node.js 20.19 or newer, not {version.strip()}")
    if not (NODE_DIR / "node_modules" / "oidc-provider").is_dir():
        skip_or_fail("the npm oidc-provider is not installed: npm ci --prefix " + str(NODE_DIR))
    return node


@pytest.fixture(scope="session")
def node_idp(tmp_path_factory, sso_agora_port):
    node = _node_or_skip()
    state = tmp_path_factory.mktemp("node-idp")
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    provider = OIDCTestProvider(
        id="health",
        issuer=issuer,
        client_id="agora-health",
        client_secret="health-client-secret-for-tests-only-0123456789",
        label="Department of Health",
        kind="node",
    )
    e2e = f"http://127.0.0.1:{sso_agora_port}"
    clients = [
        {
            "client_id": provider.client_id,
            "client_secret": provider.client_secret,
            "redirect_uris": [oidc_callback("health"), oidc_callback("health", e2e)],
            "post_logout_redirect_uris": [f"{AGORA}/accounts/login/", f"{e2e}/accounts/login/"],
        }
    ]
    server = ServerProcess(
        "oidc-provider (npm)",
        [node, str(NODE_DIR / "server.mjs")],
        env=child_env(PORT=str(port), CLIENTS_JSON=json.dumps(clients), ACCOUNTS_JSON="{}"),
        log_path=state / "server.log",
        ready_url=f"{issuer}/.well-known/openid-configuration",
    )
    try:
        server.start()
    except RuntimeError as exc:
        skip_or_fail(f"the npm oidc-provider could not start: {exc}")
    yield provider
    server.stop()


SAML_PEOPLE = {
    "jude": {
        "password": PASSWORD,
        "uid": "justice-0001",
        "attributes": {
            "uid": "jude.okafor",
            "mail": "jude.okafor@justice.gov.test",
            "givenName": "Jude",
            "sn": "Okafor",
            "displayName": "Jude Okafor",
            "o": "Ministry of Justice",
            "ou": "Courts Service",
            "title": "Court digitisation lead",
            "employeeNumber": "J-0001",
        },
    },
    "rita": {
        "password": PASSWORD,
        "uid": "justice-0002",
        "attributes": {
            "uid": "rita.moreau",
            "mail": "rita.moreau@justice.gov.test",
            "displayName": "Rita Moreau",
            "o": "Ministry of Justice",
            "title": "Legal adviser",
        },
    },
}


@pytest.fixture(scope="session")
def saml_idp(tmp_path_factory, sso_agora_port):
    if shutil.which("xmlsec1") is None:
        skip_or_fail("xmlsec1 is not installed (apt-get install xmlsec1)")
    try:
        import saml2  # noqa: F401
    except ImportError:
        skip_or_fail("pysaml2 is not installed (pip install -e .[test])")
    state = tmp_path_factory.mktemp("saml-idp")
    key, cert = signing_material(state, "saml-idp")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    config = {
        "key_file": str(key),
        "cert_file": str(cert),
        "sp_entity_id": f"{AGORA}/accounts/saml/justice/metadata/",
        "sp_acs_urls": [f"{AGORA}/accounts/saml/justice/acs/"],
        "users": SAML_PEOPLE,
    }
    config_path = state / "config.json"
    config_path.write_text(json.dumps(config))
    server = ServerProcess(
        "pysaml2 identity provider",
        [sys.executable, "-m", "tests.identity.servers.saml_idp", str(port), str(config_path)],
        env=child_env(),
        log_path=state / "server.log",
        ready_url=f"{base}/metadata",
    )
    try:
        server.start()
    except RuntimeError as exc:
        skip_or_fail(f"the SAML identity provider could not start: {exc}")
    yield SAMLTestProvider(
        id="justice",
        base_url=base,
        entity_id=f"{base}/metadata",
        sso_url=f"{base}/sso/redirect",
        cert=cert.read_text(),
        label="Ministry of Justice",
    )
    server.stop()


# --- the directory ------------------------------------------------------------------------------

LDIF_DIR = SERVERS / "ldif"
LDAP_SUFFIX = "dc=agora,dc=test"
LDAP_SERVICE_DN = f"cn=agora-sync,ou=services,{LDAP_SUFFIX}"
LDAP_SERVICE_PASSWORD = "sync-service-password"  # noqa: S105
# A plain search returns at most this many entries (like Active Directory's MaxPageSize):
# only a paged search reads the whole directory.
LDAP_SIZE_LIMIT = 25


def start_directory(rundir: Path):
    """A throwaway OpenLDAP server loaded with ldif/directory.ldif (three agencies, 100
    people, four bad entries); the sync binds as a service account, not as the root DN."""
    try:
        from slapdtest import SlapdObject
    except ImportError:
        skip_or_fail("python-ldap is not installed (pip install -e .[ldap-tests])")
    sbin = shutil.which("slapd") or shutil.which("slapd", path="/usr/sbin:/usr/local/sbin")
    if sbin is None or shutil.which("ldapadd") is None:
        skip_or_fail("OpenLDAP is not installed (apt-get install slapd ldap-utils)")

    class AgoraSlapd(SlapdObject):
        TMPDIR = str(rundir)
        suffix = LDAP_SUFFIX
        root_cn = "admin"
        slapd_loglevel = "none"
        openldap_schema_files = ("core.ldif", "cosine.ldif", "inetorgperson.ldif")

        def gen_config(self):
            n = LDAP_SIZE_LIMIT
            limit = f"size.soft={n} size.hard={n} size.prtotal=unlimited"
            return super().gen_config() + f"olcSizeLimit: {limit}\n"

    server = AgoraSlapd()
    try:
        server.start()
    except (RuntimeError, ValueError) as exc:
        skip_or_fail(f"slapd could not start: {exc}")
    server.ldapadd((LDIF_DIR / "directory.ldif").read_text())
    return server


@pytest.fixture(scope="session")
def slapd():
    """The directory for tests that only read it (started once per session)."""
    # A short folder: slapd's local socket path must fit in 108 bytes.
    with tempfile.TemporaryDirectory(prefix="slapd-") as rundir:
        server = start_directory(Path(rundir))
        yield server
        server.stop()


@pytest.fixture
def slapd_scratch():
    """A directory of its own, for a test that changes entries."""
    with tempfile.TemporaryDirectory(prefix="slapd-") as rundir:
        server = start_directory(Path(rundir))
        yield server
        server.stop()
