"""Forms for the people pages: they parse and validate input; actions do the writing."""

from __future__ import annotations

import io
import uuid

from django import forms
from django.conf import settings
from django.core.files.base import ContentFile
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageOps, UnidentifiedImageError

from . import actions, selectors
from .models import Agency, Department, Profile

AVATAR_MAX_BYTES = 2 * 1024 * 1024
AVATAR_MAX_PIXELS = 40_000_000  # refuse decompression bombs before decoding
AVATAR_SIZE = 512  # stored photos fit in a 512 × 512 box
AVATAR_FORMATS = {"JPEG", "PNG", "GIF", "WEBP"}
MAX_EXPERTISE_TAGS = 20


class DepartmentChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Department) -> str:
        return obj.path


def grouped_department_choices(departments) -> list:
    """Choices for a department select, one `<optgroup>` per agency, ordered by path."""
    by_agency: dict[str, list[tuple[int, str]]] = {}
    for department in departments:
        by_agency.setdefault(str(department.agency), []).append((department.pk, department.path))
    return [("", _("Any department"))] + [
        (agency, sorted(options, key=lambda option: option[1].casefold()))
        for agency, options in by_agency.items()
    ]


class DirectoryFilterForm(forms.Form):
    """The directory's search box and filters (a GET form: bad values become form errors)."""

    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=100,
        help_text=_("A name, job title, username or skill."),
    )
    agency = forms.ModelChoiceField(
        label=_("Agency"),
        queryset=Agency.objects.none(),
        required=False,
        empty_label=_("Any"),
        error_messages={"invalid_choice": _("This agency is not in the list: filter ignored.")},
    )
    department = DepartmentChoiceField(
        label=_("Department"),
        queryset=Department.objects.none(),
        required=False,
        help_text=_("Includes the teams below it."),
        error_messages={"invalid_choice": _("This department is not in the list: filter ignored.")},
    )
    expertise = forms.CharField(label=_("Expertise"), required=False, max_length=60)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["q"].widget.input_type = "search"
        self.fields["agency"].queryset = selectors.agencies()
        self.fields["expertise"].widget.attrs["list"] = "expertise-options"
        agency = self._chosen_agency()
        departments = selectors.departments(agency=agency)
        field = self.fields["department"]
        field.queryset = departments
        field.choices = grouped_department_choices(departments)

    def _chosen_agency(self):
        """The agency picked in the submitted data, if it is a real one (limits departments)."""
        raw = self.data.get(self.add_prefix("agency")) if self.is_bound else None
        if not raw or not str(raw).isdigit():
            return None
        return selectors.agencies().filter(pk=int(raw)).first()

    def filters(self) -> dict:
        """The valid filters; an invalid one is left out (and shown as a form error)."""
        self.is_valid()
        data = self.cleaned_data
        return {
            "query": (data.get("q") or "").strip(),
            "agency": data.get("agency"),
            "department": data.get("department"),
            "expertise": (data.get("expertise") or "").strip(),
        }


def _comma_list(value: str) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


