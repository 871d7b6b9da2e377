"""Write directory.ldif: three agencies, 100 people with managers, and three bad entries.

    python tests/identity/servers/ldif/make_directory.py   # rewrites directory.ldif beside it

Deterministic (no randomness), so the committed file only changes when this script does.
Bad entries, on purpose: one without a mail, one whose mail is another person's (both are
reported, neither is synced), one without a uid.
"""

from pathlib import Path

SUFFIX = "dc=agora,dc=test"
PEOPLE = f"ou=people,{SUFFIX}"
SERVICE_PASSWORD = "sync-service-password"  # noqa: S105  (a throwaway test directory)

AGENCIES = [
    ("Ministry of Finance", "finance.gov.test", ["Budget", "Tax Policy", "Procurement"], 40),
    ("Department of Health", "health.gov.test", ["Public Health", "Hospitals", "eHealth"], 35),
    ("Environment Agency", "environment.gov.test", ["Climate", "Air Quality"], 25),
]
FIRST = (
    "Ana Ben Chloe David Elif Farid Greta Hugo Ines Jonas Karin Lea Malik Nora Omar Paula "
    "Quentin Rosa Sami Tara Ugo Vera Wim Xenia Yusuf Zoe Aino Bruno Carla Dmitri Emma Felix "
    "Giulia Hana Ivan Julia Kofi Lina Marco Nadia"
).split()
LAST = (
    "Lopez Novak Weber Martin Costa Meyer Rossi Dubois Jansen Nowak Silva Horvat Berg Kaya "
    "Moreau Fischer Romano Olsen Varga Keller Petit Lindqvist Brun Sousa Popescu"
).split()


def person(index: int, agency: str, domain: str, department: str, title: str, manager: str):
    first = FIRST[index % len(FIRST)]
    last = LAST[(index * 7) % len(LAST)]
    uid = f"{first}.{last}{index}".lower()
    entry = {
        "dn": f"uid={uid},{PEOPLE}",
        "objectClass": ["inetOrgPerson"],
        "uid": uid,
        "cn": f"{first} {last}",
        "sn": last,
        "givenName": first,
        "displayName": f"{first} {last}",
        "mail": f"{uid}@{domain}",
        "title": title,
        "o": agency,
        "ou": department,
        "employeeNumber": f"E{index:05d}",
        "telephoneNumber": f"+33 1 40 00 {index:04d}",
        "l": "Paris" if index % 3 else "Lyon",
    }
    if manager:
        entry["manager"] = manager
    return entry


def entries():
    yield {
        "dn": SUFFIX,
        "objectClass": ["dcObject", "organization"],
        "dc": "agora",
        "o": "Agora test directory",
    }
    yield {"dn": PEOPLE, "objectClass": ["organizationalUnit"], "ou": "people"}
    yield {"dn": f"ou=services,{SUFFIX}", "objectClass": ["organizationalUnit"], "ou": "services"}
    yield {
        "dn": f"cn=agora-sync,ou=services,{SUFFIX}",
        "objectClass": ["organizationalRole", "simpleSecurityObject"],
        "cn": "agora-sync",
        "userPassword": SERVICE_PASSWORD,
    }
    index = 0
    for agency, domain, departments, size in AGENCIES:
        index += 1
        director = person(index, agency, domain, departments[0], "Director", "")
        yield director
        heads = []
        for department in departments:
            index += 1
            title = f"Head of {department}"
            head = person(index, agency, domain, department, title, director["dn"])
            heads.append(head)
            yield head
        for n in range(size - 1 - len(departments)):
            index += 1
            head = heads[n % len(heads)]
            yield person(index, agency, domain, head["ou"], "Policy officer", head["dn"])
    # Bad entries, reported by the sync and never applied.
    yield {
        "dn": f"uid=no.mail,{PEOPLE}",
        "objectClass": ["inetOrgPerson"],
        "uid": "no.mail",
        "cn": "No Mail",
        "sn": "Mail",
        "o": "Ministry of Finance",
    }
    yield {
        "dn": f"uid=copy.cat,{PEOPLE}",
        "objectClass": ["inetOrgPerson"],
        "uid": "copy.cat",
        "cn": "Copy Cat",
        "sn": "Cat",
        "mail": "copy.cat@finance.gov.test",
        "o": "Ministry of Finance",
    }
    yield {
        "dn": f"cn=Copy Cat Twin,{PEOPLE}",
        "objectClass": ["inetOrgPerson"],
        "uid": "copy.cat.twin",
        "cn": "Copy Cat Twin",
        "sn": "Twin",
        "mail": "copy.cat@finance.gov.test",
        "o": "Ministry of Finance",
    }
    yield {
        "dn": f"cn=Nobody Uid,{PEOPLE}",
        "objectClass": ["inetOrgPerson"],
        "cn": "Nobody Uid",
        "sn": "Uid",
        "mail": "nobody.uid@finance.gov.test",
        "o": "Ministry of Finance",
    }


def to_ldif(entry: dict) -> str:
    lines = [f"dn: {entry['dn']}"]
    for key, value in entry.items():
        if key == "dn":
            continue
        lines.extend(f"{key}: {item}" for item in (value if isinstance(value, list) else [value]))
    return "\n".join(lines) + "\n"


def main() -> None:
    text = "\n".join(to_ldif(entry) for entry in entries())
    (Path(__file__).resolve().parent / "directory.ldif").write_text(text)


if __name__ == "__main__":
    main()
