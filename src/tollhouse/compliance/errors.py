"""Refusals the compliance domain raises; the API edge and the CLI map them."""

from __future__ import annotations

from tollhouse.errors import Conflict, InvalidInput, NotFound, TollhouseError


class InvalidContentEvent(InvalidInput):
    """A content event of an unknown type, without its id, or with malformed details."""


class JobNotFound(NotFound):
    """No compliance job with that id belongs to the caller (or the URL token is wrong)."""


class ActiveJobExists(Conflict):
    """The app already has a job of this type awaiting upload or in progress."""


class UploadRefused(TollhouseError):
    """The upload URL has expired, or the job no longer takes an upload."""


class UploadTooLarge(TollhouseError):
    """The upload is over the 128 MB a job takes."""


class DownloadRefused(TollhouseError):
    """The job has no result yet, or its download URL has expired."""
