"""Signing tokens for cards and vouchers, and the revocation list the verifier reads."""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from sync.tokens import (
    Kind,
    TokenClaims,
    TokenError,
    TrustList,
    Verifier,
    id_text,
    issue,
    new_token_id,
    parse_id,
)

from ..errors import InvalidToken, NotAGiftCard, NotAVoucher
from ..keys.keyring import Keyring
from .models import IssuedToken

__all__ = [
    "PresentedCode",
    "RevokedTokens",
    "presented_subject",
    "read_code",
    "revoke_tokens_of",
    "sign_token",
]


def _claim_token_id(session: Session, business_id: str, kind: Kind, subject_id: str) -> bytes:
    """A new cti, recorded as issued to `subject_id`. Its INSERT claims it, or finds it
    taken (4 random bytes, unique within the business) and another is tried: one round
    trip, where looking first and then inserting took two."""
    dialect = session.get_bind().dialect.name
    insert_into = postgresql.insert if dialect == "postgresql" else sqlite.insert
    for _ in range(8):
        cti = new_token_id()
        claim = (
            insert_into(IssuedToken)
            .values(
                business_id=business_id,
                token_id=id_text(cti),
                kind=kind.label,
                subject_id=subject_id,
            )
            .on_conflict_do_nothing(index_elements=["business_id", "token_id"])
            .returning(IssuedToken.id)
        )
        if session.execute(claim).first() is not None:
            return cti
    raise RuntimeError("could not find an unused token id")  # 8 collisions of 4 random bytes


def sign_token(
    session: Session,
    keyring: Keyring,
    *,
    kind: Kind,
    business_id: str,
    subject_id: str,
    currency: str,
    expires_at: datetime,
    now: datetime,
    deal_id: str | None = None,
    face_minor: int | None = None,
) -> tuple[str, str]:
    """Sign a token and record its cti (unique in the business); (cti text, QR text)."""
    cti = _claim_token_id(session, business_id, kind, subject_id)
    claims = TokenClaims(
        kind=kind,
        issuer=parse_id(business_id),
        subject=parse_id(subject_id),
        token_id=cti,
        currency=currency,
        issued_at=int(now.timestamp()),
        expires_at=int(expires_at.timestamp()),
        deal_id=parse_id(deal_id) if deal_id else None,
        face_minor=face_minor,
    )
    return id_text(cti), issue(keyring.current(), claims)


def revoke_tokens_of(session: Session, subject_id: str, now: datetime) -> list[str]:
    """Revoke every live token of a card or voucher; the cti of each."""
    live = session.scalars(
        select(IssuedToken)
        .where(IssuedToken.subject_id == subject_id, IssuedToken.revoked_at.is_(None))
        .with_for_update()
    ).all()
    for token in live:
        token.revoked_at = now  # each revocation is an event terminals pull
    session.flush()
    return [token.token_id for token in live]


class RevokedTokens:
    """The revocation list as the verifier asks it: is this cti revoked in this business?"""

    def __init__(self, session: Session, business_id: str) -> None:
        self._session, self._business_id = session, business_id

    def __contains__(self, cti: object) -> bool:
        if not isinstance(cti, bytes):
            return False
        revoked = self._session.scalar(
            select(IssuedToken.revoked_at).where(
                IssuedToken.business_id == self._business_id, IssuedToken.token_id == id_text(cti)
            )
        )
        return revoked is not None


def _other_kind(wanted: Kind) -> NotAGiftCard | NotAVoucher:
    if wanted is Kind.GIFT_CARD:
        return NotAGiftCard("That code is a deal voucher: redeem it as a voucher.")
    return NotAVoucher("That code is a gift card: redeem it as a gift card.")


@dataclass(frozen=True)
class PresentedCode:
    """A scanned code read before its business is known: its signature and dates checked
    (no database), and its claims, or why it fails. `revoked`, when read with a request's other
    reads, says whether the code's copy was replaced (None: not read yet)."""

    text: str
    claims: TokenClaims | None
    error: TokenError | None
    revoked: bool | None = None

    @property
    def subject_id(self) -> str | None:
        """The card or voucher the code names, if its signature holds."""
        return None if self.claims is None else id_text(self.claims.subject)

    @property
    def token_id(self) -> str | None:
        """The code's cti, if its signature holds."""
        return None if self.claims is None else id_text(self.claims.token_id)


def read_code(trust: TrustList, token: str, now: datetime) -> PresentedCode:
    """`token`'s claims if signed by a key of `trust` and valid at `now`: everything
    `presented_subject` checks but the business's own lists (issuer, revocations)."""
    try:
        claims = Verifier(trust, clock=lambda: now).verify(token).tillpoint
    except TokenError as exc:
        return PresentedCode(token, None, exc)
    assert claims is not None
    return PresentedCode(token, claims, None)


def presented_subject(
    session: Session,
    keyring: Keyring,
    business_id: str,
    token: str | PresentedCode,
    kind: Kind,
    now: datetime,
) -> str:
    """The card or voucher id in a code presented at `business_id`'s till, checked exactly
    as a terminal checks it offline; otherwise `InvalidToken` (or the wrong kind's error)
    saying why. A `PresentedCode` was read already: only the business's lists are left
    (its revocation too, when that was read with it)."""
    code = (
        token if isinstance(token, PresentedCode) else read_code(keyring.trust_list(), token, now)
    )
    revoked: Container[bytes]
    if code.revoked is None:
        revoked = RevokedTokens(session, business_id)
    else:
        revoked = frozenset([code.claims.token_id]) if code.revoked and code.claims else frozenset()
    lists = Verifier(TrustList(), issuer=parse_id(business_id), revoked=revoked)  # no key asked
    try:
        if code.error is not None:
            raise code.error
        assert code.claims is not None
        lists.check_lists(code.claims)
    except TokenError as exc:
        raise InvalidToken(exc.message, error=exc.code) from None
    if code.claims.kind is not kind:
        raise _other_kind(kind)
    return id_text(code.claims.subject)
