"""The intranet's images and documents, for signed-in staff only.

Uploaded files have no public URL in Agora (settings.MEDIA_URL is not served). Wagtail
writes image URLs under it, so `image_file` answers those two folders after the same check
as every page of the intranet; documents go through Wagtail's own serve view, behind the
same check (`document_file` takes over the URL name `wagtaildocs_serve`).
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from django.conf import settings
from django.contrib.auth.decorators import user_passes_test
from django.core.exceptions import SuspiciousFileOperation
from django.http import FileResponse, Http404
from django.utils._os import safe_join
from django.views.decorators.http import require_GET
from wagtail.documents.views import serve as wagtail_documents

import permissions

FOLDERS = ("images", "original_images")
IMAGE_TYPES = {"image/gif", "image/jpeg", "image/png", "image/webp"}


@require_GET
@user_passes_test(permissions.is_active_staff)
def image_file(request, folder: str, path: str):
    if folder not in FOLDERS:
        raise Http404
    try:
        full = Path(safe_join(Path(settings.MEDIA_ROOT) / folder, path))
    except (SuspiciousFileOperation, ValueError):
        raise Http404 from None
    content_type, _encoding = mimetypes.guess_type(full.name)
    if content_type not in IMAGE_TYPES or not full.is_file():
        raise Http404
    response = FileResponse(full.open("rb"), content_type=content_type)
    response["Cache-Control"] = "private, max-age=86400"
    response["Content-Disposition"] = "inline"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_GET
@user_passes_test(permissions.is_active_staff)
def document_file(request, document_id: str, document_filename: str):
    return wagtail_documents.serve(request, document_id, document_filename)
