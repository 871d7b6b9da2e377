"""Write paths for identity: accounts from sign-ins, the directory sync, leavers.

- `provision_from_claims`: the person a verified sign-in names, created or brought up to date.
  An identity is bound to (issuer, subject), never to an email address.
- `sync_entry`, `set_managers`, `deactivate_leaver`: one directory entry at a time, so one bad
  entry never stops a sync (the command in identity/sync.py drives them).

Every write happens in one transaction with its outbox event; a refusal leaves nothing behind.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from outbox.actions import record_event
from profiles.actions import create_staff_member, deactivate_user, ensure_profile
from profiles.models import Agency, Department, Profile

from .claims import Claims
from .conf import DIRECTORY_SOURCE, OIDC, ProviderConfig, normalize_issuer
from .models import DirectoryIdentity

logger = logging.getLogger(__name__)

RESERVED_USERNAMES = {"me", "admin", "api", "accounts", "static", "files"}
# The profile fields an external source may set; each is read-only for the person while a
# source manages it.
PROFILE_FIELDS = (
    "display_name", "job_title", "agency", "department", "manager", "phone", "location",
)  # fmt: skip


# --- refusals -----------------------------------------------------------------------------------


REFUSALS = {
    "issuer_not_allowed": _("Agora does not accept sign-ins from this service."),
    "domain_not_allowed": _(
        "Agora is open to the staff of the participating agencies, and %(email)s is not an "
        "address of one of them."
    ),
    "no_email": _(
        "Your agency account did not give Agora your email address. Ask your agency's IT "
        "service desk to release it to Agora."
    ),
    "email_unverified": _(
        "Your agency account has not confirmed your email address (%(email)s), so Agora cannot "
        "open an account with it. Ask your agency's IT service desk."
    ),
    "email_taken": _(
        "Another Agora account already uses %(email)s. To protect that account, Agora will not "
        "sign you in with this address. Ask your Agora administrator to check your account."
    ),
    "deactivated": _(
        "Your Agora account has been closed. If you think this is a mistake, ask your Agora "
        "administrator."
    ),
    "identity_conflict": _(
        "This agency account is linked to another Agora account than the one expected. Ask "
        "your Agora administrator."
    ),
    "no_subject": _("The sign-in service did not say who you are."),
    "not_supported": _("Agency accounts are linked by your administrator, not from here."),
    "not_configured": _(
        "This sign-in service is not completely set up in Agora. Tell your Agora administrator."
    ),
}


class SignInRefused(Exception):
    """A sign-in that must not go through; `message` is for the person."""

    def __init__(self, code: str, **params):
        self.code = code
        self.params = params
        super().__init__(code)

    @property
    def message(self) -> str:
        return str(REFUSALS[self.code]) % self.params if self.params else str(REFUSALS[self.code])


class EntryError(Exception):
    """A directory entry that cannot be synced; the sync reports it and goes on."""


# --- policy -------------------------------------------------------------------------------------


def issuer_allowed(issuer: str) -> bool:
    """`AGORA_ALLOWED_ISSUERS` empty: every configured provider; else only those listed."""
    allowed = {normalize_issuer(i) for i in getattr(settings, "AGORA_ALLOWED_ISSUERS", [])}
    return not allowed or normalize_issuer(issuer) in allowed


def email_domain_allowed(email: str) -> bool:
    """`AGORA_ALLOWED_EMAIL_DOMAINS` empty: any; an entry `.gov.example` allows subdomains."""
    allowed = [d.strip().lower() for d in getattr(settings, "AGORA_ALLOWED_EMAIL_DOMAINS", [])]
    allowed = [d for d in allowed if d]
    if not allowed:
        return True
    _local, at, domain = (email or "").rpartition("@")
    domain = domain.lower()
    if not at or not domain:
        return False
    for entry in allowed:
        if entry.startswith("."):
            if domain.endswith(entry):
                return True
        elif domain == entry:
            return True
    return False


def _email_owner(email: str, *, exclude_user_id=None):
    User = get_user_model()
    qs = User.objects.filter(email__iexact=email)
    if exclude_user_id is not None:
        qs = qs.exclude(pk=exclude_user_id)
    return qs.first()


# --- shared helpers ----------------------------------------------------------------------------


def _clip(model, name: str, value: str) -> str:
    max_length = model._meta.get_field(name).max_length
    return value[:max_length] if max_length else value


def agency_for(name: str) -> Agency | None:
    """The agency called `name` (or with that short name), created if new."""
    name = (name or "").strip()
    if not name:
        return None
    agency = Agency.objects.filter(Q(name__iexact=name) | Q(short_name__iexact=name)).first()
    if agency is not None:
        return agency
    name = _clip(Agency, "name", name)
    base = slugify(name)[:70] or "agency"
    slug, n = base, 1
    while Agency.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return Agency.objects.create(name=name, slug=slug)


def department_for(agency: Agency | None, path: Iterable[str]) -> Department | None:
    """The department at `path` ("Directorate", "Division", ...) in `agency`, created if new."""
    if agency is None:
        return None
    parent = None
    for raw in path:
        name = _clip(Department, "name", (raw or "").strip())
        if not name:
            continue
        parent, _created = Department.objects.get_or_create(agency=agency, parent=parent, name=name)
    return parent


def unique_username(*candidates: str) -> str:
    """A free handle from the first usable candidate: lowercase letters, digits, . _ -."""
    User = get_user_model()
    base = ""
    for candidate in candidates:
        local = unicodedata.normalize("NFKD", (candidate or "").split("@")[0].lower())
        local = local.encode("ascii", "ignore").decode()  # Zoë -> zoe
        base = re.sub(r"[^a-z0-9._-]+", "", local).strip("._-")[:140]
        if base:
            break
    base = base or "user"
    username, n = base, 1
    while username in RESERVED_USERNAMES or User.objects.filter(username__iexact=username).exists():
        n += 1
        username = f"{base}{n}"
    return username


def _assign(obj, values: dict) -> list[str]:
    """Set the values that differ; returns the names of the fields that changed."""
    changed = []
    for name, value in values.items():
        model_field = obj._meta.get_field(name)
        if model_field.is_relation:
            current = getattr(obj, model_field.attname)
            wanted = value.pk if value is not None else None
        else:
            current = getattr(obj, name)
            wanted = _clip(type(obj), name, value) if isinstance(value, str) else value
        if current != wanted:
            setattr(obj, name, value if model_field.is_relation else wanted)
            changed.append(name)
    return changed


def _drop_department_of_other_agency(profile: Profile, values: dict, locked=()) -> None:
    """Someone who moves to another agency leaves their old department behind."""
    if "agency" not in values or "department" in values or "department" in locked:
        return
    agency = values["agency"]
    if profile.department_id and (agency is None or profile.department.agency_id != agency.pk):
        values["department"] = None


def directory_managed_fields(user) -> set[str]:
    """Profile fields the agency directory keeps for `user` (they win over sign-in claims)."""
    fields: set[str] = set()
    for managed in DirectoryIdentity.objects.filter(
        user=user, kind=DirectoryIdentity.Kind.DIRECTORY, deactivated__isnull=True
    ).values_list("managed_fields", flat=True):
        fields.update(managed or [])
    return fields


# --- sign-in ------------------------------------------------------------------------------------


def _profile_values_from_claims(provider: ProviderConfig, claims: Claims) -> dict:
    values: dict = {}
    full_name = claims.name or " ".join(p for p in (claims.given_name, claims.family_name) if p)
    if full_name:
        values["display_name"] = full_name
    if "job_title" in claims.present:
        values["job_title"] = claims.job_title
    agency = agency_for(claims.agency or provider.agency)
    if agency is not None:
        values["agency"] = agency
        if "department" in claims.present:
            values["department"] = department_for(agency, [claims.department])
    return values


def _acceptable_email(provider: ProviderConfig, claims: Claims, user, keep_stored=False) -> str:
    """The email address to keep for this sign-in, or a refusal.

    A new person needs a verified email of an allowed domain that no other account uses. A
    known person keeps their address when the provider sends an unverified one, or one that
    belongs to a colleague: the sign-in still lands in their own account, never the other.
    """
    email = (claims.email or "").strip().lower()
    verified = claims.email_verified or provider.trust_email
    if user is None:
        if not email:
            raise SignInRefused("no_email")
        if not verified:
            raise SignInRefused("email_unverified", email=email)
        if not email_domain_allowed(email):
            raise SignInRefused("domain_not_allowed", email=email)
        if _email_owner(email) is not None:
            raise SignInRefused("email_taken", email=email)
        return email
    if keep_stored:
        email = ""  # the directory keeps this person's address
    if email and verified and email != (user.email or "").lower():
        if not email_domain_allowed(email):
            raise SignInRefused("domain_not_allowed", email=email)
        if _email_owner(email, exclude_user_id=user.pk) is None:
            return email
        logger.warning(
            "sign-in of user %s: %s sent the email of another account; kept the old one",
            user.pk,
            claims.issuer,
        )
    elif email and not verified and email != (user.email or "").lower():
        logger.warning(
            "sign-in of user %s: %s sent an unverified email; kept the old one",
            user.pk,
            claims.issuer,
        )
    if not email_domain_allowed(user.email):
        raise SignInRefused("domain_not_allowed", email=user.email or "-")
    return user.email


def provision_from_claims(*, provider: ProviderConfig, claims: Claims, linked_user=None):
    """The Agora account of the person a verified sign-in names, created or updated.

    `linked_user` is the account django-allauth found for (provider id, subject), if any; it
    must agree with the (issuer, subject) link. On the first sign-in a person synced from the
    directory is found by the directory's immutable id in the configured claim; anyone else
    gets a new account. An email address never selects an account.
    """
    if not claims.subject:
        raise SignInRefused("no_subject")
    if not issuer_allowed(claims.issuer):
        raise SignInRefused("issuer_not_allowed")
    kind = DirectoryIdentity.Kind.OIDC if provider.kind == OIDC else DirectoryIdentity.Kind.SAML
    issuer = normalize_issuer(claims.issuer)
    with transaction.atomic():
        link = (
            DirectoryIdentity.objects.select_for_update()
            .select_related("user")
            .filter(source=issuer, external_id=claims.subject)
            .first()
        )
        user = link.user if link is not None else None
        if linked_user is not None and (user is None or user.pk != linked_user.pk):
            # allauth's (provider id, sub) names someone this issuer never vouched for: the
            # provider id was pointed at another issuer, or the rows disagree. Refuse.
            raise SignInRefused("identity_conflict")
        if user is None and claims.external_id:
            directory_link = (
                DirectoryIdentity.objects.select_related("user")
                .filter(
                    kind=DirectoryIdentity.Kind.DIRECTORY,
                    source=DIRECTORY_SOURCE,
                    external_id=claims.external_id,
                )
                .first()
            )
            if directory_link is not None:
                user = directory_link.user
        if user is not None and not user.is_active:
            raise SignInRefused("deactivated")
        # The directory keeps the email and names of the people it lists: claims never
        # fight it (the next sync would only change them back).
        in_directory = (
            user is not None
            and DirectoryIdentity.objects.filter(
                user=user, kind=DirectoryIdentity.Kind.DIRECTORY, deactivated__isnull=True
            ).exists()
        )
        email = _acceptable_email(provider, claims, user, keep_stored=in_directory)
        values = _profile_values_from_claims(provider, claims)
        if user is None:
            display_name = values.pop("display_name", "") or email
            profile = create_staff_member(
                username=unique_username(claims.username, email),
                display_name=_clip(Profile, "display_name", display_name),
                email=email,
                **{k: v for k, v in values.items() if k != "display_name"},
            )
            user = profile.user
            _assign(user, {"first_name": claims.given_name, "last_name": claims.family_name})
            user.save(update_fields=["first_name", "last_name"])
            managed = sorted({"display_name", *values} & set(PROFILE_FIELDS))
        else:
            locked = directory_managed_fields(user)
            values = {k: v for k, v in values.items() if k not in locked}
            profile = ensure_profile(user)
            _drop_department_of_other_agency(profile, values, locked)
            changed = _assign(profile, values)
            user_changes = {"email": email}
            if "given_name" in claims.present and not in_directory:
                user_changes["first_name"] = claims.given_name
            if "family_name" in claims.present and not in_directory:
                user_changes["last_name"] = claims.family_name
            user_changed = _assign(user, user_changes)
            if user_changed:
                user.save(update_fields=user_changed)
            if changed:
                profile.save(update_fields=changed)
            if changed or user_changed:
                record_event(topic="profile.updated", object_id=profile.pk)
            managed = sorted(set(values) & set(PROFILE_FIELDS))
        now = timezone.now()
        if link is None:
            DirectoryIdentity.objects.create(
                user=user,
                kind=kind,
                source=issuer,
                external_id=claims.subject,
                provider_id=provider.id,
                managed_fields=managed,
                last_seen=now,
            )
        else:
            link.provider_id = provider.id
            link.managed_fields = managed
            link.last_seen = now
            link.save(update_fields=["provider_id", "managed_fields", "last_seen"])
    return user


# --- the directory ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DirectoryEntry:
    """One person of the directory, already mapped onto Agora's fields."""

    dn: str
    external_id: str
    username: str
    email: str
    display_name: str
    first_name: str = ""
    last_name: str = ""
    job_title: str = ""
    agency: str = ""
    department: tuple[str, ...] = ()
    manager_dn: str = ""
    phone: str = ""
    location: str = ""
    managed_fields: frozenset[str] = field(default_factory=frozenset)


