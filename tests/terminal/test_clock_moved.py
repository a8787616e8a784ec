"""A till whose clock was fast when it last synced, and has been put right since: its last
sync seems to lie in the future, and how long ago it was can no longer be told. Offline, it
approves nothing until it syncs again, and says to check its clock (the till's clock is
injected, as the verifier's is)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.client import DeviceAuth, SyncClient
from sync.tokens import Kind, TokenClaims, id_text, issue, new_id, new_token_id
from terminal.cli import _warn_of_clock
from terminal.core.kinds import CardStatus, Mode
from terminal.core.store import Pairing, TerminalStore
from terminal.core.till import Till
from tests.terminal.test_till_offline import BUSINESS, page, unused_url


@pytest.fixture
def store(tmp_path, key):
    store = TerminalStore(tmp_path / "till.db")
    store.save_pairing(
        Pairing(unused_url(), "dev", id_text(BUSINESS), "secret", Ed25519PrivateKey.generate())
    )
    store.apply_changes(page(key, max_cache_age_seconds=24 * 3600, stale_cache_max_minor=0))
    yield store
    store.close()


def card_token(key, card_id):
    """A card issued a week ago, valid for a year: its dates do not come into it."""
    issued = datetime.now(UTC) - timedelta(days=7)
    claims = TokenClaims(
        Kind.GIFT_CARD,
        BUSINESS,
        card_id,
        new_token_id(),
        "GBP",
        int(issued.timestamp()),
        int((issued + timedelta(days=365)).timestamp()),
    )
    return issue(key, claims)


def redeem_at(store, key, now: datetime):
    """An offline redemption of £0.50 off a £20 card, the till's clock reading `now`."""
    card = new_id()
    store.cache_card(id_text(card), "GBP", 2000, CardStatus.ACTIVE)
    with SyncClient(unused_url(), auth=DeviceAuth("dev", "secret"), timeout=0.5) as client:
        return Till(store, client, clock=lambda: now).redeem(card_token(key, card), 50)


def synced_at(store) -> datetime:
    return datetime.fromisoformat(store.synced_at())


# The clock was 2 days fast at the sync; put right, then 36 or 47 hours passed: it reads
# 12 hours or 1 hour before the sync's stamp, though the sync is 36 or 47 hours old.
@pytest.mark.parametrize("hours_after", [36, 47])
def test_a_sync_stamped_by_a_fast_clock_approves_nothing_offline(store, key, hours_after):
    now = synced_at(store) - timedelta(hours=48) + timedelta(hours=hours_after)
    verdict = redeem_at(store, key, now)
    assert (verdict.approved, verdict.mode) == (False, Mode.OFFLINE)
    assert "check the till's clock" in verdict.reason
    assert verdict.undecided  # the server decides once it answers
    assert store.pending_count() == 0


def test_a_clock_a_little_behind_its_last_sync_still_approves(store, key):
    verdict = redeem_at(store, key, synced_at(store) - timedelta(minutes=2))
    assert (verdict.approved, verdict.mode) == (True, Mode.OFFLINE), verdict.reason


def test_a_clock_put_forward_past_the_limit_is_a_stale_cache(store, key):
    verdict = redeem_at(store, key, synced_at(store) + timedelta(hours=25))
    assert not verdict.approved
    assert "has not synced for 25 hours" in verdict.reason


@pytest.mark.parametrize(
    ("offset", "said"),
    [(-2 * 86400, "2.0 days ahead of the server's"), (3 * 3600, "3.0 hours behind the server's")],
)
def test_sync_warns_of_a_clock_far_from_the_servers(capsys, offset, said):
    _warn_of_clock(offset)
    assert said in capsys.readouterr().err


def test_sync_says_nothing_of_a_clock_close_to_the_servers(capsys):
    _warn_of_clock(-30.0)
    assert capsys.readouterr().err == ""


def test_the_stamp_is_utc(store):
    assert synced_at(store).tzinfo is not None
    assert abs(synced_at(store) - datetime.now(UTC)) < timedelta(minutes=1)
