from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

router = APIRouter(tags=["keys"])


@router.get(
    "/trust-list",
    summary="Public keys that sign gift-card and voucher tokens",
    description="The current and previous issuer keys, each with the dates it may have "
    "signed in. Terminals verify `TP1:` tokens offline against this list.",
)
def trust_list(request: Request) -> dict[str, Any]:
    document: dict[str, Any] = request.app.state.keyring.trust_list().to_json()
    return document
