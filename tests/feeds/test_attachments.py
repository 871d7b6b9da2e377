"""Uploads are judged by their content: the name must agree with the bytes, images must decode
and leave without their metadata, and limits hold."""

import io
import zipfile

import filetype
import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from PIL import Image

from feeds.attachments import check_upload

SECRET = "Camera 3000 at 48.8584N 2.2945E"
MINIMAL_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 10 10]>>endobj\n"
    b"xref\n0 4\n0000000000 65535 f \n0000000009 00000 n \n0000000052 00000 n \n"
    b"0000000101 00000 n \ntrailer<</Size 4/Root 1 0 R>>\nstartxref\n158\n%%EOF\n"
)


def image_bytes(fmt: str, *, size=(16, 12), mode="RGB", metadata=True, **extra) -> bytes:
    image = Image.new(mode, size, "red" if mode != "P" else 1)
    options = dict(extra)
    if metadata:
        exif = Image.Exif()
        exif[0x010F] = SECRET  # Make
        exif[0x0131] = SECRET  # Software
        options["exif"] = exif.tobytes()
        if fmt in {"JPEG", "GIF"}:
            options["comment"] = SECRET.encode()
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def upload(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def refused(name: str, data: bytes, code: str | None = None) -> ValidationError:
    with pytest.raises(ValidationError) as exc:
        check_upload(upload(name, data))
    if code is not None:
        assert exc.value.code == code, exc.value
    return exc.value


@pytest.mark.parametrize(
    ("fmt", "name", "mime"),
    [
        ("JPEG", "photo.jpg", "image/jpeg"),
        ("JPEG", "photo.JPEG", "image/jpeg"),
        ("PNG", "chart.png", "image/png"),
        ("WEBP", "pic.webp", "image/webp"),
    ],
)
def test_images_are_reencoded_without_metadata(fmt, name, mime):
    """A real image is accepted, re-encoded, and its EXIF (camera, place) does not survive."""
    data = image_bytes(fmt)
    with Image.open(io.BytesIO(data)) as original:
        assert original.getexif(), "the test image must carry EXIF to begin with"
    checked = check_upload(upload(name, data))
    assert (checked.kind, checked.content_type, checked.name) == ("image", mime, name)
    with Image.open(io.BytesIO(checked.data)) as result:
        assert result.format == fmt
        assert result.size == (16, 12)
        assert not result.getexif()
        assert "exif" not in result.info
    assert SECRET.encode() not in checked.data


@pytest.mark.parametrize(("fmt", "name"), [("JPEG", "photo.jpg"), ("GIF", "anim.gif")])
def test_image_comments_are_dropped(fmt, name):
    """A comment stored in a JPEG or GIF is metadata too: it does not leave with the image."""
    data = image_bytes(fmt, mode="RGB" if fmt == "JPEG" else "P")
    assert SECRET.encode() in data
    checked = check_upload(upload(name, data))
    assert SECRET.encode() not in checked.data
    with Image.open(io.BytesIO(checked.data)) as result:
        assert "comment" not in result.info


def test_rgba_png_named_jpeg_is_refused_but_rgba_png_is_fine():
    """Transparency survives for PNG; a PNG named .jpg is refused as disguised."""
    data = image_bytes("PNG", mode="RGBA", metadata=False)
    assert check_upload(upload("logo.png", data)).content_type == "image/png"
    refused("photo.jpg", data, "disguised")


def test_minimal_pdf_is_a_document():
    """A PDF is accepted as a document, byte for byte."""
    checked = check_upload(upload("report.pdf", MINIMAL_PDF))
    assert (checked.kind, checked.content_type, checked.data) == (
        "document",
        "application/pdf",
        MINIMAL_PDF,
    )


def test_docx_like_zip_is_a_document():
    """A zip with Word's layout is a .docx document (when the detector recognises it)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    data = buffer.getvalue()
    guess = filetype.guess(data)
    if guess is None or not guess.mime.endswith("wordprocessingml.document"):
        pytest.skip("the file type detector does not recognise this minimal docx")
    checked = check_upload(upload("memo.docx", data))
    assert checked.kind == "document"
    assert checked.content_type.endswith("wordprocessingml.document")
    refused("memo.pdf", data, "disguised")


def test_plain_zip_named_docx_is_refused():
    """A zip that is not an Office file, named .docx, is refused."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("payload.exe", "MZ")
    refused("memo.docx", buffer.getvalue())


@pytest.mark.parametrize(
    ("name", "mime"),
    [("notes.txt", "text/plain"), ("data.csv", "text/csv"), ("a.md", "text/markdown")],
)
def test_text_files(name, mime):
    """UTF-8 text files are accepted as documents."""
    checked = check_upload(upload(name, "Année;Budget\n2025;1 000 €\n".encode()))
    assert (checked.kind, checked.content_type) == ("document", mime)


def test_text_must_be_utf8_and_not_binary():
    """A text file with NUL bytes is disguised; one in Latin-1 is refused with a reason."""
    refused("notes.txt", b"abc\x00def", "disguised")
    refused("notes.txt", "Année".encode("latin-1"), "encoding")


@pytest.mark.parametrize(
    "header",
    [b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56, b"MZ\x90\x00\x03" + b"\x00" * 120],
    ids=["elf", "pe"],
)
def test_executable_named_pdf_is_refused(header):
    """An executable named report.pdf is refused as disguised."""
    refused("report.pdf", header, "disguised")


def test_executable_named_txt_is_refused():
    """An executable named notes.txt is not text."""
    refused("notes.txt", b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56)


def test_png_named_jpg_is_refused():
    """A PNG named photo.jpg is refused: the name must match the content."""
    refused("photo.jpg", image_bytes("PNG", metadata=False), "disguised")


def test_pdf_named_png_is_refused():
    """A PDF named as an image is refused."""
    refused("picture.png", MINIMAL_PDF, "disguised")


@pytest.mark.parametrize(("fmt", "name"), [("PNG", "cut.png"), ("JPEG", "cut.jpg")])
def test_truncated_image_is_refused(fmt, name):
    """An image cut short does not decode and is refused."""
    data = image_bytes(fmt, size=(64, 64), metadata=False)
    refused(name, data[: len(data) // 2], "bad_image")


def test_corrupt_image_is_refused():
    """A PNG signature followed by garbage is refused."""
    refused("broken.png", b"\x89PNG\r\n\x1a\n" + b"garbage" * 20, "bad_image")


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("page.html", b"<html><script>alert(1)</script></html>"),
        ("drawing.svg", b"<svg xmlns='http://www.w3.org/2000/svg'></svg>"),
        ("program.exe", b"MZ\x90\x00" + b"\x00" * 60),
        ("archive.zip", b"PK\x03\x04" + b"\x00" * 60),
        ("noextension", b"just some bytes"),
    ],
)
def test_unknown_types_are_refused(name, data):
    """Anything not an accepted image, document or text type is refused."""
    refused(name, data)


def test_empty_file_is_refused():
    """An empty upload is refused."""
    refused("empty.txt", b"", "empty")


@override_settings(AGORA_MAX_IMAGE_BYTES=2_000, AGORA_MAX_DOCUMENT_BYTES=3_000)
def test_size_limits():
    """Files over the limit are refused; images and documents have their own limits."""
    refused("big.txt", b"a" * 3_001, "too_large")
    assert check_upload(upload("ok.txt", b"a" * 3_000)).kind == "document"
    # Under the document limit but over the image limit: refused as an image.
    big_png = image_bytes("PNG", size=(28, 28), metadata=False, compress_level=0)
    assert 2_000 < len(big_png) <= 3_000
    refused("big.png", big_png, "too_large")
    refused("huge.pdf", MINIMAL_PDF + b"%" * 5_000, "too_large")


@override_settings(AGORA_MAX_IMAGE_BYTES=1_000, AGORA_MAX_DOCUMENT_BYTES=1_000)
def test_declared_size_is_checked_before_reading():
    """An upload that says it is too big is refused without trusting its content."""
    big = upload("big.txt", b"a" * 10)
    big.size = 10_000
    with pytest.raises(ValidationError) as exc:
        check_upload(big)
    assert exc.value.code == "too_large"


def test_upload_already_read_is_checked_from_the_start():
    """A file a form has already read is checked from its first byte, not found empty."""
    data = image_bytes("PNG", metadata=False)
    file = upload("chart.png", data)
    file.read()
    assert check_upload(file).content_type == "image/png"


def test_path_in_name_is_dropped():
    """Only the file's own name is kept, never a path."""
    checked = check_upload(upload("../../etc/notes.txt", b"hello"))
    assert checked.name == "notes.txt"


def test_a_rotated_camera_photo_is_turned_upright():
    """EXIF says "rotate 90°": the re-encoded image (without EXIF) is stored upright."""
    image = Image.new("RGB", (40, 20), "white")
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    checked = check_upload(upload("photo.jpg", out.getvalue()))
    with Image.open(io.BytesIO(checked.data)) as stored:
        assert stored.size == (20, 40)
        assert 0x0112 not in stored.getexif()
