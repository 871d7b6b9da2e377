"""Writing a post or a comment once, however many times the request arrives.

A client that retries after a timeout, or a browser that sends a form twice (a double click,
a resubmission after a network error), names its request with a key: the `Idempotency-Key`
header of the API (IETF draft "The Idempotency-Key HTTP Header Field"), or the hidden
`form_token` of the composer and comment forms. `feeds.actions.create_post` and `add_comment`
remember (person, key, endpoint, fingerprint of the input) with what they created, in the
transaction that creates it (`feeds.models.IdempotencyKey`); the same key again raises one of
the exceptions below instead of writing anything, and the view answers from the first result.

This module holds the pure pieces (parsing a key, fingerprinting an input, the exceptions);
the rows are read and written by feeds.actions.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

KEY_HEADER = "Idempotency-Key"
# Set on an answer given from an earlier request's result instead of a new write.
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_MAX_LENGTH = 255
FORM_FIELD = "form_token"


@dataclass(frozen=True)
class IdempotentRequest:
    """A write its sender asked to happen once: the key, which endpoint, and a fingerprint of
    the validated input (the same key with another input is a client error, not a replay)."""

    key: str
    endpoint: str
    fingerprint: str

    @classmethod
    def of(
        cls, key: str | None, *, endpoint: str, values: Mapping[str, Any]
    ) -> IdempotentRequest | None:
        """None without a key: the write happens as it always did."""
        if not key:
            return None
        return cls(key=key, endpoint=endpoint, fingerprint=fingerprint(values))


class Replay(Exception):
    """Not an error: the request was carried out before, so the view answers from what it
    created then (one of the ids) instead of writing it again."""

    def __init__(self, *, post_id: int | None = None, comment_id: int | None = None):
        super().__init__(post_id or comment_id)
        self.post_id, self.comment_id = post_id, comment_id


class KeyMismatch(Exception):
    """The key was used for another request (another endpoint or another input): 422."""

    message = gettext_lazy(
        "This Idempotency-Key was already used for a different request. "
        "Use a new key for a new request."
    )

    def __str__(self) -> str:
        return str(self.message)


class KeyInFlight(Exception):
    """The first request with this key has not finished writing: 409, try again shortly."""

    message = gettext_lazy(
        "A request with this Idempotency-Key is still being processed. Try again in a moment."
    )

    def __str__(self) -> str:
        return str(self.message)


def parse_key(value: str) -> str:
    """The key as sent, compared exactly (quoted as the draft's sf-string or not, a client
    sends its retries the same way): 1 to 255 printable ASCII characters. Anything else is a
    ValidationError on the header's name, so the API answers 400 with a message for it."""
    if not value:
        raise ValidationError({KEY_HEADER: _("The key must not be empty.")}, code="blank")
    if len(value) > KEY_MAX_LENGTH:
        raise ValidationError(
            {
                KEY_HEADER: _("Use at most %(limit)d characters (this has %(count)d).")
                % {"limit": KEY_MAX_LENGTH, "count": len(value)}
            },
            code="max_length",
        )
    if not all(" " <= char <= "~" for char in value):
        raise ValidationError(
            {KEY_HEADER: _("Use printable ASCII characters only (no control characters).")},
            code="invalid",
        )
    return value


def form_key(value: str | None) -> str | None:
    """A form's hidden token, or None when it is missing or not one we could have rendered
    (a page from before tokens, a tampered field): the form then posts as it always did."""
    try:
        return parse_key((value or "").strip())
    except ValidationError:
        return None


def new_form_token() -> str:
    """A fresh token for one rendering of a form (random: it names one submission)."""
    return str(uuid.uuid4())


def fingerprint(values: Mapping[str, Any]) -> str:
    """A SHA-256 of the validated input, in a canonical form (keys sorted; an uploaded file
    by its name, size and content), so that a retry of the same request matches and any
    change to what would be written does not."""
    canonical = json.dumps(_plain(values), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _plain(value: Any) -> Any:
    if isinstance(value, UploadedFile):
        return {"file": value.name, "size": value.size, "sha256": _file_digest(value)}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _file_digest(upload: UploadedFile) -> str:
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    if upload.seekable():
        upload.seek(0)  # feeds.attachments reads it again
    return digest.hexdigest()
