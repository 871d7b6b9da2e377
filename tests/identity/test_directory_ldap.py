"""`manage.py sync_directory` against a real OpenLDAP server (slapd, on 127.0.0.1).

The directory (tests/identity/servers/ldif/directory.ldif): three agencies, 100 people with
managers, and four bad entries. It answers a plain search with at most 25 entries, so only a
paged search sees everyone (like Active Directory's 1,000).
"""

import socket
import threading
from io import StringIO

import ldap3
import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client
from rest_framework.authtoken.models import Token

from feeds.models import Post
from identity import conf as identity_conf
from identity.models import DirectoryIdentity
from identity.selectors import directory_fields
from outbox.models import OutboxEvent
from profiles.models import Agency, Department, Profile
from tests.factories import PostFactory
from tests.identity.servers.fixtures import (
    LDAP_SERVICE_DN,
    LDAP_SERVICE_PASSWORD,
    LDAP_SIZE_LIMIT,
    LDAP_SUFFIX,
)
from tests.identity.servers.harness import free_port

pytestmark = [pytest.mark.integration, pytest.mark.django_db]
User = get_user_model()
PEOPLE = f"ou=people,{LDAP_SUFFIX}"


def point_at(settings, server_uri: str, **extra: str) -> None:
    env = {
        "LDAP_URL": server_uri,
        "LDAP_BIND_DN": LDAP_SERVICE_DN,
        "LDAP_BIND_PASSWORD": LDAP_SERVICE_PASSWORD,
        "LDAP_BASE_DN": PEOPLE,
        "LDAP_PAGE_SIZE": "20",
        "LDAP_TIMEOUT": "5",
        **extra,
    }
    settings.LDAP_DIRECTORY = identity_conf.directory(env)


def sync(*args: str) -> str:
    out = StringIO()
    call_command("sync_directory", *args, stdout=out)
    return out.getvalue()


def test_the_directory_needs_paging_to_be_read_whole(slapd):
    """The fixture's size limit is real: a plain search stops short (so the next tests prove
    that the sync pages)."""
    connection = ldap3.Connection(
        ldap3.Server(slapd.ldap_uri.rstrip("/")),
        LDAP_SERVICE_DN,
        LDAP_SERVICE_PASSWORD,
        auto_bind=True,
    )
    connection.search(PEOPLE, "(objectClass=inetOrgPerson)", attributes=["uid"])
    assert len(connection.entries) == LDAP_SIZE_LIMIT
    assert connection.result["description"] == "sizeLimitExceeded"
    connection.unbind()


def test_first_sync_creates_agencies_departments_people_and_managers(settings, slapd):
    point_at(settings, slapd.ldap_uri)
    output = sync()

    assert "104 entries read" in output
    assert "100 accounts were created, 0 updated, 0 unchanged" in output
    assert "4 entries skipped because of errors" in output
    assert "cn=Nobody Uid,ou=people,dc=agora,dc=test: no uid" in output
    assert "uid=no.mail,ou=people,dc=agora,dc=test: no mail" in output
    assert output.count("'copy.cat@finance.gov.test' is also used by another entry") == 2
    assert User.objects.count() == 100
    assert not User.objects.filter(username__in=["no.mail", "copy.cat", "copy.cat.twin"]).exists()
    assert set(Agency.objects.values_list("name", flat=True)) == {
        "Ministry of Finance",
        "Department of Health",
        "Environment Agency",
    }
    assert Department.objects.count() == 8

    director = Profile.objects.select_related("agency", "department").get(
        user__username="ben.dubois1"
    )
    assert director.display_name == "Ben Dubois"
    assert director.user.email == "ben.dubois1@finance.gov.test"
    assert (director.job_title, director.agency.name, director.department.name) == (
        "Director",
        "Ministry of Finance",
        "Budget",
    )
    assert director.phone == "+33 1 40 00 0001"
    assert director.location == "Paris"
    assert director.manager is None
    head = Profile.objects.get(user__username="chloe.moreau2")
    assert head.job_title == "Head of Budget"
    assert head.manager == director
    assert Profile.objects.filter(manager__isnull=False).count() == 97
    assert directory_fields(director) == {
        "display_name", "job_title", "agency", "department", "manager", "phone", "location",
    }  # fmt: skip
    link = DirectoryIdentity.objects.get(user=director.user)
    assert link.kind == "directory"
    assert link.dn == "uid=ben.dubois1,ou=people,dc=agora,dc=test"
    assert len(link.external_id) == 36  # the entry's entryUUID


