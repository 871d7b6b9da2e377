"""The directory sync's rules, on entries given directly (no LDAP server: see
test_directory_ldap.py for the same command against a real slapd)."""

import uuid

import pytest
from django.contrib.auth import get_user_model

from identity import sync
from identity.conf import DirectoryConfig, directory
from identity.ldap import decode
from identity.models import DirectoryIdentity
from outbox.models import OutboxEvent
from profiles.models import Agency, Department
from tests.factories import PostFactory, UserFactory

User = get_user_model()
CONFIG = DirectoryConfig(url="ldap://127.0.0.1:1", base_dn="dc=test")


def person(uid: str, /, **overrides) -> tuple[str, dict]:
    attributes = {
        "entryuuid": [f"uuid-{uid}"],
        "uid": [uid],
        "mail": [f"{uid}@finance.gov.test"],
        "displayname": [uid.replace(".", " ").title()],
        "givenname": [uid.split(".")[0].title()],
        "sn": [uid.split(".")[-1].title()],
        "title": ["Policy officer"],
        "o": ["Ministry of Finance"],
        "ou": ["Budget"],
    }
    for key, value in overrides.items():
        if value is None:
            attributes.pop(key, None)
        else:
            attributes[key] = [value]
    return f"uid={uid},ou=people,dc=test", attributes


def run(entries, config=CONFIG, **kwargs):
    return sync.run(config, search=lambda _config: list(entries), **kwargs)


def test_parse_entry_reports_what_is_missing():
    for field, message in [
        ("entryuuid", "no entryUUID"),
        ("uid", "no uid"),
        ("mail", "no mail"),
    ]:
        dn, attributes = person("ana.lopez", **{field: None})
        with pytest.raises(sync.actions.EntryError, match=message):
            sync.parse_entry(dn, attributes, CONFIG)
    dn, attributes = person("ana.lopez", displayname=None, givenname=None, sn=None)
    with pytest.raises(sync.actions.EntryError, match="no name"):
        sync.parse_entry(dn, attributes, CONFIG)
    with pytest.raises(sync.actions.EntryError, match="not an email"):
        sync.parse_entry(*person("ana.lopez", mail="not-an-email"), CONFIG)
    with pytest.raises(sync.actions.EntryError, match="characters"):
        sync.parse_entry(*person("ana/lopez"), CONFIG)


def test_parse_entry_maps_attributes_and_splits_department_paths():
    config = directory(
        {
            "LDAP_URL": "ldap://x",
            "LDAP_BASE_DN": "dc=test",
            "LDAP_DEPARTMENT_SEPARATOR": "/",
            "LDAP_ATTRIBUTES": "external_id=employeeNumber,location=",
        }
    )
    dn, attributes = person("ana.lopez", ou="Budget / Forecasting")
    attributes["employeenumber"] = ["E42"]
    entry = sync.parse_entry(dn, attributes, config)
    assert entry.external_id == "E42"
    assert entry.department == ("Budget", "Forecasting")
    assert "location" not in entry.managed_fields
    assert {"display_name", "job_title", "agency", "department"} <= entry.managed_fields


def test_binary_ids_are_read_as_uuids():
    value = uuid.uuid4()
    assert decode(value.bytes_le) == str(value)  # Active Directory's objectGUID
    assert decode(b"plain") == "plain"
    assert decode(b"\xff\xfe\x00") == "fffe00"


@pytest.mark.django_db
def test_sync_creates_updates_and_is_idempotent():
    report = run([person("ana.lopez"), person("bob.novak", ou="Tax Policy")])
    assert (report.created, report.updated, report.unchanged) == (2, 0, 0)
    assert report.agencies_created == 1
    assert report.departments_created == 2
    ana = User.objects.get(username="ana.lopez")
    assert ana.profile.department.name == "Budget"
    assert not ana.has_usable_password()
    events = OutboxEvent.objects.count()

    report = run([person("ana.lopez"), person("bob.novak", ou="Tax Policy")])
    assert (report.created, report.updated, report.unchanged) == (0, 0, 2)
    assert OutboxEvent.objects.count() == events

    report = run(
        [person("ana.lopez", title="Head of Budget"), person("bob.novak", ou="Tax Policy")]
    )
    assert (report.updated, report.unchanged) == (1, 1)
    ana.profile.refresh_from_db()
    assert ana.profile.job_title == "Head of Budget"


