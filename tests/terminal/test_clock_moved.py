"""A till whose clock was fast when it last synced, and has been put right since: its last
sync seems to lie in the future, and how long ago it was can no longer be told. Offline, it
approves nothing until it syncs again, and says to check its clock (the till's clock is
injected, as the verifier's is).

A sync also keeps the server's time of its answer (the `Date` header) and how far the
till's clock was from it: a clock 5 minutes or more off at the sync stops offline approvals
however it reads now, and the older of the two stamps says how old the cache is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from sync.client import DeviceAuth, ServerTime, SyncClient
from sync.engine import PushSummary, pull_changes
from sync.tokens import Kind, TokenClaims, id_text, issue, new_id, new_token_id
from terminal.cli import _warn_of_clock
from terminal.core.kinds import CardStatus, Mode
from terminal.core.store import LastSync
from terminal.core.till import Till
from terminal.core.words import clock_apart
from tests.terminal.test_till_offline import BUSINESS, page, paired_store, unused_url


@pytest.fixture
def store(tmp_path, key):
    first = page(key, max_cache_age_seconds=24 * 3600, stale_cache_max_minor=0)
    store = paired_store(tmp_path / "till.db", first)
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


def test_the_warning_says_what_a_wrong_clock_stops(capsys):
    _warn_of_clock(-2 * 86400)
    said = capsys.readouterr().err
    assert "set it right (date, time and zone), then sync again" in said
    assert "the till approves nothing offline" in said


def test_sync_says_nothing_of_a_clock_close_to_the_servers(capsys):
    _warn_of_clock(-30.0)
    assert capsys.readouterr().err == ""


def test_the_stamp_is_utc(store):
    assert synced_at(store).tzinfo is not None
    assert abs(synced_at(store) - datetime.now(UTC)) < timedelta(minutes=1)


# -- the server's time of the last sync ----------------------------------------------------

DAY = timedelta(days=1)


def sync_at(store, key, server_at: datetime, offset: timedelta) -> datetime:
    """Sync again, the server's answer dated `server_at`, the till's clock `offset` away
    from the server's then (offset > 0: the till's clock is behind); the till's stamp."""
    server_time = ServerTime(server_at, offset.total_seconds())
    store.apply_changes(
        page(key, max_cache_age_seconds=24 * 3600, stale_cache_max_minor=0),
        server_time=server_time,
    )
    return synced_at(store)


def test_a_sync_made_while_the_clock_was_days_fast_approves_nothing_offline(store, key):
    """The audit's case: the clock 2 days fast at the sync, put right 2 real days later,
    reads the sync's own stamp: "a moment ago" by it, 2 days by the server's."""
    stamp = sync_at(store, key, datetime.now(UTC) - 2 * DAY, offset=-2 * DAY)
    verdict = redeem_at(store, key, stamp)
    assert (verdict.approved, verdict.mode, verdict.undecided) == (False, Mode.OFFLINE, True)
    assert verdict.reason == (
        "Offline, and this till's clock was 2.0 days ahead of the server's at its last sync: "
        "set the till's clock right (date, time and zone) and sync; until then it approves "
        "nothing offline."
    )
    assert store.pending_count() == 0


@pytest.mark.parametrize(
    ("offset", "said"),
    [
        (timedelta(minutes=5), "5 minutes behind the server's"),
        (-timedelta(minutes=5), "5 minutes ahead of the server's"),
        (timedelta(hours=3), "3.0 hours behind the server's"),
    ],
)
def test_five_minutes_off_at_the_sync_is_a_wrong_clock(store, key, offset, said):
    stamp = sync_at(store, key, datetime.now(UTC) + offset, offset)
    verdict = redeem_at(store, key, stamp + timedelta(minutes=1))
    assert not verdict.approved
    assert said in verdict.reason


def test_a_clock_a_little_off_at_the_sync_still_approves(store, key):
    offset = timedelta(minutes=4, seconds=59)
    stamp = sync_at(store, key, datetime.now(UTC) - offset, -offset)
    verdict = redeem_at(store, key, stamp + timedelta(hours=1))
    assert (verdict.approved, verdict.mode) == (True, Mode.OFFLINE), verdict.reason


