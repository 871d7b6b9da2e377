"""Run the allauth identity provider site: migrate a fresh database, then serve on 127.0.0.1.

    IDP_STATE_DIR=... IDP_ISSUER=http://127.0.0.1:PORT \
        python -m tests.identity.servers.allauth_idp.serve PORT
"""

import os
import sys

import django


def main() -> None:
    port = sys.argv[1]
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.identity.servers.allauth_idp.settings"
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    call_command("runserver", f"127.0.0.1:{port}", use_reloader=False, verbosity=0)


if __name__ == "__main__":
    main()
