"""Who is at the till: PINs checked offline against the synced hashes, the throttle kept in
the terminal's database, what each role may open, and the cashier the journal and the
offline events name."""

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from sync.client import DeviceAuth, SyncClient
from sync.engine import PushSummary, pull_changes
from sync.pins import hash_pin
from sync.tokens import id_text, new_id
from sync.wire import ChangesPage, NewerValue, StaffRole, StaffState
from terminal.core.headless import BadInputError, HeadlessTill
from terminal.core.kinds import CardStatus
from terminal.core.session import TerminalSession
from terminal.core.staff import (
    FREE_TRIES,
    MAX_WAIT,
    Area,
    Person,
    SignInRefusedError,
    may_open,
    sign_in,
    wait_after,
)
from terminal.core.store import TerminalStore
from terminal.core.till import Till
from tests.terminal.test_till_offline import card_token, page, unused_url


@pytest.fixture
def client():
    with SyncClient(unused_url(), auth=DeviceAuth("dev", "secret"), timeout=0.5) as client:
        yield client


SAM = StaffState(id="sam-id", name="Sam", role=StaffRole.CASHIER, pin_hash=hash_pin("4821", cost=4))
ALEX = StaffState(
    id="alex-id", name="Alex", role=StaffRole.MANAGER, pin_hash=hash_pin("5930", cost=4)
)


def staff_page(key, *, staff=(), removed=()):
    base = page(key).model_dump()
    return ChangesPage.model_validate(
        {**base, "staff": [s.model_dump() for s in staff], "removed_staff": list(removed)}
    )


@pytest.fixture
def staffed(store, key):
    store.apply_changes(staff_page(key, staff=[SAM, ALEX]))
    return store


NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def test_pulled_pins_are_kept_and_a_cleared_one_goes(store, key):
    assert not store.has_staff()
    store.apply_changes(staff_page(key, staff=[SAM, ALEX]))
    assert [s.name for s in store.staff()] == ["Alex", "Sam"]
    store.apply_changes(staff_page(key, removed=["sam-id"]))
    assert [s.name for s in store.staff()] == ["Alex"]


def test_the_right_pin_signs_in_with_the_role(staffed):
    assert sign_in(staffed, "sam-id", "4821", NOW) == Person("sam-id", "Sam", StaffRole.CASHIER)
    assert sign_in(staffed, "alex-id", "5930", NOW).manages


def test_wrong_pins_make_the_till_wait_longer_each_time(staffed):
    for tries_left in range(FREE_TRIES - 1, 0, -1):
        with pytest.raises(SignInRefusedError, match=f"{tries_left} tr"):
            sign_in(staffed, "sam-id", "0001", NOW)
    with pytest.raises(SignInRefusedError, match="next try in 30 seconds") as waited:
        sign_in(staffed, "sam-id", "0002", NOW)
    assert waited.value.wait == timedelta(seconds=30)
    # While it waits, even the right PIN is not looked at.
    with pytest.raises(SignInRefusedError, match="Too many wrong PINs"):
        sign_in(staffed, "sam-id", "4821", NOW + timedelta(seconds=29))
    with pytest.raises(SignInRefusedError, match="next try in 1 minute"):
        sign_in(staffed, "sam-id", "0003", NOW + timedelta(seconds=30))
    assert wait_after(FREE_TRIES + 20) == MAX_WAIT


def test_the_throttle_survives_a_restart_and_a_right_pin_resets_it(staffed, tmp_path):
    for _ in range(FREE_TRIES):
        with pytest.raises(SignInRefusedError):
            sign_in(staffed, "sam-id", "0000", NOW)
    staffed.close()
    reopened = TerminalStore(staffed.path)
    try:
        with pytest.raises(SignInRefusedError, match="Too many wrong PINs"):
            sign_in(reopened, "sam-id", "4821", NOW + timedelta(seconds=10))
        later = NOW + timedelta(seconds=31)
        assert sign_in(reopened, "sam-id", "4821", later).name == "Sam"
        assert reopened.sign_in_failures() == (0, None)
    finally:
        reopened.close()


@pytest.mark.parametrize(
    ("area", "person", "anyone_has_pin", "allowed"),
    [
        (Area.SCAN, None, False, True),  # no PINs yet: the till works as itself
        (Area.HISTORY, None, False, True),
        (Area.VENDOR, None, False, False),  # but its vendor screens stay closed
        (Area.SCAN, None, True, False),  # PINs exist: sign in first
        (Area.HISTORY, None, True, False),
        (Area.SCAN, Person.of(SAM), True, True),
        (Area.HISTORY, Person.of(SAM), True, True),
        (Area.VENDOR, Person.of(SAM), True, False),
        (Area.VENDOR, Person.of(ALEX), True, True),
        (Area.VENDOR, Person("o", "Owner", StaffRole.OWNER), True, True),
    ],
)
def test_what_each_role_may_open(area, person, anyone_has_pin, allowed):
    refusal = may_open(area, person, anyone_has_pin)
    assert (refusal is None) == allowed
    if refusal is not None:
        assert "vendor screens" in refusal or "Sign in first" in refusal


