"""The password form of the sign-in page (when local login is on, or for administrators)."""

from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _


class SignInForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "password_login_off": _(
            "Signing in with a password is switched off for this account: use your agency "
            "account above."
        ),
    }

    def get_invalid_login_error(self):
        if getattr(self.request, "agora_password_login_off", False):
            return ValidationError(
                self.error_messages["password_login_off"], code="password_login_off"
            )
        return super().get_invalid_login_error()