@dataclass
class EntryResult:
    outcome: str  # "created", "updated", "unchanged"
    user_id: int
    changes: list[str] = field(default_factory=list)
    reactivated: bool = False


def sync_entry(
    entry: DirectoryEntry,
    *,
    link: DirectoryIdentity | None = None,
    agency: Agency | None = None,
    department: Department | None = None,
    resolved: bool = False,
) -> EntryResult:
    """Create or update the account of one directory entry (not its manager: `set_manager`).

    `link` is the entry's DirectoryIdentity if the caller already loaded it; with `resolved`,
    `agency` and `department` are the entry's, already found or created by the caller (the
    sync resolves them once for all entries). Raises `EntryError` with a message for the
    summary when the entry cannot be applied; nothing of that entry is written then.
    """
    User = get_user_model()
    managed = entry.managed_fields
    if not resolved:
        agency = agency_for(entry.agency) if "agency" in managed else None
        department = department_for(agency, entry.department) if "department" in managed else None
    with transaction.atomic():
        if link is None:
            link = (
                DirectoryIdentity.objects.select_related("user")
                .filter(source=DIRECTORY_SOURCE, external_id=entry.external_id)
                .first()
            )
        unchanged_email = link is not None and (link.user.email or "").lower() == entry.email
        owner = None
        if not unchanged_email:
            owner = _email_owner(entry.email, exclude_user_id=link.user_id if link else None)
        if owner is not None:
            raise EntryError(
                f"email {entry.email} is already used by the account {owner.get_username()!r}"
            )
        values: dict = {}
        if "display_name" in managed:
            values["display_name"] = entry.display_name
        for name in ("job_title", "phone", "location"):
            if name in managed:
                values[name] = getattr(entry, name)
        if "agency" in managed:
            values["agency"] = agency
        if "department" in managed:
            values["department"] = department
        if link is None:
            if User.objects.filter(username__iexact=entry.username).exists():
                raise EntryError(
                    f"username {entry.username!r} is taken by an account that is not from the "
                    "directory"
                )
            if entry.username.lower() in RESERVED_USERNAMES:
                raise EntryError(f"username {entry.username!r} is reserved")
            profile = create_staff_member(
                username=entry.username,
                email=entry.email,
                **{"display_name": entry.display_name, **values},
            )
            user = profile.user
            _assign(user, {"first_name": entry.first_name, "last_name": entry.last_name})
            user.save(update_fields=["first_name", "last_name"])
            DirectoryIdentity.objects.create(
                user=user,
                kind=DirectoryIdentity.Kind.DIRECTORY,
                source=DIRECTORY_SOURCE,
                external_id=entry.external_id,
                dn=entry.dn[:1000],
                managed_fields=sorted(managed & set(PROFILE_FIELDS)),
                last_seen=timezone.now(),
            )
            return EntryResult("created", user.pk, changes=["created"])

        user = link.user
        try:
            profile = user.profile  # loaded with the link by the sync
        except Profile.DoesNotExist:
            profile = ensure_profile(user)
        user_values = {"email": entry.email, "first_name": entry.first_name}
        user_values["last_name"] = entry.last_name
        if entry.username.lower() != user.get_username().lower():
            taken = User.objects.filter(username__iexact=entry.username).exclude(pk=user.pk)
            if taken.exists() or entry.username.lower() in RESERVED_USERNAMES:
                old = user.get_username()
                raise EntryError(f"cannot rename {old!r}: {entry.username!r} is taken")
            user_values["username"] = entry.username.lower()
        reactivated = False
        if not user.is_active and link.deactivated is not None:
            user.is_active = True
            reactivated = True
        user_changed = _assign(user, user_values)
        if reactivated:
            user_changed.append("is_active")
        _drop_department_of_other_agency(profile, values)
        changed = _assign(profile, values)
        if user_changed:
            user.save(update_fields=user_changed)
        if changed:
            profile.save(update_fields=changed)
        if changed or user_changed:
            record_event(topic="profile.updated", object_id=profile.pk)
        link_values = {
            "dn": entry.dn[:1000],
            "managed_fields": sorted(managed & set(PROFILE_FIELDS)),
            "deactivated": None,
        }
        link_changed = _assign(link, link_values)
        if link_changed:
            link.save(update_fields=link_changed)
    changes = user_changed + changed
    return EntryResult(
        "updated" if changes else "unchanged", user.pk, changes=changes, reactivated=reactivated
    )


