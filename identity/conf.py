"""Agencies' sign-in providers and the directory, read from the environment.

`intranet/settings.py` calls `oidc_providers(os.environ)`, `saml_providers(os.environ)` and
`directory(os.environ)`, then `socialaccount_providers(...)` turns the providers into
django-allauth's `SOCIALACCOUNT_PROVIDERS` "APPS". Everything Agora needs to know about a
provider at sign-in time travels with the allauth app, in `app.settings["agora"]`, so there is
one source of truth; `provider_config(app)` reads it back.

The functions here are pure: they read a mapping and return plain data. Nothing is contacted.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

OIDC = "oidc"
SAML = "saml"
ALLAUTH_OIDC_PROVIDER = "agency_oidc"  # identity.oidc.provider.AgencyOIDCProvider.id
ALLAUTH_SAML_PROVIDER = "saml"
DIRECTORY_SOURCE = "ldap"  # DirectoryIdentity.source of people synced from the directory

_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}

# Agora field -> OpenID Connect claim. "external_id" names the claim carrying the directory's
# immutable id (empty: people are never matched to directory entries at sign-in).
OIDC_DEFAULT_CLAIMS = {
    "email": "email",
    "email_verified": "email_verified",
    "name": "name",
    "given_name": "given_name",
    "family_name": "family_name",
    "username": "preferred_username",
    "agency": "agency",
    "department": "department",
    "job_title": "job_title",
    "external_id": "",
}
# Agora field -> SAML attribute (the usual LDAP OIDs). "uid" empty: the persistent NameID.
SAML_DEFAULT_ATTRIBUTES = {
    "uid": "",
    "email": "urn:oid:0.9.2342.19200300.100.1.3",
    "email_verified": "",
    "name": "urn:oid:2.16.840.1.113730.3.1.241",
    "given_name": "urn:oid:2.5.4.42",
    "family_name": "urn:oid:2.5.4.4",
    "username": "urn:oid:0.9.2342.19200300.100.1.1",
    "agency": "urn:oid:2.5.4.10",
    "department": "urn:oid:2.5.4.11",
    "job_title": "urn:oid:2.5.4.12",
    "external_id": "",
}
# Agora field -> LDAP attribute, for an OpenLDAP inetOrgPerson directory. Active Directory:
# external_id=objectGUID,username=sAMAccountName,agency=company.
LDAP_DEFAULT_ATTRIBUTES = {
    "external_id": "entryUUID",
    "username": "uid",
    "email": "mail",
    "name": "displayName",
    "given_name": "givenName",
    "family_name": "sn",
    "full_name": "cn",
    "job_title": "title",
    "agency": "o",
    "department": "ou",
    "manager": "manager",
    "phone": "telephoneNumber",
    "location": "l",
}


@dataclass(frozen=True)
class ProviderConfig:
    """What Agora needs to know about one agency's sign-in provider."""

    id: str
    kind: str  # OIDC or SAML
    label: str
    issuer: str  # the OpenID Connect issuer, or the SAML identity provider's entity id
    agency: str = ""  # the agency of people from this provider when no claim names one
    claims: Mapping[str, str] = field(default_factory=dict)
    trust_email: bool = False  # treat emails as verified without an email_verified claim
    logout: bool = True  # RP-initiated logout at the provider when Agora signs someone out

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "kind": self.kind,
            "label": self.label,
            "issuer": self.issuer,
            "agency": self.agency,
            "claims": dict(self.claims),
            "trust_email": self.trust_email,
            "logout": self.logout,
        }


@dataclass(frozen=True)
class DirectoryConfig:
    """Where `manage.py sync_directory` reads people from."""

    url: str = ""
    bind_dn: str = ""
    bind_password: str = ""
    base_dn: str = ""
    filter: str = "(objectClass=inetOrgPerson)"
    attributes: Mapping[str, str] = field(default_factory=lambda: dict(LDAP_DEFAULT_ATTRIBUTES))
    page_size: int = 500
    timeout: float = 10.0
    start_tls: bool = False
    ca_file: str = ""
    department_separator: str = ""
    max_leaver_fraction: float = 0.2

    @property
    def configured(self) -> bool:
        return bool(self.url and self.base_dn)


# --- reading the environment -------------------------------------------------------------------


def _bool(environ: Mapping[str, str], name: str, default: bool) -> bool:
    raw = environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}")


def _list(raw: str | None) -> list[str]:
    return [part.strip() for part in (raw or "").split(",") if part.strip()]


def parse_mapping(raw: str | None, *, name: str, allowed: Mapping[str, str]) -> dict[str, str]:
    """`"agency=o, department=ou"` -> `{"agency": "o", "department": "ou"}` over the defaults."""
    mapping = dict(allowed)
    for part in _list(raw):
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or key not in allowed:
            known = ", ".join(sorted(allowed))
            raise ImproperlyConfigured(f"{name}: {part!r} is not field=name (fields: {known})")
        mapping[key] = value.strip()
    return mapping