def test_offline_redemptions_name_the_cashier_in_the_journal_and_the_event(staffed, key, client):
    card = new_id()
    staffed.cache_card(id_text(card), "GBP", 1000, CardStatus.ACTIVE)
    cashier = Till(staffed, client, cashier=Person.of(SAM))
    assert cashier.redeem(card_token(key, card), 300).approved
    assert Till(staffed, client).redeem(card_token(key, card), 100).approved  # no one
    events = staffed.pending()
    assert [e.payload.get("cashier_id") for e in events] == ["sam-id", None]
    assert "cashier_id" not in events[1].payload  # signed as before sign-in existed
    journal = staffed.journal(since=datetime.now(UTC) - timedelta(hours=1))
    assert [(e.amount.minor, e.cashier) for e in journal] == [(100, None), (300, "Sam")]


def test_the_session_signs_in_and_out_and_follows_the_owner_s_changes(staffed, key):
    session = TerminalSession(staffed.path, clock=lambda: NOW)
    try:
        assert session.sign_in("alex-id", "5930").role is StaffRole.MANAGER
        assert session.shop().cashier == "Alex"
        demoted = ALEX.model_copy(update={"role": StaffRole.CASHIER})
        session.store.apply_changes(staff_page(key, staff=[demoted]))
        assert session.recheck_signed_in() == Person("alex-id", "Alex", StaffRole.CASHIER)
        session.store.apply_changes(staff_page(key, removed=["alex-id"]))
        assert session.recheck_signed_in() is None  # PIN cleared: signed out
        assert session.sign_in("sam-id", "4821").name == "Sam"
        assert session.sign_out() == Person.of(SAM)
        assert session.signed_in is None
    finally:
        session.close()


def test_the_headless_till_names_a_known_cashier_and_refuses_an_unknown_one(staffed, key):
    session = TerminalSession(staffed.path, timeout=0.5)
    try:
        headless = HeadlessTill(session)
        card = new_id()
        staffed.cache_card(id_text(card), "GBP", 1000, CardStatus.ACTIVE)
        answer = headless.redeem(card_token(key, card), "2.00", cashier="sam")
        assert (answer.document["approved"], answer.document["cashier"]) == (True, "Sam")
        assert session.store.pending()[-1].payload["cashier_id"] == "sam-id"
        with pytest.raises(BadInputError, match=r"no one called 'Kim'.*Alex, Sam"):
            headless.redeem(card_token(key, card), "1.00", cashier="Kim")
        assert session.store.pending_count() == 1  # nothing taken
    finally:
        session.close()


# -- a role a newer server added ------------------------------------------------------------

AUDITOR = "Sam's role at this till (auditor) is newer than this till knows: update the till."


def pull_with_an_auditor(store, key, card_id: str) -> None:
    """Pull, through the real client and sync engine, a page on which Sam's role is one this
    till was built without, beside Alex (a manager) and a card."""
    document = {**page(key).model_dump(mode="json"), "cursor": 7}
    auditor = {**SAM.model_dump(mode="json"), "role": "auditor"}
    document["staff"] = [auditor, ALEX.model_dump(mode="json")]
    expires = (datetime.now(UTC) + timedelta(days=365)).isoformat()
    document["cards"] = [
        {
            "id": card_id,
            "currency": "GBP",
            "balance_minor": 1500,
            "status": "active",
            "expires_at": expires,
            "version": 1,
        }
    ]
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=document))
    auth = DeviceAuth("dev", "secret")
    with SyncClient(unused_url(), auth=auth, http=httpx.Client(transport=transport)) as client:
        pull_changes(client, store, PushSummary())


def test_a_staff_role_added_later_is_pulled_and_signs_no_one_in(store, key):
    card = new_id()
    pull_with_an_auditor(store, key, id_text(card))
    # The rest of the page is kept: the card, the cursor, Alex.
    cached = store.card(id_text(card))
    assert cached is not None
    assert cached.balance_minor == 1500
    assert store.cursor() == 7
    assert [(s.name, s.role) for s in store.staff()] == [
        ("Alex", StaffRole.MANAGER),
        ("Sam", NewerValue("auditor")),
    ]
    assert sign_in(store, "alex-id", "5930", NOW).manages
    # Sam's own PIN does not sign Sam in, and is not counted as a wrong one.
    with pytest.raises(SignInRefusedError) as refused:
        sign_in(store, "sam-id", "4821", NOW)
    assert str(refused.value) == AUDITOR
    assert not refused.value.wrong_pin
    assert store.sign_in_failures() == (0, None)


def test_someone_signed_in_whose_role_becomes_newer_is_signed_out(staffed, key):
    session = TerminalSession(staffed.path, clock=lambda: NOW)
    try:
        assert session.sign_in("sam-id", "4821").name == "Sam"
        pull_with_an_auditor(session.store, key, id_text(new_id()))
        assert session.recheck_signed_in() is None
        assert session.signed_in is None
    finally:
        session.close()


def test_the_headless_till_refuses_a_cashier_whose_role_is_newer(store, key):
    card = new_id()
    pull_with_an_auditor(store, key, id_text(card))
    session = TerminalSession(store.path, timeout=0.5)
    try:
        headless = HeadlessTill(session)
        with pytest.raises(BadInputError, match=r"\(auditor\) is newer.*leave out --cashier"):
            headless.redeem(card_token(key, card), "1.00", cashier="Sam")
        assert session.store.pending_count() == 0  # nothing taken
        answer = headless.redeem(card_token(key, card), "1.00", cashier="Alex")
        assert answer.document["cashier"] == "Alex"
    finally:
        session.close()