def set_manager(*, user_id: int, manager_user_id: int | None) -> bool:
    """Point a person's profile at their manager's; True if it changed."""
    with transaction.atomic():
        profile = Profile.objects.select_for_update().filter(user_id=user_id).first()
        if profile is None:
            return False
        manager = None
        if manager_user_id is not None and manager_user_id != user_id:
            manager = Profile.objects.filter(user_id=manager_user_id).first()
        if _assign(profile, {"manager": manager}):
            profile.save(update_fields=["manager"])
            record_event(topic="profile.updated", object_id=profile.pk)
            return True
    return False


def deactivate_leaver(link: DirectoryIdentity) -> bool:
    """The directory no longer lists this person: close the account, keep their posts.

    True if the account was active. The link remembers that the directory closed it, so the
    person comes back if the directory lists them again.
    """
    with transaction.atomic():
        was_active = link.user.is_active
        if was_active:
            deactivate_user(link.user)
        if link.deactivated is None:
            link.deactivated = timezone.now()
            link.save(update_fields=["deactivated"])
    return was_active


def mark_seen(link_ids: Iterable[int]) -> None:
    """Record that the directory still lists these people (one UPDATE per 1,000)."""
    ids = list(link_ids)
    now = timezone.now()
    for start in range(0, len(ids), 1000):
        DirectoryIdentity.objects.filter(pk__in=ids[start : start + 1000]).update(last_seen=now)
