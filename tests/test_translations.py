"""The French catalogue: complete, faithful to its placeholders, compiled, and used by the pages."""

from __future__ import annotations

import ast
import gettext
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

LOCALE_DIR = Path(settings.BASE_DIR) / "locale"
PO_FILE = LOCALE_DIR / "fr" / "LC_MESSAGES" / "django.po"
MO_FILE = PO_FILE.with_suffix(".mo")

# %(name)s, %(count)d, %s, %d... and str.format's {name} / {0}.
PLACEHOLDER = re.compile(r"%\([^)]+\)[#0 +-]*\d*(?:\.\d+)?[sdifr]|%[sdifr]|\{[A-Za-z0-9_]*\}")
TAG = re.compile(r"</?[a-zA-Z][^>]*>")


@dataclass
class Entry:
    line: int
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    references: list[str] = field(default_factory=list)
    obsolete: bool = False

    @property
    def where(self) -> str:
        refs = " ".join(self.references) or f"{PO_FILE.name}:{self.line}"
        return f"{self.msgid!r} ({refs})"

    def sources(self) -> list[tuple[int, str]]:
        """(msgstr index, the msgid text that index translates)."""
        if self.msgid_plural is None:
            return [(0, self.msgid)]
        return [(i, self.msgid if i == 0 else self.msgid_plural) for i in sorted(self.msgstr)]


def _unquote(text: str, line: int) -> str:
    text = text.strip()
    if not (len(text) >= 2 and text[0] == text[-1] == '"'):
        raise ValueError(f"{PO_FILE.name}:{line}: expected a quoted string, got {text!r}")
    return ast.literal_eval(text)


def parse_po(path: Path) -> list[Entry]:
    """A small .po reader: comments, flags, msgctxt, msgid(_plural), msgstr[n], continuations."""
    entries: list[Entry] = []
    entry: Entry | None = None
    target: tuple[str, int | None] | None = None
    seen_msgstr = False

    def start(number: int) -> Entry:
        nonlocal entry, seen_msgstr
        if entry is not None:
            entries.append(entry)
        entry = Entry(line=number)
        seen_msgstr = False
        return entry

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        obsolete = line.startswith("#~")
        if obsolete:
            line = line[2:].strip()
        elif line.startswith("#"):
            if entry is None or seen_msgstr:
                start(number)
            if line.startswith("#,"):
                entry.flags.update(f.strip() for f in line[2:].split(",") if f.strip())
            elif line.startswith("#:"):
                entry.references.extend(line[2:].split())
            continue
        keyword, _, rest = line.partition(" ")
        if line.startswith('"'):
            if target is None:
                raise ValueError(f"{path.name}:{number}: continuation line without a keyword")
            name, index = target
            text = _unquote(line, number)
            if name == "msgstr":
                entry.msgstr[index] += text
            else:
                setattr(entry, name, getattr(entry, name) + text)
            continue
        if keyword in {"msgctxt", "msgid"} and (
            entry is None or seen_msgstr or (keyword == "msgctxt" and entry.msgid)
        ):
            start(number)
        if entry is None:
            raise ValueError(f"{path.name}:{number}: unexpected line {raw!r}")
        entry.obsolete = entry.obsolete or obsolete
        match = re.fullmatch(r"msgstr(?:\[(\d+)\])?", keyword)
        if match:
            index = int(match.group(1) or 0)
            entry.msgstr[index] = _unquote(rest, number)
            target, seen_msgstr = ("msgstr", index), True
        elif keyword in {"msgid", "msgid_plural", "msgctxt"}:
            setattr(entry, keyword, _unquote(rest, number))
            target = (keyword, None)
        else:
            raise ValueError(f"{path.name}:{number}: unknown keyword {keyword!r}")
    if entry is not None:
        entries.append(entry)
    return entries


@pytest.fixture(scope="module")
def catalogue() -> list[Entry]:
    return [e for e in parse_po(PO_FILE) if not e.obsolete]


@pytest.fixture(scope="module")
def messages(catalogue) -> list[Entry]:
    return [e for e in catalogue if e.msgid != ""]


