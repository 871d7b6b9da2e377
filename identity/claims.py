"""What a sign-in says about a person, in Agora's terms, whatever the protocol."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .conf import ProviderConfig


@dataclass(frozen=True)
class Claims:
    """The verified statements of one sign-in.

    `issuer` and `subject` identify the person; everything else describes them. `present`
    names the fields the provider actually sent (a missing claim never clears a field).
    """

    issuer: str
    subject: str
    email: str = ""
    email_verified: bool = False
    name: str = ""
    given_name: str = ""
    family_name: str = ""
    username: str = ""
    agency: str = ""
    department: str = ""
    job_title: str = ""
    external_id: str = ""
    present: frozenset[str] = field(default_factory=frozenset)


def _first(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return value[0] if value else None
    return value


def _text(value: Any) -> str | None:
    value = _first(value)
    if value is None:
        return None
    return str(value).strip()


def parse_bool(value: Any) -> bool:
    value = _first(value)
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in {"true", "1", "yes", "t", "y"}


def claims_from_data(
    *, provider: ProviderConfig, issuer: str, subject: str, data: Mapping[str, Any]
) -> Claims:
    """Map the provider's claims (OIDC) or attributes (SAML) onto Agora's fields."""
    mapping = provider.claims
    values: dict[str, Any] = {}
    present = set()
    for agora_field in (
        "email",
        "name",
        "given_name",
        "family_name",
        "username",
        "agency",
        "department",
        "job_title",
        "external_id",
    ):
        source = mapping.get(agora_field, "")
        if not source or source not in data:
            continue
        text = _text(data[source])
        if text is None:
            continue
        values[agora_field] = text
        present.add(agora_field)
    verified_source = mapping.get("email_verified", "")
    email_verified = bool(verified_source) and parse_bool(data.get(verified_source, False))
    return Claims(
        issuer=issuer,
        subject=subject,
        email_verified=email_verified,
        present=frozenset(present),
        **values,
    )