def test_a_second_run_changes_nothing(settings, slapd):
    point_at(settings, slapd.ldap_uri)
    sync()
    events = OutboxEvent.objects.count()
    output = sync()
    assert "0 accounts were created, 0 updated, 100 unchanged" in output
    assert "0 managers were set" in output
    assert OutboxEvent.objects.count() == events


def test_dry_run_prints_what_would_change_and_changes_nothing(settings, slapd):
    point_at(settings, slapd.ldap_uri)
    output = sync("--dry-run")
    assert "would create ben.dubois1 (Ben Dubois)" in output
    assert "100 accounts would be created" in output
    assert "dry run: nothing was changed" in output
    assert not User.objects.exists()
    assert not Agency.objects.exists()
    assert not OutboxEvent.objects.exists()


CHANGES = """\
dn: uid=chloe.moreau2,ou=people,dc=agora,dc=test
changetype: modify
replace: title
title: Director of Budget
-
replace: ou
ou: Forecasting

dn: uid=hugo.popescu7,ou=people,dc=agora,dc=test
changetype: modify
replace: o
o: Department of Health
-
replace: ou
ou: Public Health
-
replace: mail
mail: hugo.popescu7@health.gov.test
"""


def test_a_second_run_applies_changes_and_deactivates_leavers(settings, slapd_scratch):
    point_at(settings, slapd_scratch.ldap_uri)
    sync()
    leaver = User.objects.get(username="farid.silva5")
    leaver_post = PostFactory(author=leaver, body="Handover notes")
    leaver_browser = Client()
    leaver_browser.force_login(leaver)
    Token.objects.create(user=leaver)

    slapd_scratch.ldapmodify(CHANGES)
    slapd_scratch.ldapdelete(f"uid=farid.silva5,{PEOPLE}")
    slapd_scratch.ldapdelete(f"uid=greta.olsen6,{PEOPLE}")

    preview = sync("--dry-run")
    assert "would update chloe.moreau2: job_title, department" in preview
    assert "would deactivate farid.silva5 (left)" in preview
    assert User.objects.get(username="farid.silva5").is_active  # still, after a dry run

    output = sync()
    assert "0 accounts were created, 2 updated, 96 unchanged" in output
    assert "2 were deactivated (leavers)" in output
    chloe = Profile.objects.get(user__username="chloe.moreau2")
    assert chloe.job_title == "Director of Budget"
    assert chloe.department.name == "Forecasting"
    assert chloe.department.agency.name == "Ministry of Finance"
    hugo = Profile.objects.select_related("user").get(user__username="hugo.popescu7")
    assert hugo.agency.name == "Department of Health"
    assert hugo.department.path == "Public Health"
    assert hugo.user.email == "hugo.popescu7@health.gov.test"

    leaver.refresh_from_db()
    assert not leaver.is_active
    assert not User.objects.get(username="greta.olsen6").is_active
    assert not Token.objects.filter(user=leaver).exists()
    assert leaver_browser.get("/")["Location"].startswith("/accounts/login/")
    assert Post.objects.get(pk=leaver_post.pk).deleted is None  # their posts stay
    assert "0 were deactivated" in sync()  # idempotent


def test_a_refused_bind_changes_nothing(settings, slapd):
    point_at(settings, slapd.ldap_uri, LDAP_BIND_PASSWORD="wrong")
    with pytest.raises(CommandError, match="refused the bind as cn=agora-sync"):
        sync()
    assert not User.objects.exists()


def test_an_unreachable_directory_changes_nothing(settings):
    point_at(settings, f"ldap://127.0.0.1:{free_port()}")
    with pytest.raises(CommandError, match="cannot reach the directory"):
        sync()
    assert not User.objects.exists()


@pytest.fixture
def silent_server():
    """A TCP server that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted = []
    stop = threading.Event()

    def accept():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"ldap://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join()
    for connection in accepted:
        connection.close()
    listener.close()


def test_a_directory_that_does_not_answer_times_out_and_changes_nothing(settings, silent_server):
    point_at(settings, silent_server, LDAP_TIMEOUT="1")
    with pytest.raises(CommandError, match="did not answer within 1 s"):
        sync()
    assert not User.objects.exists()


def test_no_directory_configured_is_a_clear_error(settings):
    settings.LDAP_DIRECTORY = identity_conf.directory({})
    with pytest.raises(CommandError, match="set LDAP_URL and LDAP_BASE_DN"):
        sync()
