"""The directory sync: read every person from LDAP, then apply them one entry at a time.

1. Read the whole directory first (paged). If the directory cannot be read completely,
   nothing is changed: a half-read directory must never turn the unread half into leavers.
2. Check each entry (missing attributes, invalid values) and the batch (two entries with
   one email, username or id): bad entries are reported and skipped, never half-applied.
3. Apply the good entries: create or update accounts and profiles (`actions.sync_entry`),
   each in its own savepoint, committed every `CHUNK` entries.
4. Point everyone at their manager (`actions.set_manager`), once all accounts exist.
5. Deactivate leavers: directory accounts the directory no longer lists. A run that would
   deactivate more than `max_leaver_fraction` of them (or that read no entry at all) refuses
   to, and says so, unless told to with `allow_mass_leavers`.

A dry run does all of it inside one transaction that is rolled back: it reports exactly what
a real run would do, and changes nothing.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import DatabaseError, transaction

from profiles.models import Agency, Department, Profile

from . import actions
from .conf import DIRECTORY_SOURCE, DirectoryConfig
from .ldap import RawEntry, search_people
from .models import DirectoryIdentity

CHUNK = 500
USERNAME = re.compile(r"^[a-z0-9._@+-]{1,150}$")


@dataclass
class SyncReport:
    dry_run: bool = False
    read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    reactivated: int = 0
    deactivated: int = 0
    managers_changed: int = 0
    agencies_created: int = 0
    departments_created: int = 0
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        verb = "would be" if self.dry_run else "were"
        lines = [
            f"Directory sync{' (dry run: nothing was changed)' if self.dry_run else ''}:",
            f"  {self.read} entries read",
            f"  {self.created} accounts {verb} created, {self.updated} updated, "
            f"{self.unchanged} unchanged",
            f"  {self.reactivated} {verb} reactivated, {self.deactivated} {verb} deactivated "
            "(leavers)",
            f"  {self.managers_changed} managers {verb} set",
            f"  {self.agencies_created} agencies and {self.departments_created} departments "
            f"{verb} created",
            f"  {len(self.errors)} entries skipped because of errors",
        ]
        if self.errors:
            lines.append("Errors:")
            lines.extend(f"  - {error}" for error in self.errors)
        if self.warnings:
            lines.append("Warnings:")
            lines.extend(f"  - {warning}" for warning in self.warnings)
        return "\n".join(lines)


class _Rollback(Exception):
    pass


# --- reading entries ----------------------------------------------------------------------------


def parse_entry(dn: str, attributes: dict[str, list[str]], config: DirectoryConfig):
    """A DirectoryEntry from raw LDAP attributes, or `actions.EntryError` saying what is wrong."""
    mapping = config.attributes

    def get(agora_field: str) -> str:
        name = mapping.get(agora_field, "")
        values = attributes.get(name.lower(), []) if name else []
        return values[0].strip() if values else ""

    def mapped(agora_field: str) -> bool:
        return bool(mapping.get(agora_field))

    external_id = get("external_id")
    if not external_id:
        raise actions.EntryError(f"no {mapping.get('external_id')} (the immutable id)")
    username = get("username").lower()
    if not username:
        raise actions.EntryError(f"no {mapping.get('username')} (the username)")
    if not USERNAME.match(username):
        raise actions.EntryError(f"username {username!r} has characters Agora cannot use")
    email = get("email").lower()
    if not email:
        raise actions.EntryError(f"no {mapping.get('email')} (the email address)")
    try:
        validate_email(email)
    except ValidationError:
        raise actions.EntryError(f"{email!r} is not an email address") from None
    first_name, last_name = get("given_name"), get("family_name")
    name = get("name") or get("full_name") or " ".join(p for p in (first_name, last_name) if p)
    if not name:
        raise actions.EntryError("no name (displayName, cn, or givenName and sn)")
    department = get("department")
    if config.department_separator and department:
        path = tuple(p.strip() for p in department.split(config.department_separator))
    else:
        path = (department,) if department else ()
    managed = {"display_name"}
    managed.update(
        agora_field
        for agora_field in ("job_title", "agency", "department", "manager", "phone", "location")
        if mapped(agora_field)
    )
    if "department" in managed and "agency" not in managed:
        managed.discard("department")  # a department only exists within an agency
    return actions.DirectoryEntry(
        dn=dn,
        external_id=external_id,
        username=username,
        email=email,
        display_name=name,
        first_name=first_name,
        last_name=last_name,
        job_title=get("job_title"),
        agency=get("agency"),
        department=tuple(p for p in path if p),
        manager_dn=get("manager"),
        phone=get("phone"),
        location=get("location"),
        managed_fields=frozenset(managed),
    )


def _check_batch(entries, report: SyncReport):
    """Drop every entry that shares an id, email or username with another one."""
    bad: set[int] = set()
    for label, key in (
        ("id", lambda e: e.external_id),
        ("email", lambda e: e.email),
        ("username", lambda e: e.username),
    ):
        counts = Counter(key(entry) for entry in entries)
        for index, entry in enumerate(entries):
            if counts[key(entry)] > 1:
                if index not in bad:
                    report.errors.append(
                        f"{entry.dn}: {label} {key(entry)!r} is also used by another entry"
                    )
                bad.add(index)
    return [entry for index, entry in enumerate(entries) if index not in bad]


# --- the run ------------------------------------------------------------------------------------


def run(
    config: DirectoryConfig,
    *,
    dry_run: bool = False,
    allow_mass_leavers: bool = False,
    search: Callable[[DirectoryConfig], Iterable[RawEntry]] = search_people,
) -> SyncReport:
    """Sync the directory; raises `ldap.DirectoryError` (and changes nothing) if unreadable."""
    raw_entries = list(search(config))  # all of it, or nothing happens
    report = SyncReport(dry_run=dry_run, read=len(raw_entries))
    entries = []
    seen_ids: set[str] = set()
    for dn, attributes in raw_entries:
        try:
            entry = parse_entry(dn, attributes, config)
        except actions.EntryError as exc:
            report.errors.append(f"{dn}: {exc}")
            external_id = attributes.get(config.attributes.get("external_id", "").lower())
            if external_id:
                seen_ids.add(external_id[0].strip())
            continue
        seen_ids.add(entry.external_id)
        entries.append(entry)
    entries = _check_batch(entries, report)
    if not dry_run:
        _apply(entries, seen_ids, report, config, allow_mass_leavers)
        return report
    try:
        with transaction.atomic():
            _apply(entries, seen_ids, report, config, allow_mass_leavers)
            raise _Rollback
    except _Rollback:
        pass
    return report


def _apply(entries, seen_ids, report: SyncReport, config, allow_mass_leavers: bool) -> None:
    would = "would " if report.dry_run else ""
    agencies_before = Agency.objects.count()
    departments_before = Department.objects.count()
    links = {
        link.external_id: link
        for link in DirectoryIdentity.objects.filter(
            kind=DirectoryIdentity.Kind.DIRECTORY, source=DIRECTORY_SOURCE
        ).select_related("user", "user__profile")
    }
    resolved = _resolve_places(entries)
    dn_to_user: dict[str, int] = {}
    synced: list[tuple[actions.DirectoryEntry, int]] = []
    seen_links: list[int] = []
    for start in range(0, len(entries), CHUNK):
        with transaction.atomic():
            for entry in entries[start : start + CHUNK]:
                agency, department = resolved.get(entry, (None, None))
                try:
                    result = actions.sync_entry(
                        entry,
                        link=links.get(entry.external_id),
                        agency=agency,
                        department=department,
                        resolved=True,
                    )
                except (actions.EntryError, ValidationError, DatabaseError) as exc:
                    report.errors.append(f"{entry.dn}: {exc}")
                    continue
                dn_to_user[entry.dn.lower()] = result.user_id
                synced.append((entry, result.user_id))
                if entry.external_id in links:
                    seen_links.append(links[entry.external_id].pk)
                if result.outcome == "created":
                    report.created += 1
                    report.changes.append(f"{would}create {entry.username} ({entry.display_name})")
                elif result.outcome == "updated":
                    report.updated += 1
                    fields = ", ".join(result.changes)
                    report.changes.append(f"{would}update {entry.username}: {fields}")
                else:
                    report.unchanged += 1
                if result.reactivated:
                    report.reactivated += 1
                    report.changes.append(f"{would}reactivate {entry.username}")
    _set_managers(synced, dn_to_user, report, would)
    _deactivate_leavers(links, seen_ids, report, config, allow_mass_leavers, would)
    if not report.dry_run:
        actions.mark_seen(seen_links)
    report.agencies_created = Agency.objects.count() - agencies_before
    report.departments_created = Department.objects.count() - departments_before


def _resolve_places(entries) -> dict:
    """Find or create each agency and department once, before any account is touched."""
    agencies: dict[str, Agency | None] = {}
    departments: dict[tuple, Department | None] = {}
    resolved = {}
    with transaction.atomic():
        for entry in entries:
            agency = None
            if "agency" in entry.managed_fields and entry.agency:
                key = entry.agency.casefold()
                if key not in agencies:
                    agencies[key] = actions.agency_for(entry.agency)
                agency = agencies[key]
            department = None
            if "department" in entry.managed_fields and agency is not None and entry.department:
                key = (agency.pk, tuple(p.casefold() for p in entry.department))
                if key not in departments:
                    departments[key] = actions.department_for(agency, entry.department)
                department = departments[key]
            resolved[entry] = (agency, department)
    return resolved


def _set_managers(synced, dn_to_user: dict[str, int], report: SyncReport, would: str) -> None:
    user_ids = [user_id for entry, user_id in synced if "manager" in entry.managed_fields]
    current: dict[int, int | None] = {}  # user id -> their manager's user id, read in bulk
    for start in range(0, len(user_ids), 1000):
        current.update(
            Profile.objects.filter(user_id__in=user_ids[start : start + 1000]).values_list(
                "user_id", "manager__user_id"
            )
        )
    for start in range(0, len(synced), CHUNK):
        with transaction.atomic():  # one commit per chunk, not per person
            for entry, user_id in synced[start : start + CHUNK]:
                _set_manager(entry, user_id, current, dn_to_user, report, would)


def _set_manager(entry, user_id, current, dn_to_user, report: SyncReport, would: str) -> None:
    if "manager" not in entry.managed_fields:
        return
    manager_id = None
    if entry.manager_dn:
        manager_id = dn_to_user.get(entry.manager_dn.lower())
        if manager_id is None:
            report.warnings.append(
                f"{entry.dn}: manager {entry.manager_dn} is not a synced person; "
                "manager left as it was"
            )
            return
    if manager_id == user_id:
        manager_id = None
    if current.get(user_id) == manager_id:
        return
    if actions.set_manager(user_id=user_id, manager_user_id=manager_id):
        report.managers_changed += 1
        report.changes.append(f"{would}set the manager of {entry.username}")


def _deactivate_leavers(links, seen_ids, report, config, allow_mass_leavers, would) -> None:
    active = [link for link in links.values() if link.deactivated is None and link.user.is_active]
    leavers = [link for link in active if link.external_id not in seen_ids]
    if not leavers:
        return
    limit = max(10, int(config.max_leaver_fraction * len(active)))
    if not allow_mass_leavers and (not seen_ids or len(leavers) > limit):
        report.warnings.append(
            f"{len(leavers)} of {len(active)} directory accounts are no longer listed: more "
            f"than the {config.max_leaver_fraction:.0%} a sync deactivates on its own (a wrong "
            "base DN or filter?). Nobody was deactivated; check, then run with "
            "--allow-mass-leavers."
        )
        return
    for link in leavers:
        if actions.deactivate_leaver(link):
            report.deactivated += 1
            report.changes.append(f"{would}deactivate {link.user.get_username()} (left)")
