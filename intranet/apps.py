from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntranetConfig(AppConfig):
    name = "intranet"
    verbose_name = _("Intranet")

    def ready(self) -> None:
        from . import receivers  # noqa: F401  (connects Wagtail's page signals)