def _ids(environ: Mapping[str, str], name: str) -> list[str]:
    ids = [value.lower() for value in _list(environ.get(name))]
    for provider_id in ids:
        if not _ID.match(provider_id):
            raise ImproperlyConfigured(
                f"{name}: {provider_id!r} must be lowercase letters, digits and hyphens"
            )
    if len(set(ids)) != len(ids):
        raise ImproperlyConfigured(f"{name} names a provider twice")
    if ALLAUTH_SAML_PROVIDER in ids:
        raise ImproperlyConfigured(
            f"{name}: {ALLAUTH_SAML_PROVIDER!r} is reserved, pick another id"
        )
    return ids


def _prefix(kind: str, provider_id: str) -> str:
    return f"{kind.upper()}_{provider_id.upper().replace('-', '_')}_"


def _required(environ: Mapping[str, str], name: str) -> str:
    value = (environ.get(name) or "").strip()
    if not value:
        raise ImproperlyConfigured(f"{name} is required")
    return value


def _pem(value: str) -> str:
    """A certificate given inline or as the path of a PEM file."""
    value = value.strip()
    if value and "-----BEGIN" not in value and Path(value).is_file():
        value = Path(value).read_text()
    return value


def oidc_providers(environ: Mapping[str, str]) -> list[dict]:
    """`OIDC_PROVIDERS=finance,health` and `OIDC_FINANCE_ISSUER`, `..._CLIENT_ID`, ..."""
    providers = []
    for provider_id in _ids(environ, "OIDC_PROVIDERS"):
        p = _prefix(OIDC, provider_id)
        issuer = _required(environ, p + "ISSUER").rstrip("/")
        if not issuer.startswith(("https://", "http://")):
            raise ImproperlyConfigured(f"{p}ISSUER must be an http(s) URL")
        config = ProviderConfig(
            id=provider_id,
            kind=OIDC,
            label=environ.get(p + "LABEL", "").strip() or provider_id,
            issuer=issuer,
            agency=environ.get(p + "AGENCY", "").strip(),
            claims=parse_mapping(
                environ.get(p + "CLAIMS"), name=p + "CLAIMS", allowed=OIDC_DEFAULT_CLAIMS
            ),
            trust_email=_bool(environ, p + "TRUST_EMAIL", False),
            logout=_bool(environ, p + "LOGOUT", True),
        )
        providers.append(
            {
                **config.as_dict(),
                "client_id": _required(environ, p + "CLIENT_ID"),
                "client_secret": environ.get(p + "CLIENT_SECRET", ""),
                "scopes": (environ.get(p + "SCOPES") or "openid profile email")
                .replace(",", " ")
                .split(),
                "token_auth_method": environ.get(p + "TOKEN_AUTH_METHOD", "").strip(),
            }
        )
    return providers


def saml_providers(environ: Mapping[str, str]) -> list[dict]:
    """`SAML_PROVIDERS=justice` and `SAML_JUSTICE_ENTITY_ID`, `..._SSO_URL`, `..._CERT`, ..."""
    providers = []
    for provider_id in _ids(environ, "SAML_PROVIDERS"):
        p = _prefix(SAML, provider_id)
        entity_id = _required(environ, p + "ENTITY_ID")
        metadata_url = environ.get(p + "METADATA_URL", "").strip()
        sso_url = environ.get(p + "SSO_URL", "").strip()
        cert = _pem(environ.get(p + "CERT", ""))
        if not metadata_url and not (sso_url and cert):
            raise ImproperlyConfigured(f"{p}METADATA_URL, or {p}SSO_URL and {p}CERT, are required")
        config = ProviderConfig(
            id=provider_id,
            kind=SAML,
            label=environ.get(p + "LABEL", "").strip() or provider_id,
            issuer=entity_id,
            agency=environ.get(p + "AGENCY", "").strip(),
            claims=parse_mapping(
                environ.get(p + "ATTRIBUTES"),
                name=p + "ATTRIBUTES",
                allowed=SAML_DEFAULT_ATTRIBUTES,
            ),
            trust_email=_bool(environ, p + "TRUST_EMAIL", True),
            logout=False,
        )
        providers.append(
            {
                **config.as_dict(),
                "metadata_url": metadata_url,
                "sso_url": sso_url,
                "slo_url": environ.get(p + "SLO_URL", "").strip(),
                "cert": cert,
                "sp_entity_id": environ.get(p + "SP_ENTITY_ID", "").strip(),
            }
        )
    return providers


