"""Password sign-in, switched by `AGORA_LOCAL_LOGIN` (and `AGORA_LOCAL_LOGIN_ADMINS`).

Every password check in Agora (the sign-in page, the admin, the API's token endpoint) goes
through `authenticate()`, so this one backend is the switch. Sessions opened by an agency
sign-in are restored by `get_user`, which (as in Django's ModelBackend) refuses inactive
accounts: a deactivated person's session is dead at its next request.
"""

from django.contrib.auth.backends import ModelBackend

from . import selectors


class PasswordBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is not None and not selectors.may_use_password(user):
            if request is not None:
                request.agora_password_login_off = True
            return None
        return user
