"""Reports of posts (the report dialog), and the moderators' right to handle them.

The "Moderators" group (the intranet's moderator role, README "Intranet pages and editors")
may list and resolve reports in Django's admin: view and change, nothing else.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

MODERATORS = "Moderators"
REPORT_PERMISSIONS = (("view_report", "Can view report"), ("change_report", "Can change report"))


def let_moderators_handle_reports(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    ContentType = apps.get_model("contenttypes", "ContentType")
    content_type, _created = ContentType.objects.get_or_create(app_label="feeds", model="report")
    group, _created = Group.objects.get_or_create(name=MODERATORS)
    for codename, name in REPORT_PERMISSIONS:
        permission, _created = Permission.objects.get_or_create(
            content_type=content_type, codename=codename, defaults={"name": name}
        )
        group.permissions.add(permission)


class Migration(migrations.Migration):
    dependencies = [
        ("feeds", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Report",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "reason",
                    models.CharField(
                        choices=[
                            ("harassment", "Harassment or disrespect"),
                            ("confidential", "Confidential or personal information"),
                            ("spam", "Spam or advertising"),
                            ("other", "Something else"),
                        ],
                        max_length=20,
                        verbose_name="reason",
                    ),
                ),
                (
                    "details",
                    models.TextField(blank=True, max_length=1000, verbose_name="details"),
                ),
                ("created", models.DateTimeField(auto_now_add=True, verbose_name="reported")),
                (
                    "status",
                    models.CharField(
                        choices=[("open", "Open"), ("resolved", "Resolved")],
                        db_index=True,
                        default="open",
                        max_length=10,
                        verbose_name="status",
                    ),
                ),
                ("resolved", models.DateTimeField(blank=True, null=True, verbose_name="resolved")),
                (
                    "post",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="reports",
                        to="feeds.post",
                        verbose_name="post",
                    ),
                ),
                (
                    "reporter",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="post_reports",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="reported by",
                    ),
                ),
                (
                    "resolved_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="resolved by",
                    ),
                ),
            ],
            options={
                "verbose_name": "report",
                "verbose_name_plural": "reports",
                "ordering": ["-id"],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("status", "open")),
                        fields=("reporter", "post"),
                        name="report_open_once_per_reporter",
                    )
                ],
            },
        ),
        migrations.RunPython(let_moderators_handle_reports, migrations.RunPython.noop),
    ]