def directory(environ: Mapping[str, str]) -> DirectoryConfig:
    """`LDAP_URL`, `LDAP_BASE_DN`, `LDAP_FILTER`, `LDAP_ATTRIBUTES`, ... (unset: no directory)."""
    defaults = DirectoryConfig()
    try:
        page_size = int(environ.get("LDAP_PAGE_SIZE") or defaults.page_size)
        timeout = float(environ.get("LDAP_TIMEOUT") or defaults.timeout)
        max_leavers = float(environ.get("LDAP_MAX_LEAVER_FRACTION") or defaults.max_leaver_fraction)
    except ValueError as exc:
        raise ImproperlyConfigured(f"LDAP_PAGE_SIZE, LDAP_TIMEOUT: {exc}") from exc
    if page_size < 1 or timeout <= 0 or not 0 <= max_leavers <= 1:
        raise ImproperlyConfigured("LDAP_PAGE_SIZE, LDAP_TIMEOUT or LDAP_MAX_LEAVER_FRACTION")
    return DirectoryConfig(
        url=environ.get("LDAP_URL", "").strip(),
        bind_dn=environ.get("LDAP_BIND_DN", "").strip(),
        bind_password=environ.get("LDAP_BIND_PASSWORD", ""),
        base_dn=environ.get("LDAP_BASE_DN", "").strip(),
        filter=environ.get("LDAP_FILTER", "").strip() or defaults.filter,
        attributes=parse_mapping(
            environ.get("LDAP_ATTRIBUTES"), name="LDAP_ATTRIBUTES", allowed=LDAP_DEFAULT_ATTRIBUTES
        ),
        page_size=page_size,
        timeout=timeout,
        start_tls=_bool(environ, "LDAP_START_TLS", False),
        ca_file=environ.get("LDAP_CA_FILE", "").strip(),
        department_separator=environ.get("LDAP_DEPARTMENT_SEPARATOR", ""),
        max_leaver_fraction=max_leavers,
    )


# --- allauth ------------------------------------------------------------------------------------


def socialaccount_providers(oidc: list[dict], saml: list[dict]) -> dict:
    """django-allauth's `SOCIALACCOUNT_PROVIDERS`, one app per agency provider."""
    ids = [p["id"] for p in oidc] + [p["id"] for p in saml]
    if len(set(ids)) != len(ids):
        raise ImproperlyConfigured("OIDC_PROVIDERS and SAML_PROVIDERS must not share an id")
    result: dict = {}
    oidc_apps = []
    for p in oidc:
        app_settings = {
            "server_url": p["issuer"],
            "oauth_pkce_enabled": True,
            "scope": p["scopes"],
            "agora": _agora(p),
        }
        if p["token_auth_method"]:
            app_settings["token_auth_method"] = p["token_auth_method"]
        oidc_apps.append(
            {
                "provider_id": p["id"],
                "name": p["label"],
                "client_id": p["client_id"],
                "secret": p["client_secret"],
                "settings": app_settings,
            }
        )
    if oidc_apps:
        result[ALLAUTH_OIDC_PROVIDER] = {"APPS": oidc_apps}
    saml_apps = []
    for p in saml:
        claims = p["claims"]
        idp: dict = {"entity_id": p["issuer"]}
        if p["metadata_url"]:
            idp["metadata_url"] = p["metadata_url"]
        else:
            idp.update({"sso_url": p["sso_url"], "x509cert": p["cert"]})
            if p["slo_url"]:
                idp["slo_url"] = p["slo_url"]
        mapping = {
            "uid": claims["uid"],
            "email": claims["email"],
            "email_verified": claims["email_verified"],
            "first_name": claims["given_name"],
            "last_name": claims["family_name"],
            "username": claims["username"],
        }
        app_settings = {
            "idp": idp,
            "attribute_mapping": {key: [value] for key, value in mapping.items() if value},
            "advanced": {
                "strict": True,
                "want_assertion_signed": True,
                "want_message_signed": False,
                "reject_idp_initiated_sso": True,
                "allow_single_label_domains": True,
            },
            "agora": _agora(p),
        }
        if p["sp_entity_id"]:
            app_settings["sp"] = {"entity_id": p["sp_entity_id"]}
        saml_apps.append(
            {
                "provider_id": p["id"],
                "name": p["label"],
                "client_id": p["id"],
                "settings": app_settings,
            }
        )
    if saml_apps:
        result[ALLAUTH_SAML_PROVIDER] = {"APPS": saml_apps}
    return result


def _agora(provider: dict) -> dict:
    keys = ("id", "kind", "label", "issuer", "agency", "claims", "trust_email", "logout")
    return {key: provider[key] for key in keys}


def provider_config(app) -> ProviderConfig:
    """The Agora side of an allauth app (a SocialApp built from SOCIALACCOUNT_PROVIDERS)."""
    data = (app.settings or {}).get("agora")
    if not data:
        raise ImproperlyConfigured(
            f"The sign-in app {app.provider_id or app.client_id!r} was not configured through "
            "OIDC_PROVIDERS or SAML_PROVIDERS"
        )
    return ProviderConfig(**{**data, "claims": dict(data.get("claims") or {})})


def normalize_issuer(issuer: str) -> str:
    return (issuer or "").strip().rstrip("/")
