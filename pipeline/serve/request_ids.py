"""Request ids: from the ``X-Request-ID`` header, or a new uuid4 hex; one per record of a batch.

A header id is 1 to 64 characters of ``A-Z a-z 0-9 . _ : -``, starting with a letter or digit; anything else
is a 422 naming the header (the value is not echoed). A batch of ``n`` records gets ``<id>-0`` ...
``<id>-<n-1>``, so with a header id of a batch the whole id must still fit in 64 characters (a 36-character
UUID leaves room for batches of any allowed size). The base id is in the response body (``request_id``) and
the ``X-Request-ID`` response header; each batch answer carries its record's id.
"""

from __future__ import annotations

import re
import uuid

from mlgate.pipeline.serve.body import BodyRejected

__all__ = ["HEADER", "MAX_LENGTH", "batch_ids", "request_id"]

HEADER = "X-Request-ID"
MAX_LENGTH = 64
_VALID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")


def _refuse(message: str) -> BodyRejected:
    return BodyRejected(422, [{"loc": ["header", HEADER], "msg": message, "type": "request_id"}])


def request_id(header: str | None) -> str:
    """The request's id: the validated header, or a new uuid4 hex (32 characters) when there is none."""
    if header is None:
        return uuid.uuid4().hex
    if not _VALID.fullmatch(header):
        raise _refuse(
            f"{HEADER} must be 1 to {MAX_LENGTH} characters of A-Z a-z 0-9 . _ : - starting with a letter or "
            f"digit (got {len(header)} characters)"
        )
    return header


def batch_ids(base: str, count: int) -> list[str]:
    """``<base>-<index>`` for each record of a batch; 422 naming the header when the longest is over 64."""
    longest = len(base) + 1 + len(str(count - 1))
    if longest > MAX_LENGTH:
        raise _refuse(
            f"{HEADER} of {len(base)} characters leaves no room for the record index of a batch of {count} "
            f"(ids are <{HEADER}>-<index>, at most {MAX_LENGTH} characters); send at most "
            f"{MAX_LENGTH - 1 - len(str(count - 1))} characters"
        )
    return [f"{base}-{index}" for index in range(count)]
