"""Make someone an intranet editor or moderator (staff, in the Wagtail group of the role)."""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from intranet.actions import ROLES, grant_role


class Command(BaseCommand):
    help = "Give a person the intranet editor or moderator role."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("role", choices=sorted(ROLES))

    def handle(self, *args, username: str, role: str, **options):
        user = get_user_model().objects.filter(username=username.lower()).first()
        if user is None:
            raise CommandError(f"No account named {username!r}.")
        try:
            grant_role(user=user, role=role)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(self.style.SUCCESS(f"{user.username} is now an intranet {role}."))
