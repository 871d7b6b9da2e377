"""Forms for the group pages: they parse and validate input; actions do the writing."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from profiles import selectors as profile_selectors

from .models import Group, Membership


class GroupFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    kind = forms.ChoiceField(
        label=_("Kind"),
        required=False,
        choices=[
            ("", _("All kinds")),
            (Group.Kind.OPEN, _("Open")),
            (Group.Kind.PRIVATE, _("Private")),
            (Group.Kind.SECRET, _("Secret")),
        ],
    )
    mine = forms.BooleanField(label=_("Only my groups"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["q"].widget.input_type = "search"

    def filters(self) -> dict:
        """The valid filters; an invalid one is left out (and shown as a form error)."""
        self.is_valid()
        data = self.cleaned_data
        return {
            "query": (data.get("q") or "").strip(),
            "kind": data.get("kind") or "",
            "mine": bool(data.get("mine")),
        }


class GroupForm(forms.Form):
    """Create or edit a group; `create_group` / `update_group` check the rules again."""

    name = forms.CharField(label=_("Name"), max_length=120)
    description = forms.CharField(
        label=_("Description"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("What the group is for and who should join."),
    )
    kind = forms.ChoiceField(
        label=_("Who can join and read"),
        choices=Group.Kind.choices,
        initial=Group.Kind.OPEN,
        widget=forms.RadioSelect,
    )

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError(_("Give the group a name."))
        return name


class JoinRequestForm(forms.Form):
    message = forms.CharField(
        label=_("Message to the group's admins (optional)"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class InviteForm(forms.Form):
    username = forms.CharField(
        label=_("Username"),
        max_length=150,
        help_text=_("The colleague's username, as shown on their profile page."),
    )

    def clean_username(self):
        username = self.cleaned_data["username"].strip().lstrip("@")
        user = profile_selectors.user_get(username=username)
        if user is None:
            raise forms.ValidationError(
                _("No active colleague has the username “%(username)s”."),
                params={"username": username},
            )
        return user


class MemberManageForm(forms.Form):
    action = forms.ChoiceField(choices=[("role", "role"), ("remove", "remove")])
    role = forms.ChoiceField(label=_("Role"), choices=Membership.Role.choices, required=False)

    def clean(self):
        data = super().clean()
        if data.get("action") == "role" and not data.get("role"):
            self.add_error("role", _("Choose owner, admin or member."))
        return data
