"""Forms for the feeds pages: they parse what the browser sent; the actions validate.

The rules (length, audience, group membership, file types) live in feeds.actions and
feeds.attachments; an action's ValidationError is attached to the form with `apply_errors`
so the message appears next to its field.
"""

from __future__ import annotations

import re

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.formats import number_format
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

from . import idempotency
from .idempotency import IdempotentRequest
from .models import Post, Reaction, Report

GROUP_CHOICE_RE = re.compile(r"^group:(\d{1,19})$")


def _normalise_newlines(text: str) -> str:
    # Browsers send textarea line breaks as CRLF; count and store them as one character.
    return (text or "").replace("\r\n", "\n").replace("\r", "\n")


def _limit_help() -> str:
    return _("Up to %(limit)s characters. Markdown, @mentions and #hashtags work.") % {
        "limit": number_format(settings.AGORA_POST_MAX_LENGTH, force_grouping=True)
    }


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Any number of files; each is checked by feeds.attachments in the action."""

    widget = MultipleFileInput

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if data in self.empty_values:
            return []
        files = data if isinstance(data, list | tuple) else [data]
        return [f for f in files if f]


class AudienceField(forms.ChoiceField):
    """ "everyone", "agency" or "group:<id>".

    Any well-formed group value is accepted here: whether the author may post in that group
    (and whether they may know it exists) is the action's decision (403 or 404).
    """

    def valid_value(self, value):
        return value in (Post.Audience.EVERYONE, Post.Audience.AGENCY) or bool(
            GROUP_CHOICE_RE.match(str(value))
        )


def apply_errors(form: forms.Form, error: ValidationError, *, default_field: str) -> None:
    """Attach an action's ValidationError to the form, by field where it names one."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            name = field if field in form.fields else default_field
            if field == "group" and "audience" in form.fields:
                name = "audience"
            for item in errors:
                form.add_error(name, item)
    else:
        for item in error.error_list:
            form.add_error(default_field, item)


class SubmitOnceForm(forms.Form):
    """A form that writes once however often it is sent (a double click, a resubmission after
    a network error): each rendering carries a fresh hidden token (`initial=fresh_token()`),
    which the view hands to the action as the request's idempotency key. A form sent without
    one (a page from before tokens) writes as it always did."""

    form_token = forms.CharField(required=False, widget=forms.HiddenInput)

    @staticmethod
    def fresh_token() -> dict:
        return {idempotency.FORM_FIELD: idempotency.new_form_token()}

    def idempotent_request(self, endpoint: str, **extra) -> IdempotentRequest | None:
        """The key and fingerprint (what was typed and chosen, plus `extra`, such as the post
        commented on) for feeds.actions; None without a usable token."""
        values = {k: v for k, v in self.cleaned_data.items() if k != idempotency.FORM_FIELD}
        key = idempotency.form_key(self.cleaned_data.get(idempotency.FORM_FIELD))
        return IdempotentRequest.of(key, endpoint=endpoint, values={**values, **extra})

    def sent_before_differently(self) -> None:
        """The token was used by a submission with other content (the page kept in the
        browser's history, changed and sent again): keep what was typed, explain, and give
        the form a fresh token so that sending it again publishes it."""
        self.data = self.data.copy()
        self.data[self.add_prefix(idempotency.FORM_FIELD)] = idempotency.new_form_token()
        self.add_error(
            "body",
            _(
                "This form was already sent with different content. Your text is still "
                "here: send it again to publish it."
            ),
        )


class PostForm(SubmitOnceForm):
    body = forms.CharField(
        label=_("Message"),
        required=False,  # feeds.actions says what is missing or too long, in one voice
        strip=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=lazy(_limit_help, str)(),
    )
    audience = AudienceField(label=_("Who can see this"), initial=Post.Audience.EVERYONE)
    attachments = MultipleFileField(
        label=_("Attach files"),
        help_text=_("Images (JPEG, PNG, GIF, WebP) or documents (PDF, Office, text). Up to 4."),
    )

    def __init__(self, *args, groups=(), has_agency: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        choices: list = [(Post.Audience.EVERYONE, _("Everyone on the network"))]
        if has_agency:
            choices.append((Post.Audience.AGENCY, _("My agency only")))
        group_choices = [(f"group:{g.pk}", g.name) for g in groups]
        if group_choices:
            choices.append((_("A group I am a member of"), group_choices))
        self.fields["audience"].choices = choices

    def clean_body(self) -> str:
        return _normalise_newlines(self.cleaned_data.get("body", ""))

    @property
    def audience_value(self) -> str:
        value = self.cleaned_data["audience"]
        return Post.Audience.GROUP if value.startswith("group:") else value

    @property
    def group_id(self) -> int | None:
        match = GROUP_CHOICE_RE.match(self.cleaned_data["audience"])
        return int(match.group(1)) if match else None


class PostEditForm(forms.Form):
    body = forms.CharField(
        label=_("Message"),
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=lazy(_limit_help, str)(),
    )

    def clean_body(self) -> str:
        return _normalise_newlines(self.cleaned_data.get("body", ""))


class CommentForm(SubmitOnceForm):
    body = forms.CharField(
        label=_("Your comment"),
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    parent = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=1)

    def clean_body(self) -> str:
        return _normalise_newlines(self.cleaned_data.get("body", ""))


class ReactionForm(forms.Form):
    kind = forms.ChoiceField(choices=Reaction.Kind.choices)
    action = forms.ChoiceField(choices=[("add", "add"), ("remove", "remove")])


class ReportForm(forms.Form):
    """The report dialog and page (templates/feeds/partials/report_form.html). The rules
    (a known reason, the length of the details, once while open) are feeds.actions.report_post's;
    the form only parses, with the same limits in the browser."""

    reason = forms.ChoiceField(
        label=_("Why are you reporting this post?"),
        choices=Report.Reason.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Choose why you are reporting this post."),
            "invalid_choice": _("Choose why you are reporting this post."),
        },
    )
    details = forms.CharField(
        label=_("Details (optional)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": Report.DETAILS_MAX_LENGTH}),
        help_text=_("What should the moderators know? Only they will read it."),
    )
