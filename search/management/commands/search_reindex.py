"""Rebuild the search index from the database: `manage.py search_reindex`.

The database backend's table is always rebuilt (it is the fallback, and Elasticsearch is fed
from it); with SEARCH_BACKEND=elasticsearch a new Elasticsearch index is then built from it
and swapped in behind the alias, so searches never stop.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from search import backends, indexing
from search.backends.base import BackendUnavailable


class Command(BaseCommand):
    help = "Rebuild the search index (database table, then Elasticsearch if configured)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--database-only", action="store_true", help="rebuild only the database table"
        )
        parser.add_argument(
            "--elasticsearch-only",
            action="store_true",
            help="rebuild only the Elasticsearch index, from the database table",
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")
        parser.add_argument(
            "--cluster",
            action="store_true",
            help="PostgreSQL: then rewrite the table in id order (locks it for a while)",
        )

    def handle(self, *args, database_only, elasticsearch_only, no_progress, cluster, **options):
        if database_only and elasticsearch_only:
            raise CommandError("Choose at most one of --database-only and --elasticsearch-only.")
        try:
            for label, report in indexing.reindex(
                database=not elasticsearch_only,
                elasticsearch=not database_only,
                progress_bar=self._bar(no_progress),
            ):
                self.stdout.write(
                    f"{label}: {report.documents:,} documents in {report.seconds:.1f} s "
                    f"({report.per_second:,.0f} documents/s)"
                )
            if cluster and not elasticsearch_only:
                seconds = backends.database_backend().cluster()
                self.stdout.write(f"database: table rewritten in id order in {seconds:.1f} s")
        except BackendUnavailable as exc:
            raise CommandError(
                f"Elasticsearch is unreachable ({exc}). The database index is current and "
                "answers searches; run this command again when Elasticsearch is back."
            ) from exc

    def _bar(self, disabled: bool):
        def make(total: int, description: str):
            return tqdm(
                total=total, desc=description, unit="doc", disable=disabled, file=self.stderr
            )

        return make
