"""`manage.py sync_directory`: bring accounts and profiles in line with the agency directory.

Reads LDAP_* settings (see README). Idempotent: a second run with an unchanged directory
changes nothing. `--dry-run` prints what would change and changes nothing. Ends with a
summary; a bad entry is reported there and skipped, never half-applied. Exits with status 1
(and changes nothing) when the directory cannot be read: unreachable, bind refused, timeout.
"""

from dataclasses import replace

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from identity import sync
from identity.ldap import DirectoryError


class Command(BaseCommand):
    help = "Create, update and deactivate accounts from the agency directory (LDAP)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="Print what would change; change nothing."
        )
        parser.add_argument(
            "--allow-mass-leavers",
            action="store_true",
            help="Deactivate leavers even when they are more than LDAP_MAX_LEAVER_FRACTION.",
        )
        parser.add_argument(
            "--page-size", type=int, default=None, help="Entries per LDAP page (LDAP_PAGE_SIZE)."
        )

    def handle(self, *args, dry_run=False, allow_mass_leavers=False, page_size=None, **options):
        config = settings.LDAP_DIRECTORY
        if page_size:
            config = replace(config, page_size=page_size)
        if not config.configured:
            raise CommandError("No directory configured: set LDAP_URL and LDAP_BASE_DN.")
        try:
            report = sync.run(config, dry_run=dry_run, allow_mass_leavers=allow_mass_leavers)
        except DirectoryError as exc:
            raise CommandError(f"Nothing was changed: {exc}") from exc
        if dry_run or options["verbosity"] >= 2:
            for change in report.changes:
                self.stdout.write(change)
        self.stdout.write(report.summary())
