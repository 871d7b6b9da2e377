"""The search box's syntax, parsed once and written out for each backend.

The syntax is PostgreSQL's `websearch_to_tsquery` (what people type into web search engines):

    budget review            both words
    "budget review"          the phrase
    budget -draft            budget, not draft
    budget or forecast       either (OR binds loosest: `a b or c` is `(a b) or c`)
    *                        everything (with filters)

`parse()` turns the text into a small tree and refuses what cannot be searched, with a
message a person can act on (never a 500): control characters, an unclosed quote, operators
with no word, only exclusions, too long or too many words. The tree is then written as
`websearch_to_tsquery` input (PostgreSQL), an FTS5 MATCH expression (SQLite, every word
quoted, so nothing the user types is FTS5 syntax) and Elasticsearch clauses.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

MAX_QUERY_LENGTH = 500
MAX_TERMS = 32
_WHITESPACE = {"\t", "\n", "\r", "\f", "\v"}


@dataclass(frozen=True)
class Term:
    """One word or one quoted phrase, possibly excluded (`-word`)."""

    words: tuple[str, ...]
    negated: bool = False

    @property
    def is_phrase(self) -> bool:
        return len(self.words) > 1

    @property
    def text(self) -> str:
        return " ".join(self.words)


@dataclass(frozen=True)
class ParsedQuery:
    """`clauses` are OR-ed; the terms of one clause are AND-ed. No clauses: everything."""

    clauses: tuple[tuple[Term, ...], ...] = field(default_factory=tuple)

    @property
    def match_all(self) -> bool:
        return not self.clauses

    @property
    def positive_words(self) -> list[str]:
        return [w for clause in self.clauses for t in clause if not t.negated for w in t.words]

    def websearch(self) -> str:
        """Input for PostgreSQL's websearch_to_tsquery, rebuilt from the tree."""
        parts = []
        for clause in self.clauses:
            terms = []
            for term in clause:
                text = f'"{term.text}"' if term.is_phrase else term.text
                terms.append(f"-{text}" if term.negated else text)
            parts.append(" ".join(terms))
        return " or ".join(parts)

    def fts5(self) -> str:
        """An FTS5 MATCH expression: every word a quoted string, operators ours alone."""

        def quoted(term: Term) -> str:
            return '"' + term.text.replace('"', '""') + '"'

        parts = []
        for clause in self.clauses:
            positive = [quoted(t) for t in clause if not t.negated]
            expression = " AND ".join(positive)
            if len(positive) > 1:
                expression = f"({expression})"
            for term in clause:
                if term.negated:
                    expression = f"({expression} NOT {quoted(term)})"
            parts.append(expression)
        return " OR ".join(parts)


def _has_word(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


def _clean_word(raw: str) -> str:
    """A word as searched: punctuation at its ends dropped (`budget,` → `budget`)."""
    return raw.strip(".,;:!?()[]{}<>'\"+*&|~^=`")


def parse(text: str | None) -> ParsedQuery:
    """Parse the search box. Raises ValidationError with a message for the person typing."""
    text = text or ""
    if len(text) > MAX_QUERY_LENGTH:
        raise ValidationError(
            _("Keep the search under %(limit)d characters (this has %(count)d).")
            % {"limit": MAX_QUERY_LENGTH, "count": len(text)},
            code="max_length",
        )
    cleaned = []
    for ch in text:
        if ch in _WHITESPACE or ch.isspace():
            cleaned.append(" ")
        elif unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn"):
            raise ValidationError(
                _("The search contains invisible control characters. Type it again."),
                code="control_characters",
            )
        elif unicodedata.category(ch) == "Cf":
            continue  # zero-width joiners and the like: drop silently
        else:
            cleaned.append(ch)
    text = "".join(cleaned).strip()
    if text in ("", "*"):
        return ParsedQuery()
    if text.count('"') % 2:
        raise ValidationError(
            _('A quotation mark is not closed: put a " at both ends of a phrase.'),
            code="unbalanced_quotes",
        )

    clauses: list[list[Term]] = [[]]
    i, n = 0, len(text)
    saw_operator = False
    while i < n:
        ch = text[i]
        if ch == " ":
            i += 1
            continue
        negated = False
        if ch == "-":
            j = i
            while j < n and text[j] == "-":
                j += 1
            if j < n and text[j] != " ":
                negated = True
                i = j
                ch = text[i]
            else:
                saw_operator = True
                i = j
                continue
        if ch == '"':
            end = text.index('"', i + 1)
            words = tuple(
                w for w in (_clean_word(raw) for raw in text[i + 1 : end].split()) if _has_word(w)
            )
            i = end + 1
            if words:
                clauses[-1].append(Term(words=words, negated=negated))
            else:
                saw_operator = True
            continue
        end = i
        while end < n and text[end] not in ' "':
            end += 1
        raw = text[i:end]
        i = end
        if not negated and raw.lower() == "or":
            if clauses[-1]:
                clauses.append([])
            saw_operator = True
            continue
        word = _clean_word(raw)
        if _has_word(word):
            clauses[-1].append(Term(words=(word,), negated=negated))
        else:
            saw_operator = True
    clauses = [clause for clause in clauses if clause]
    if not clauses:
        if saw_operator:
            raise ValidationError(
                _("Type at least one word to search for (operators alone find nothing)."),
                code="no_words",
            )
        return ParsedQuery()
    for clause in clauses:
        if all(term.negated for term in clause):
            raise ValidationError(
                _("Add a word to look for: a search cannot only exclude words."),
                code="only_exclusions",
            )
    if sum(len(t.words) for clause in clauses for t in clause) > MAX_TERMS:
        raise ValidationError(
            _("Use at most %(limit)d words in one search.") % {"limit": MAX_TERMS},
            code="too_many_words",
        )
    return ParsedQuery(clauses=tuple(tuple(clause) for clause in clauses))
