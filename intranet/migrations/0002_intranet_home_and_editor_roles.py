"""The intranet home becomes the Wagtail site's root page; the editor roles exist.

Wagtail's own migrations create a placeholder "Welcome" page, the "Editors" and "Moderators"
groups and the "Moderators approval" workflow. This replaces the placeholder with the
intranet home (keeping any page an administrator already made) and makes sure both groups
exist with their permissions: Editors may open /cms/, add and edit pages (they submit them
for moderation) and add images; Moderators may also publish, unpublish and lock pages.
"""

import uuid

from django.db import migrations
from django.utils import timezone

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"  # django-treebeard's path alphabet
STEP = 4

EDITOR_PAGE_PERMISSIONS = ["add_page", "change_page"]
MODERATOR_PAGE_PERMISSIONS = [*EDITOR_PAGE_PERMISSIONS, "publish_page", "lock_page", "unlock_page"]
IMAGE_PERMISSIONS = ["add_image", "change_image", "choose_image"]


def _step(number: int) -> str:
    digits = ""
    while number:
        number, rest = divmod(number, len(ALPHABET))
        digits = ALPHABET[rest] + digits
    return digits.rjust(STEP, "0")


def _next_child_path(Page, parent) -> str:
    last = (
        Page.objects.filter(path__startswith=parent.path, depth=parent.depth + 1)
        .order_by("-path")
        .values_list("path", flat=True)
        .first()
    )
    number = int(last[-STEP:], len(ALPHABET)) + 1 if last else 1
    return parent.path + _step(number)


def create_intranet_home(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Page = apps.get_model("wagtailcore", "Page")
    Site = apps.get_model("wagtailcore", "Site")
    Locale = apps.get_model("wagtailcore", "Locale")
    Home = apps.get_model("intranet", "IntranetHomePage")
    if Home.objects.exists():
        return
    root = Page.objects.filter(depth=1).order_by("path").first()
    if root is None:
        return
    locale = Locale.objects.order_by("pk").first()
    home_type, _created = ContentType.objects.get_or_create(
        app_label="intranet", model="intranethomepage"
    )
    now = timezone.now()
    home = Home.objects.create(
        title="Intranet",
        draft_title="Intranet",
        slug="intranet",
        content_type=home_type,
        path=_next_child_path(Page, root),
        depth=root.depth + 1,
        numchild=0,
        url_path="/intranet/",
        live=True,
        has_unpublished_changes=False,
        first_published_at=now,
        last_published_at=now,
        locale=locale,
        translation_key=uuid.uuid4(),
        intro="",
    )
    root.numchild += 1
    plain_page = ContentType.objects.filter(app_label="wagtailcore", model="page").first()
    placeholder = Page.objects.filter(
        depth=2, slug="home", content_type=plain_page, numchild=0
    ).first()
    if placeholder is not None:
        Site.objects.filter(root_page=placeholder).update(root_page=home)
        placeholder.delete()
        root.numchild -= 1
    root.save(update_fields=["numchild"])
    if not Site.objects.filter(is_default_site=True).exists():
        Site.objects.create(hostname="localhost", port=80, root_page=home, is_default_site=True)


def ensure_editor_roles(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    ContentType = apps.get_model("contenttypes", "ContentType")
    Page = apps.get_model("wagtailcore", "Page")
    Collection = apps.get_model("wagtailcore", "Collection")
    GroupPagePermission = apps.get_model("wagtailcore", "GroupPagePermission")
    GroupCollectionPermission = apps.get_model("wagtailcore", "GroupCollectionPermission")

    def permission(app_label, model, codename, name):
        content_type, _created = ContentType.objects.get_or_create(app_label=app_label, model=model)
        found, _created = Permission.objects.get_or_create(
            content_type=content_type, codename=codename, defaults={"name": name}
        )
        return found

    access_admin = permission("wagtailadmin", "admin", "access_admin", "Can access Wagtail admin")
    root = Page.objects.filter(depth=1).order_by("path").first()
    root_collection = Collection.objects.filter(depth=1).order_by("path").first()
    for name, page_codenames in (
        ("Editors", EDITOR_PAGE_PERMISSIONS),
        ("Moderators", MODERATOR_PAGE_PERMISSIONS),
    ):
        group, _created = Group.objects.get_or_create(name=name)
        group.permissions.add(access_admin)
        if root is not None:
            for codename in page_codenames:
                GroupPagePermission.objects.get_or_create(
                    group=group,
                    page=root,
                    permission=permission("wagtailcore", "page", codename, codename),
                )
        if root_collection is not None:
            for codename in IMAGE_PERMISSIONS:
                GroupCollectionPermission.objects.get_or_create(
                    group=group,
                    collection=root_collection,
                    permission=permission("wagtailimages", "image", codename, codename),
                )


class Migration(migrations.Migration):
    dependencies = [
        ("intranet", "0001_initial"),
        ("wagtailcore", "0098_apitoken"),
        ("wagtailadmin", "0001_create_admin_access_permissions"),
        ("wagtailimages", "0027_image_description"),
    ]

    operations = [
        migrations.RunPython(create_intranet_home, migrations.RunPython.noop),
        migrations.RunPython(ensure_editor_roles, migrations.RunPython.noop),
    ]
