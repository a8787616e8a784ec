"""Access tokens read a second time come from memory: what the first reading checked still
holds, and what changes with time (expiry) is checked again."""

import time

import pytest

from server.accounts.jwt_tokens import InvalidAccessToken, TokenSigner
from server.accounts.models import Role

SECRET = b"a secret of thirty-two bytes or more"


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def test_a_token_read_before_is_refused_once_it_has_expired():
    clock = Clock()
    signer = TokenSigner(SECRET, clock)
    token = signer.access_token("u1", Role.VENDOR_STAFF, "s1")
    first = signer.read(token)
    assert signer.read(token) == first
    clock.now = first.expires.timestamp()
    with pytest.raises(InvalidAccessToken, match="expired"):
        signer.read(token)


def test_an_enrolment_token_read_before_still_opens_only_enrolment():
    signer = TokenSigner(SECRET)
    token = signer.access_token("admin", Role.ADMIN, "s1", enrolment_only=True)
    assert signer.read(token, enrolment=True).enrolment_only
    with pytest.raises(InvalidAccessToken, match="two-step"):
        signer.read(token)


def test_a_token_changed_by_one_character_after_a_good_one_is_refused():
    signer = TokenSigner(SECRET)
    token = signer.access_token("u1", Role.CUSTOMER, "s1")
    signer.read(token)
    forged = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    with pytest.raises(InvalidAccessToken, match="not valid"):
        signer.read(forged)
