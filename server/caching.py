"""Public answers that caches and apps may keep: an ETag, `If-None-Match`, Cache-Control.

An app that sends back the ETag it last saw gets `304 Not Modified` and no body when nothing
changed; a shared cache may keep a public list for `max-age` seconds. The ETag is a hash of
the body, so it changes when the answer does (a sale that changes a deal's remaining count
changes it too) — except for fields derived from others and the clock, such as a deal's
`seconds_left` (from `ends_at`): those are left out of the hash, which is why the ETag is a
weak one (RFC 9110 §8.8.1: the same meaning, not the same bytes).
"""

from __future__ import annotations

import hashlib
from typing import Any

from fastapi import Request, Response
from pydantic import BaseModel

LIST_MAX_AGE = 30  # seconds: a suspended business leaves shared caches' lists within this
DETAIL_MAX_AGE = 60
NOT_MODIFIED: dict[int | str, dict[str, str]] = {
    304: {"description": "not modified since the ETag sent in If-None-Match: use your copy"}
}


def _matches(if_none_match: str, etag: str) -> bool:
    """Weak comparison (RFC 9110 §13.1.2): `W/` prefixes are ignored; `*` matches anything."""
    wanted = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in wanted or etag in wanted


def cacheable(request: Request, answer: BaseModel, max_age: int, derived: Any = None) -> Response:
    """`answer` as JSON with its validators; `derived` names fields the ETag leaves out, in
    pydantic's `exclude` form (e.g. `{"items": {"__all__": {"seconds_left"}}}`)."""
    body = answer.model_dump_json().encode()
    meaning = body if derived is None else answer.model_dump_json(exclude=derived).encode()
    etag = 'W/"' + hashlib.sha256(meaning).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": f"public, max-age={max_age}"}
    if _matches(request.headers.get("if-none-match", ""), etag.removeprefix("W/")):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)
