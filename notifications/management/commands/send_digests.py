"""Send each person one daily email with the notifications they missed (idempotent).

Run it hourly (docker-compose's `digests` service does): before NOTIFICATIONS_DIGEST_HOUR it
only retries what failed earlier; from that hour on it sends the day's digests, one per person
per day, however often it runs. An interrupted run resumes where it stopped.
"""

from django.core.management.base import BaseCommand

from notifications.emails import run_digests


class Command(BaseCommand):
    help = "Send today's notification digests (one per person per day; safe to re-run)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--force",
            action="store_true",
            help="Send now even before NOTIFICATIONS_DIGEST_HOUR.",
        )

    def handle(self, *args, force: bool = False, **options):
        report = run_digests(force=force)
        if report.too_early:
            self.stdout.write("Too early for today's digests (see NOTIFICATIONS_DIGEST_HOUR).")
        self.stdout.write(
            f"Digests sent: {report.sent}, resumed: {report.resumed}, failed: {report.failed}; "
            f"immediate emails retried: {report.immediate_retried}"
        )
        if report.failed:
            self.stderr.write("Some digests failed; they are retried on the next run.")