@pytest.mark.django_db
def test_duplicates_in_the_directory_are_reported_and_skipped():
    report = run(
        [
            person("ana.lopez"),
            person("ana.copy", mail="ana.lopez@finance.gov.test"),
            person("bob.novak"),
        ]
    )
    assert report.created == 1
    assert len(report.errors) == 2
    assert all("also used by another entry" in error for error in report.errors)
    assert list(User.objects.values_list("username", flat=True)) == ["bob.novak"]


@pytest.mark.django_db
def test_an_email_or_username_of_an_account_not_from_the_directory_is_reported():
    UserFactory(username="someone", email="ana.lopez@finance.gov.test")
    UserFactory(username="bob.novak", email="bob@elsewhere.test")
    report = run([person("ana.lopez"), person("bob.novak"), person("carl.weber")])
    assert report.created == 1
    assert any("already used by the account 'someone'" in error for error in report.errors)
    assert any("username 'bob.novak' is taken" in error for error in report.errors)
    assert not DirectoryIdentity.objects.filter(user__username="someone").exists()
    assert not User.objects.filter(username="ana.lopez").exists()  # nothing half-created


@pytest.mark.django_db
def test_managers_are_set_once_everyone_exists():
    boss_dn, boss = person("boss.one")
    report = run([person("ana.lopez", manager=boss_dn), (boss_dn, boss)])
    ana = User.objects.get(username="ana.lopez").profile
    assert ana.manager.user.username == "boss.one"
    assert report.managers_changed == 1
    report = run([person("ana.lopez", manager="uid=ghost,dc=test"), (boss_dn, boss)])
    assert any("ghost" in warning for warning in report.warnings)
    ana.refresh_from_db()
    assert ana.manager.user.username == "boss.one"  # an unknown manager changes nothing


@pytest.mark.django_db
def test_leavers_are_deactivated_their_posts_stay_and_they_come_back():
    run([person("ana.lopez"), person("bob.novak")])
    bob = User.objects.get(username="bob.novak")
    post = PostFactory(author=bob)
    report = run([person("ana.lopez")])
    assert report.deactivated == 1
    bob.refresh_from_db()
    assert not bob.is_active
    post.refresh_from_db()
    assert post.deleted is None
    report = run([person("ana.lopez"), person("bob.novak")])
    assert report.reactivated == 1
    bob.refresh_from_db()
    assert bob.is_active


@pytest.mark.django_db
def test_an_account_closed_by_an_administrator_is_not_reopened_by_the_sync():
    run([person("ana.lopez")])
    User.objects.filter(username="ana.lopez").update(is_active=False)
    report = run([person("ana.lopez")])
    assert report.reactivated == 0
    assert not User.objects.get(username="ana.lopez").is_active


@pytest.mark.django_db
def test_a_sync_that_would_deactivate_too_many_refuses_to():
    run([person(f"p.{n}") for n in range(30)])
    report = run([person("p.0")])  # a wrong filter, say
    assert report.deactivated == 0
    assert any("Nobody was deactivated" in warning for warning in report.warnings)
    assert User.objects.filter(is_active=True).count() == 30
    report = run([])  # an empty answer never deactivates anyone
    assert report.deactivated == 0
    report = run([person("p.0")], allow_mass_leavers=True)
    assert report.deactivated == 29


@pytest.mark.django_db
def test_dry_run_reports_and_changes_nothing():
    report = run([person("ana.lopez")], dry_run=True)
    assert report.created == 1
    assert report.changes == ["would create ana.lopez (Ana Lopez)"]
    assert "nothing was changed" in report.summary()
    assert not User.objects.exists()
    assert not Agency.objects.exists()
    assert not Department.objects.exists()
    assert not OutboxEvent.objects.exists()
