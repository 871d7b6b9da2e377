"""The search form (HTML page) and the shared step from clean values to a SearchRequest.

The API's serializer (search/api.py) validates the same parameters with the same messages
and builds the request with the same `search_request()`.
"""

from __future__ import annotations

import re

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

import permissions
from profiles.models import Agency

from . import query as search_query
from . import sources
from .backends.base import SORT_NEWEST, SORT_RELEVANCE, SearchRequest
from .selectors import InvalidCursor, decode_cursor

KIND_CHOICES = [
    ("", _("Everything")),
    ("post", _("Posts and comments")),
    ("person", _("People")),
    ("group", _("Groups")),
]
# The search page only: results from settings.SEARCH_EXTRA_SOURCES (search/sources.py). The
# API keeps KIND_CHOICES, so it answers kind=page with its usual 400 "not a valid choice".
PAGE_KIND_CHOICE = (sources.PAGE_KIND, _("Intranet pages"))
SORT_CHOICES = [(SORT_NEWEST, _("Newest first")), (SORT_RELEVANCE, _("Best match"))]
HASHTAG_RE = re.compile(r"^#?([^\W_][\w\-]{0,59})$", re.UNICODE)
PAGE_SIZE = 20
MAX_PAGE_SIZE = 50


def clean_query(value: str):
    return search_query.parse(value)


def clean_hashtag(value: str) -> str:
    value = (value or "").strip()
    if not value:
        return ""
    match = HASHTAG_RE.match(value)
    if not match:
        raise ValidationError(
            _("A hashtag is one word of letters, digits, - or _ (for example #budget)."),
            code="invalid_hashtag",
        )
    return match.group(1).lower()


def clean_author(value: str):
    value = (value or "").strip().lstrip("@")
    if not value:
        return None
    user = get_user_model().objects.filter(username__iexact=value).first()
    if user is None:
        raise ValidationError(_("Nobody has the username “%(name)s”.") % {"name": value})
    return user


def clean_group(viewer, value: str):
    """A group the viewer may know exists (a secret one is 'no such group' to outsiders)."""
    value = (value or "").strip()
    if not value:
        return None
    group = permissions.visible_groups(viewer).filter(slug=value).first()
    if group is None:
        raise ValidationError(_("There is no group with the address “%(slug)s”.") % {"slug": value})
    return group


def clean_agency(value: str):
    value = (value or "").strip()
    if not value:
        return None
    agency = Agency.objects.filter(slug=value).first()
    if agency is None:
        raise ValidationError(_("There is no agency “%(slug)s”.") % {"slug": value})
    return agency


def check_dates(date_from, date_to) -> None:
    if date_from and date_to and date_from > date_to:
        raise ValidationError(
            {"date_to": _("The end date is before the start date.")}, code="date_order"
        )


def search_request(data: dict) -> SearchRequest:
    """A SearchRequest from clean values (q parsed, objects resolved, cursor decoded)."""
    sort = data.get("sort") or SORT_NEWEST
    parsed = data.get("q") or search_query.ParsedQuery()
    after, offset = None, 0
    cursor = data.get("cursor") or ""
    if cursor:
        if sort == SORT_NEWEST or parsed.match_all:
            after = decode_cursor(cursor, sort=SORT_NEWEST)
        else:
            offset = decode_cursor(cursor, sort=sort)
    kind = data.get("kind") or ""
    agency, group, author = data.get("agency"), data.get("group"), data.get("author")
    return SearchRequest(
        query=parsed,
        kinds=(kind,) if kind else (),
        agency_id=agency.pk if agency else None,
        group_id=group.pk if group else None,
        author_id=author.pk if author else None,
        hashtag=data.get("hashtag") or "",
        date_from=data.get("date_from"),
        date_to=data.get("date_to"),
        sort=sort,
        after=after,
        offset=offset,
        limit=data.get("limit") or PAGE_SIZE,
    )


def has_criteria(data: dict) -> bool:
    """Something to search for: words, or at least one filter."""
    parsed = data.get("q")
    words = parsed is not None and not parsed.match_all
    filters = ("kind", "agency", "group", "author", "hashtag", "date_from", "date_to")
    return words or any(data.get(name) for name in filters)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class SearchForm(forms.Form):
    """The search page's GET form. Every field is optional; bad values are field errors."""

    q = forms.CharField(
        label=_("Search for"),
        required=False,
        max_length=search_query.MAX_QUERY_LENGTH,
        help_text=_(
            'Words to find. Use "quotes" for a phrase, -word to leave a word out, or to '
            "accept either word."
        ),
        strip=False,
    )
    kind = forms.ChoiceField(label=_("Show"), choices=KIND_CHOICES, required=False)
    agency = forms.ChoiceField(label=_("Agency"), required=False)
    group = forms.ChoiceField(label=_("Group"), required=False)
    author = forms.CharField(
        label=_("Author"),
        required=False,
        max_length=150,
        help_text=_("A username, for example ana.martin."),
    )
    hashtag = forms.CharField(label=_("Hashtag"), required=False, max_length=61)
    date_from = forms.DateField(label=_("From"), required=False, widget=DateInput)
    date_to = forms.DateField(label=_("To"), required=False, widget=DateInput)
    sort = forms.ChoiceField(label=_("Order"), choices=SORT_CHOICES, required=False)
    cursor = forms.CharField(required=False, widget=forms.HiddenInput, max_length=40)

    def __init__(self, *args, viewer, **kwargs):
        super().__init__(*args, **kwargs)
        self.viewer = viewer
        self.fields["q"].widget.input_type = "search"
        self.fields["q"].widget.attrs.update({"maxlength": search_query.MAX_QUERY_LENGTH})
        if sources.has_sources():
            self.fields["kind"].choices = [*KIND_CHOICES, PAGE_KIND_CHOICE]
        self.fields["agency"].choices = [("", _("Any agency"))] + [
            (a.slug, a.name) for a in Agency.objects.order_by("name")
        ]
        groups = permissions.visible_groups(viewer).order_by("name", "pk")
        self.fields["group"].choices = [("", _("Any group"))] + [(g.slug, g.name) for g in groups]

    def clean_q(self):
        return clean_query(self.cleaned_data.get("q", ""))

    def clean_agency(self):
        return clean_agency(self.cleaned_data.get("agency", ""))

    def clean_group(self):
        return clean_group(self.viewer, self.cleaned_data.get("group", ""))

    def clean_author(self):
        return clean_author(self.cleaned_data.get("author", ""))

    def clean_hashtag(self):
        return clean_hashtag(self.cleaned_data.get("hashtag", ""))

    def clean(self):
        data = super().clean()
        try:
            check_dates(data.get("date_from"), data.get("date_to"))
        except ValidationError as exc:
            self.add_error(None, exc)
        if data.get("kind") == sources.PAGE_KIND and not self.errors:
            parsed = data.get("q")
            if parsed is None or parsed.match_all:
                self.add_error("q", _("Type the words to find in intranet pages."))
            data["request"] = None  # pages come from search.sources, not from the index
        elif not self.errors:
            try:
                data["request"] = search_request(data)
            except InvalidCursor as exc:
                self.add_error("cursor", str(exc))
        return data

    @property
    def pages_only(self) -> bool:
        """Searching intranet pages only (kind=page)."""
        return self.searched and self.cleaned_data.get("kind") == sources.PAGE_KIND

    @property
    def searched(self) -> bool:
        """Valid and with something to search for (else the page shows only the form)."""
        return self.is_valid() and has_criteria(self.cleaned_data)
