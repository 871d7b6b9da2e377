"""Where an account comes from: the agency directory, or an agency's sign-in provider."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class DirectoryIdentity(models.Model):
    """One external identity of a person, bound by an immutable id, never by an email address.

    - `kind=directory`: an entry of the agency directory (`source` is "ldap", `external_id`
      the entry's immutable id: entryUUID, objectGUID or the configured attribute).
    - `kind=oidc` / `kind=saml`: a sign-in identity, bound to the pair (issuer, subject):
      `source` is the OpenID Connect issuer (or the SAML identity provider's entity id) and
      `external_id` the `sub` claim (or the persistent NameID / configured attribute).

    `managed_fields` lists the profile fields this source keeps up to date: the person sees them
    read-only on their profile, and `profiles.actions.update_profile` refuses to change them.
    """

    class Kind(models.TextChoices):
        DIRECTORY = "directory", _("Directory")
        OIDC = "oidc", _("OpenID Connect")
        SAML = "saml", _("SAML")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="directory_identities",
        verbose_name=_("user"),
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    source = models.CharField(_("source"), max_length=255)
    external_id = models.CharField(_("external id"), max_length=255)
    provider_id = models.CharField(
        _("provider"), max_length=40, blank=True, help_text=_("The configured provider's id.")
    )
    dn = models.CharField(_("distinguished name"), max_length=1000, blank=True)
    managed_fields = models.JSONField(_("fields kept up to date"), default=list, blank=True)
    created = models.DateTimeField(_("created"), auto_now_add=True)
    last_seen = models.DateTimeField(_("last seen"), null=True, blank=True)
    deactivated = models.DateTimeField(
        _("deactivated"),
        null=True,
        blank=True,
        help_text=_("Set when the directory no longer lists this person."),
    )

    class Meta:
        verbose_name = _("directory identity")
        verbose_name_plural = _("directory identities")
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"], name="directory_identity_unique_external_id"
            ),
        ]
        indexes = [models.Index(fields=["user", "kind"])]

    def __str__(self) -> str:
        return f"{self.source}:{self.external_id}"