class ProfileForm(forms.Form):
    """The editable fields of one's own profile; `update_profile` does the writing."""

    display_name = forms.CharField(
        label=_("Display name"),
        max_length=150,
        error_messages={"required": _("Your name cannot be empty.")},
    )
    job_title = forms.CharField(label=_("Job title"), max_length=150, required=False)
    department = DepartmentChoiceField(
        label=_("Department"),
        queryset=Department.objects.none(),
        required=False,
        empty_label=_("None"),
    )
    location = forms.CharField(
        label=_("Location"),
        max_length=150,
        required=False,
        help_text=_("Building, city or 'remote'."),
    )
    bio = forms.CharField(
        label=_("About"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("What you work on and what people can ask you about."),
    )
    expertise = forms.CharField(
        label=_("Expertise"),
        max_length=1000,
        required=False,
        help_text=_("Separate skills with commas, for example: procurement, GIS, Python"),
    )
    languages = forms.CharField(
        label=_("Languages spoken"),
        max_length=200,
        required=False,
        help_text=_("Separate languages with commas, for example: English, French"),
    )
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    manager = forms.CharField(
        label=_("Manager"),
        max_length=150,
        required=False,
        help_text=_("Your manager's username, as shown on their profile page."),
    )
    preferred_language = forms.ChoiceField(
        label=_("Interface language"),
        required=False,
        choices=[("", _("Follow my browser"))] + list(settings.LANGUAGES),
    )
    avatar = forms.FileField(
        label=_("Photo"),
        required=False,
        help_text=_("JPEG, PNG, GIF or WebP, at most 2 MB. Location and camera data are removed."),
        widget=forms.FileInput(attrs={"accept": "image/jpeg,image/png,image/gif,image/webp"}),
    )
    remove_avatar = forms.BooleanField(label=_("Remove my photo"), required=False)

    def __init__(self, *args, profile: Profile, **kwargs):
        self.profile = profile
        kwargs.setdefault("initial", self.initial_for(profile))
        super().__init__(*args, **kwargs)
        field = self.fields["department"]
        if profile.agency is None:
            field.queryset = Department.objects.none()
            field.disabled = True
            field.help_text = _("Your profile has no agency yet, so no department can be chosen.")
            self.initial["department"] = None
        else:
            field.queryset = selectors.departments(agency=profile.agency)
        field.choices = [("", _("None"))] + sorted(
            ((d.pk, d.path) for d in field.queryset), key=lambda option: option[1].casefold()
        )
        # What the agency directory keeps up to date is shown, read-only: a value typed here
        # would be overwritten at the next sync or sign-in.
        self.directory_managed = sorted(actions.managed_fields(profile) & set(self.fields))
        for name in self.directory_managed:
            self.fields[name].disabled = True
            self.fields[name].help_text = _("Kept up to date from your agency directory.")

    @staticmethod
    def initial_for(profile: Profile) -> dict:
        return {
            "display_name": profile.display_name,
            "job_title": profile.job_title,
            "department": profile.department_id,
            "location": profile.location,
            "bio": profile.bio,
            "expertise": ", ".join(tag.name for tag in profile.expertise.all()),
            "languages": profile.languages,
            "phone": profile.phone,
            "manager": profile.manager.username if profile.manager_id else "",
            "preferred_language": profile.preferred_language,
        }

    def clean_display_name(self) -> str:
        name = self.cleaned_data["display_name"].strip()
        if not name:
            raise forms.ValidationError(_("Your name cannot be empty."))
        return name

    def clean_expertise(self) -> list[str]:
        names = _comma_list(self.cleaned_data["expertise"])
        if len(names) > MAX_EXPERTISE_TAGS:
            raise forms.ValidationError(
                _("List at most %(max)d skills."), params={"max": MAX_EXPERTISE_TAGS}
            )
        too_long = [name for name in names if len(name) > 60]
        if too_long:
            raise forms.ValidationError(_("Keep each skill under 60 characters."))
        unique: dict[str, str] = {}
        for name in names:
            unique.setdefault(name.casefold(), name)
        return list(unique.values())

    def clean_languages(self) -> str:
        return ", ".join(_comma_list(self.cleaned_data["languages"]))

    def clean_manager(self) -> Profile | None:
        username = self.cleaned_data["manager"].strip().lstrip("@")
        if not username:
            return None
        user = selectors.user_get(username=username)
        if user is None:
            raise forms.ValidationError(
                _("No active colleague has the username “%(username)s”."),
                params={"username": username},
            )
        if user.pk == self.profile.user_id:
            raise forms.ValidationError(_("You cannot be your own manager."))
        return user.profile

    def clean_avatar(self):
        upload = self.cleaned_data.get("avatar")
        if not upload:
            return None
        return reencode_avatar(upload)

    def changes(self) -> dict:
        """Keyword arguments for `profiles.actions.update_profile`."""
        data = self.cleaned_data
        changes = {
            name: data[name]
            for name in (
                "display_name", "job_title", "location", "bio", "languages", "phone",
                "manager", "preferred_language",
            )
        }  # fmt: skip
        if not self.fields["department"].disabled:
            changes["department"] = data["department"]
        if data.get("avatar"):
            changes["avatar"] = data["avatar"]
        elif data.get("remove_avatar"):
            changes["avatar"] = ""
        changes["expertise"] = data["expertise"]
        return changes


def reencode_avatar(upload) -> ContentFile:
    """Check that an upload is a real image and re-encode it, dropping EXIF and other metadata.

    The photo is turned upright (EXIF orientation), shrunk to fit AVATAR_SIZE and saved as PNG
    when it has transparency, else JPEG. The stored name is random, never the uploaded one.
    """
    if upload.size > AVATAR_MAX_BYTES:
        raise forms.ValidationError(_("The photo is larger than 2 MB."), code="too_large")
    try:
        upload.seek(0)
        with Image.open(upload) as probe:
            if probe.format not in AVATAR_FORMATS:
                raise forms.ValidationError(
                    _("Upload a JPEG, PNG, GIF or WebP image."), code="format"
                )
            width, height = probe.size
            if width * height > AVATAR_MAX_PIXELS:
                raise forms.ValidationError(_("The photo has too many pixels."), code="too_big")
            probe.verify()
        upload.seek(0)
        with Image.open(upload) as image:
            image.seek(0)  # first frame of an animation
            image = ImageOps.exif_transpose(image)
            has_alpha = image.mode in ("RGBA", "LA", "PA") or (
                image.mode == "P" and "transparency" in image.info
            )
            image = image.convert("RGBA" if has_alpha else "RGB")
            image.thumbnail((AVATAR_SIZE, AVATAR_SIZE), Image.Resampling.LANCZOS)
            out = io.BytesIO()
            if has_alpha:
                image.save(out, format="PNG", optimize=True)
                extension = "png"
            else:
                image.save(out, format="JPEG", quality=85, optimize=True)
                extension = "jpg"
    except forms.ValidationError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise forms.ValidationError(
            _("This file is not an image we can read."), code="invalid_image"
        ) from None
    return ContentFile(out.getvalue(), name=f"{uuid.uuid4().hex}.{extension}")
