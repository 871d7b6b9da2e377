"""Read people from the agency directory over LDAP (ldap3, pure Python), page by page.

A paged search (RFC 2696) reads the whole directory whatever the server's size limit (Active
Directory answers at most 1,000 entries to a plain search; OpenLDAP's default is 500). Every
failure becomes a `DirectoryError` with a sentence for the operator; nothing here writes.
"""

from __future__ import annotations

import math
import ssl
import uuid
from collections.abc import Iterator

from .conf import DirectoryConfig


class DirectoryError(Exception):
    """The directory cannot be read: unreachable, refused the bind, timed out, bad search."""


RawEntry = tuple[str, dict[str, list[str]]]


def decode(value: bytes | str) -> str:
    """Text as text; a binary 16-byte id (Active Directory's objectGUID) as a UUID string."""
    if isinstance(value, str):
        return value
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        if len(value) == 16:
            return str(uuid.UUID(bytes_le=value))
        return value.hex()


def search_people(config: DirectoryConfig) -> Iterator[RawEntry]:
    """Yield (dn, {attribute name in lowercase: [values]}) for every entry the filter finds."""
    import ldap3
    from ldap3.core import exceptions as ldap_errors

    if not config.configured:
        raise DirectoryError("LDAP_URL and LDAP_BASE_DN are not set")
    tls = None
    if config.url.lower().startswith("ldaps://") or config.start_tls:
        tls = ldap3.Tls(
            validate=ssl.CERT_REQUIRED, ca_certs_file=config.ca_file or None, version=None
        )
    url = config.url.rstrip("/")  # ldap3 wants scheme://host:port, without the DN's slash
    try:
        server = ldap3.Server(url, connect_timeout=config.timeout, get_info=ldap3.NONE, tls=tls)
    except (ldap_errors.LDAPException, ValueError) as exc:
        raise DirectoryError(f"LDAP_URL {config.url!r} is not an ldap:// or ldaps:// URL") from exc
    connection = ldap3.Connection(
        server,
        user=config.bind_dn or None,
        password=config.bind_password or None,
        receive_timeout=max(1, math.ceil(config.timeout)),  # ldap3 packs it as an integer
        raise_exceptions=True,
        read_only=True,
        auto_referrals=False,
    )
    who = config.bind_dn or "anonymous"
    try:
        connection.open()
        if config.start_tls:
            connection.start_tls()
        connection.bind()
    except ldap_errors.LDAPInvalidCredentialsResult as exc:
        raise DirectoryError(
            f"the directory refused the bind as {who}: invalid credentials"
        ) from exc
    except (ldap_errors.LDAPSocketReceiveError, ldap_errors.LDAPResponseTimeoutError) as exc:
        raise DirectoryError(
            f"the directory at {config.url} did not answer within {config.timeout:g} s"
        ) from exc
    except ldap_errors.LDAPSocketOpenError as exc:
        raise DirectoryError(f"cannot reach the directory at {config.url}: {exc}") from exc
    except ldap_errors.LDAPException as exc:
        raise DirectoryError(f"the directory refused the connection as {who}: {exc}") from exc

    attributes = sorted({name for name in config.attributes.values() if name})
    count = 0
    try:
        pages = connection.extend.standard.paged_search(
            search_base=config.base_dn,
            search_filter=config.filter,
            search_scope=ldap3.SUBTREE,
            attributes=attributes,
            paged_size=config.page_size,
            generator=True,
        )
        for item in pages:
            if item.get("type") != "searchResEntry":
                continue
            count += 1
            raw = item.get("raw_attributes") or {}
            yield (
                item["dn"],
                {name.lower(): [decode(v) for v in values] for name, values in raw.items()},
            )
    except (ldap_errors.LDAPSocketReceiveError, ldap_errors.LDAPResponseTimeoutError) as exc:
        raise DirectoryError(
            f"the directory stopped answering after {count} entries (timeout {config.timeout:g} s)"
        ) from exc
    except ldap_errors.LDAPException as exc:
        raise DirectoryError(f"the search failed after {count} entries: {exc}") from exc
    finally:
        try:
            connection.unbind()
        except ldap_errors.LDAPException:
            pass
