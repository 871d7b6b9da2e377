"""Check an uploaded file before it becomes an attachment.

The type is decided by the file's content, not its name or the browser's claim: the name's
extension must agree with what the bytes are, images must decode, and they are re-encoded so
no metadata (location, camera) leaves with them.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import PurePath

import filetype
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

IMAGE_TYPES = {  # mime -> (extensions allowed, Pillow format)
    "image/jpeg": ({"jpg", "jpeg"}, "JPEG"),
    "image/png": ({"png"}, "PNG"),
    "image/gif": ({"gif"}, "GIF"),
    "image/webp": ({"webp"}, "WEBP"),
}
DOCUMENT_TYPES = {  # mime -> extensions allowed
    "application/pdf": {"pdf"},
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": {"docx"},
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {"xlsx"},
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": {"pptx"},
    "application/vnd.oasis.opendocument.text": {"odt"},
    "application/vnd.oasis.opendocument.spreadsheet": {"ods"},
    "application/vnd.oasis.opendocument.presentation": {"odp"},
}
TEXT_TYPES = {"txt": "text/plain", "csv": "text/csv", "md": "text/markdown"}
# What an image keeps of Pillow's `info` when re-encoded: how to draw it, nothing about where,
# when or with what it was made (EXIF, XMP and comments go).
IMAGE_INFO_KEPT = {"transparency", "background", "duration", "loop", "icc_profile", "dpi", "gamma"}


@dataclass(frozen=True)
class CheckedUpload:
    kind: str  # "image" | "document"
    content_type: str
    name: str
    data: bytes


def _extension(name: str) -> str:
    return PurePath(name).suffix.lower().lstrip(".")


def check_upload(upload: UploadedFile) -> CheckedUpload:
    name = PurePath(upload.name or "file").name[-200:]
    ext = _extension(name)
    max_size = max(settings.AGORA_MAX_IMAGE_BYTES, settings.AGORA_MAX_DOCUMENT_BYTES)
    if upload.seekable():
        upload.seek(0)  # a form may have read it already
    if upload.size is not None and upload.size > max_size:
        raise ValidationError(
            _("%(name)s is too large (the limit is %(limit)s).")
            % {"name": name, "limit": filesizeformat(max_size)},
            code="too_large",
        )
    data = upload.read(max_size + 1)
    if len(data) > max_size:
        raise ValidationError(
            _("%(name)s is too large (the limit is %(limit)s).")
            % {"name": name, "limit": filesizeformat(max_size)},
            code="too_large",
        )
    if not data:
        raise ValidationError(_("%(name)s is empty.") % {"name": name}, code="empty")
    guess = filetype.guess(data)
    mime = guess.mime if guess else None

    if mime in IMAGE_TYPES:
        extensions, pil_format = IMAGE_TYPES[mime]
        if ext not in extensions:
            raise _disguised(name)
        if len(data) > settings.AGORA_MAX_IMAGE_BYTES:
            raise ValidationError(
                _("Images may be at most %(limit)s.")
                % {"limit": filesizeformat(settings.AGORA_MAX_IMAGE_BYTES)},
                code="too_large",
            )
        return CheckedUpload("image", mime, name, _reencode_image(data, pil_format, name))

    if mime in DOCUMENT_TYPES:
        if ext not in DOCUMENT_TYPES[mime]:
            raise _disguised(name)
        return _document(name, mime, data)

    if mime is None and ext in TEXT_TYPES:
        if b"\x00" in data:
            raise _disguised(name)
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValidationError(
                _("%(name)s is not a UTF-8 text file.") % {"name": name}, code="encoding"
            ) from exc
        return _document(name, TEXT_TYPES[ext], data)

    if ext in {e for exts, _f in IMAGE_TYPES.values() for e in exts} | {
        e for exts in DOCUMENT_TYPES.values() for e in exts
    }:
        raise _disguised(name)
    raise ValidationError(
        _(
            "%(name)s is not a file type we accept. Attach images (JPEG, PNG, GIF, WebP) or "
            "documents (PDF, Word, Excel, PowerPoint, OpenDocument, text, CSV)."
        )
        % {"name": name},
        code="file_type",
    )


def _document(name: str, mime: str, data: bytes) -> CheckedUpload:
    if len(data) > settings.AGORA_MAX_DOCUMENT_BYTES:
        raise ValidationError(
            _("Documents may be at most %(limit)s.")
            % {"limit": filesizeformat(settings.AGORA_MAX_DOCUMENT_BYTES)},
            code="too_large",
        )
    return CheckedUpload("document", mime, name, data)


def _disguised(name: str) -> ValidationError:
    return ValidationError(
        _("The content of %(name)s does not match its file name.") % {"name": name},
        code="disguised",
    )


def _reencode_image(data: bytes, pil_format: str, name: str) -> bytes:
    try:
        with Image.open(io.BytesIO(data)) as probe:
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > 40_000_000:
                raise ValidationError(_("%(name)s has too many pixels.") % {"name": name})
            image.load()
            # Cameras store "rotate me" in EXIF, which is dropped below: apply it first.
            image = ImageOps.exif_transpose(image)
            if pil_format == "JPEG" and image.mode not in ("RGB", "L"):
                image = image.convert("RGB")
            image.info = {k: v for k, v in image.info.items() if k in IMAGE_INFO_KEPT}
            out = io.BytesIO()
            image.save(out, format=pil_format)  # no exif= argument: metadata is dropped
            return out.getvalue()
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ValidationError(
            _("%(name)s is not a readable image.") % {"name": name}, code="bad_image"
        ) from exc
