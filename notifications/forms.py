from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Delivery, Kind


class PreferencesForm(forms.Form):
    """One choice per kind of notification: in Agora, email at once, daily email, off."""

    def __init__(self, *args, current: dict[str, str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for kind, label in Kind.choices:
            self.fields[kind] = forms.ChoiceField(
                label=label,
                choices=Delivery.choices,
                initial=current[kind],
                widget=forms.RadioSelect,
                error_messages={"required": _("Choose how to be told.")},
            )

    def kind_fields(self):
        return [self[kind] for kind in Kind.values]
