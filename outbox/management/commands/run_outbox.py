import time

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from outbox.worker import drain


class Command(BaseCommand):
    help = "Drain the outbox to its consumers (search index, notifications), with retries."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Drain what is due, then exit.")
        parser.add_argument("--interval", type=float, default=1.0, help="Seconds between polls.")

    def handle(self, *args, once: bool = False, interval: float = 1.0, **options):
        while True:
            close_old_connections()
            handled, failed = drain()
            if once:
                self.stdout.write(f"handled {handled}, failed {failed}")
                return
            if not handled:
                time.sleep(interval)