def test_the_parser_reads_the_shapes_of_a_po_file(tmp_path):
    sample = tmp_path / "sample.po"
    sample.write_text(
        'msgid ""\nmsgstr ""\n"Language: fr\\n"\n\n'
        "#: a.py:1\n#, fuzzy, python-format\n"
        'msgid ""\n"Long %(name)s "\n"text"\nmsgstr "Texte %(name)s \\"long\\""\n\n'
        '#: b.html:2\nmsgid "%(counter)s post"\nmsgid_plural "%(counter)s posts"\n'
        'msgstr[0] "%(counter)s publication"\nmsgstr[1] ""\n"%(counter)s publications"\n\n'
        'msgctxt "verb"\nmsgid "Comment"\nmsgstr "Commenter"\n\n'
        '#~ msgid "Gone"\n#~ msgstr "Parti"\n',
        encoding="utf-8",
    )
    header, long, plural, verb, gone = parse_po(sample)
    assert header.msgstr == {0: "Language: fr\n"}
    assert long.msgid == "Long %(name)s text" and long.msgstr[0] == 'Texte %(name)s "long"'
    assert long.flags == {"fuzzy", "python-format"} and long.references == ["a.py:1"]
    assert plural.msgid_plural == "%(counter)s posts"
    assert plural.msgstr == {0: "%(counter)s publication", 1: "%(counter)s publications"}
    assert verb.msgctxt == "verb" and verb.msgstr[0] == "Commenter"
    assert gone.obsolete and gone.msgid == "Gone"


def test_the_header_declares_french_and_its_plural_rule(catalogue):
    header = next(e for e in catalogue if e.msgid == "")
    assert "fuzzy" not in header.flags
    fields = dict(line.split(": ", 1) for line in header.msgstr[0].splitlines() if ": " in line)
    assert fields["Language"] == "fr"
    assert fields["Plural-Forms"] == "nplurals=2; plural=(n > 1);"
    assert "charset=UTF-8" in fields["Content-Type"]


def test_every_entry_is_translated_and_none_is_fuzzy(messages):
    assert len(messages) > 300
    problems = []
    for entry in messages:
        if "fuzzy" in entry.flags:
            problems.append(f"fuzzy: {entry.where}")
        expected = 2 if entry.msgid_plural is not None else 1
        if len(entry.msgstr) < expected or not all(entry.msgstr.values()):
            problems.append(f"untranslated: {entry.where}")
    assert not problems, "\n".join(problems)


def test_translations_keep_placeholders_markup_and_edge_whitespace(messages):
    problems = []
    for entry in messages:
        for index, source in entry.sources():
            translated = entry.msgstr.get(index, "")
            if not translated:
                continue
            label = f"{entry.where} msgstr[{index}]"
            want = Counter(PLACEHOLDER.findall(source))
            got = Counter(PLACEHOLDER.findall(translated))
            if want != got:
                problems.append(f"placeholders {sorted(want)} != {sorted(got)}: {label}")
            want_tags = Counter(TAG.findall(source))
            if want_tags != Counter(TAG.findall(translated)):
                problems.append(f"HTML tags {sorted(want_tags)} not kept: {label}")
            problems.extend(
                f"leading/trailing {edge!r} differs: {label}"
                for edge in ("\n", " ")
                if (source.startswith(edge), source.endswith(edge))
                != (translated.startswith(edge), translated.endswith(edge))
            )
    assert not problems, "\n".join(problems)


def test_the_compiled_catalogue_matches_the_po_file(messages):
    assert MO_FILE.exists(), "Run `manage.py compilemessages` after editing the .po file."
    with MO_FILE.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)._catalog
    stale = []
    for entry in messages:
        key = entry.msgid if entry.msgctxt is None else f"{entry.msgctxt}\x04{entry.msgid}"
        for index, _source in entry.sources():
            mo_key = key if entry.msgid_plural is None else (key, index)
            if compiled.get(mo_key) != entry.msgstr.get(index):
                stale.append(entry.where)
    assert not stale, "django.mo is out of date; run compilemessages:\n" + "\n".join(stale)


@pytest.mark.parametrize(
    ("english", "french"),
    [
        ("Sign in", "Se connecter"),
        ("Sign out", "Se déconnecter"),
        ("Publish", "Publier"),
        ("Home", "Accueil"),
        ("People", "Annuaire"),
        ("Groups", "Groupes"),
        ("Follow", "Suivre"),
        ("Unfollow", "Ne plus suivre"),
        ("Ask to join", "Demander à rejoindre"),
        ("Your feed", "Votre fil d'actualité"),
    ],
)
def test_key_interface_strings_come_out_in_french(english, french):
    with translation.override("fr"):
        assert translation.gettext(english) == french
    with translation.override("en"):
        assert translation.gettext(english) == english


def test_plural_forms_follow_the_french_rule():
    with translation.override("fr"):
        for count, word in [(0, "membre"), (1, "membre"), (2, "membres")]:
            text = translation.ngettext("%(counter)s member", "%(counter)s members", count)
            assert text % {"counter": count} == f"{count} {word}"


@pytest.mark.django_db
def test_home_page_navigation_is_french_for_a_french_browser(web):
    response = web.get("/", HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="fr"' in html
    nav = html[html.index('<nav class="site-nav"') : html.index("</nav>")]
    for label in ("Accueil", "Annuaire", "Groupes", "Mon profil", "Se déconnecter"):
        assert f">{label}<" in nav, label
    assert "Partager avec vos collègues" in html and ">Publier<" in html
    assert "Sign out" not in html and ">Home<" not in html
