from dataclasses import replace
from datetime import UTC, datetime

import pytest

from sync.tokens import IssuerKey, Kind, TokenClaims, TrustedKey, TrustList, Verifier

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
T0 = int(NOW.timestamp())
BUSINESS = bytes.fromhex("0102030405060708")
CARD = bytes.fromhex("a1a2a3a4a5a6a7a8")
DEAL = bytes.fromhex("d1d2d3d4d5d6d7d8")


BASE_CARD = TokenClaims(
    kind=Kind.GIFT_CARD,
    issuer=BUSINESS,
    subject=CARD,
    token_id=b"\x00\x00\x00\x01",
    currency="GBP",
    issued_at=T0 - 3600,
    expires_at=T0 + 86400 * 365,
)


def gift_card(**changes):
    return replace(BASE_CARD, **changes)


def voucher(**changes):
    return replace(
        BASE_CARD, **{"kind": Kind.VOUCHER, "deal_id": DEAL, "face_minor": 1250, **changes}
    )


@pytest.fixture(scope="session")
def issuer_key():
    return IssuerKey.generate()


@pytest.fixture(scope="session")
def trust(issuer_key):
    return TrustList((TrustedKey(issuer_key.kid, issuer_key.public_key),))


@pytest.fixture
def verifier(trust):
    return Verifier(trust, clock=lambda: NOW)
