from collections.abc import Iterable

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Delivery, Kind


class PreferencesForm(forms.Form):
    """One choice per kind of notification: in Agora, email at once, daily email, off.

    `kinds`: the kinds to offer (`notifications.selectors.kinds_for`: those the person can
    receive), in `Kind` order; every kind if not given.
    """

    def __init__(
        self, *args, current: dict[str, str], kinds: Iterable[str] | None = None, **kwargs
    ) -> None:
        super().__init__(*args, **kwargs)
        offered = set(Kind.values if kinds is None else kinds)
        self.kinds = [kind for kind in Kind.values if kind in offered]
        for kind in self.kinds:
            self.fields[kind] = forms.ChoiceField(
                label=Kind(kind).label,
                choices=Delivery.choices,
                initial=current[kind],
                widget=forms.RadioSelect,
                error_messages={"required": _("Choose how to be told.")},
            )

    def kind_fields(self):
        return [self[kind] for kind in self.kinds]