def test_the_older_stamp_says_how_old_the_cache_is(store, key):
    """The till's clock 4 minutes fast at the sync (not enough to call it wrong): a day
    less 2 minutes later by its stamp is a day and 2 minutes by the server's, past the
    24-hour window."""
    offset = -timedelta(minutes=4)
    stamp = sync_at(store, key, datetime.now(UTC) + offset, offset)
    verdict = redeem_at(store, key, stamp + DAY - timedelta(minutes=2))
    assert (verdict.approved, verdict.undecided) == (False, True)
    assert "has not synced for 24 hours" in verdict.reason


def test_a_sync_keeps_both_clocks(store, key):
    server_at = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
    stamp = sync_at(store, key, server_at, timedelta(seconds=-30))
    assert store.last_sync() == LastSync(stamp, server_at, timedelta(seconds=-30))


def test_a_pull_keeps_the_servers_date(store, key):
    """Through the sync engine and the client: the pull's answer is dated two days before
    this machine's clock, so the till's clock is two days fast, and it says so offline."""
    two_days_ago = datetime.now(UTC) - 2 * DAY
    document = page(key).model_dump(mode="json")
    date = format_datetime(two_days_ago, usegmt=True)
    transport = httpx.MockTransport(
        lambda request: httpx.Response(200, json=document, headers={"Date": date})
    )
    http = httpx.Client(transport=transport)
    with SyncClient(unused_url(), auth=DeviceAuth("dev", "secret"), http=http) as client:
        pull_changes(client, store, PushSummary())
    last = store.last_sync()
    assert last is not None
    assert last.server_at == two_days_ago.replace(microsecond=0)
    assert last.clock_offset is not None
    assert abs(last.clock_offset + 2 * DAY) < timedelta(minutes=1)
    verdict = redeem_at(store, key, datetime.now(UTC))
    assert not verdict.approved
    assert "2.0 days ahead of the server's at its last sync" in verdict.reason


def test_a_sync_whose_answer_had_no_date_is_judged_by_the_tills_clock(store, key):
    """A server (or a proxy) that sends no `Date`: the till's own stamp alone, as before."""
    store.apply_changes(page(key, max_cache_age_seconds=24 * 3600, stale_cache_max_minor=0))
    last = store.last_sync()
    assert last is not None
    assert (last.server_at, last.clock_offset) == (None, None)
    verdict = redeem_at(store, key, synced_at(store) + timedelta(hours=1))
    assert verdict.approved, verdict.reason


def test_an_answer_without_a_date_leaves_no_server_time_from_the_one_before(store, key):
    """A pull dated by the server, then one through a proxy that drops `Date`: the second
    sync keeps no server time, rather than the first answer's (two days old by now)."""
    two_days_ago = format_datetime(datetime.now(UTC) - 2 * DAY, usegmt=True)
    dates = [{"Date": two_days_ago}, {}]
    document = page(key, max_cache_age_seconds=24 * 3600, stale_cache_max_minor=0)

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=document.model_dump(mode="json"), headers=dates[0])

    http = httpx.Client(transport=httpx.MockTransport(answer))
    with SyncClient(unused_url(), auth=DeviceAuth("dev", "secret"), http=http) as client:
        pull_changes(client, store, PushSummary())
        assert client.server_time is not None
        dates.pop(0)
        pull_changes(client, store, PushSummary())
        assert client.server_time is None
    last = store.last_sync()
    assert last is not None
    assert (last.server_at, last.clock_offset) == (None, None)
    verdict = redeem_at(store, key, synced_at(store) + timedelta(hours=1))
    assert verdict.approved, verdict.reason  # judged by the till's own stamp, as documented


@pytest.mark.parametrize(
    ("offset", "said"),
    [
        (5 * 60, "5 minutes behind"),
        (-380, "6 minutes ahead of"),
        (3 * 3600, "3.0 hours behind"),
        (-2 * 86400, "2.0 days ahead of"),
    ],
)
def test_the_warning_and_the_refusal_say_the_clocks_apart_in_one_way(
    store, key, capsys, offset, said
):
    assert clock_apart(offset) == said
    _warn_of_clock(offset)
    assert f"this till's clock is {said} the server's" in capsys.readouterr().err
    apart = timedelta(seconds=offset)
    stamp = sync_at(store, key, datetime.now(UTC) + apart, apart)
    verdict = redeem_at(store, key, stamp + timedelta(minutes=1))
    assert f"this till's clock was {said} the server's at its last sync" in verdict.reason
