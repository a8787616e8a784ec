"""Today's takings as the owner's screen words them, and the time zone that decides which
day "today" is: the business's, as synced, else the till's own."""

from datetime import UTC, date, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.money import Money
from sync.wire import BusinessReport
from terminal.core.owner import OwnerDesk, Takings, business_time_zone, till_time_zone
from terminal.core.store import Pairing, TerminalStore
from tests.terminal.test_receipt_branches_and_copies import branches_page


def figure(minor: int, count: int) -> dict[str, object]:
    return {"amount": {"minor": minor, "currency": "GBP", "text": ""}, "count": count}


def report(online: tuple[int, int], offline: tuple[int, int], takings: int) -> BusinessReport:
    quiet = ("cards_sold", "vouchers_sold", "shortfalls", "voids", "refunds", "breakage")
    totals: dict[str, object] = dict.fromkeys(quiet, figure(0, 0))
    totals |= {
        "redeemed_online": figure(*online),
        "redeemed_offline": figure(*offline),
        "takings": {"minor": takings, "currency": "GBP", "text": ""},
    }
    return BusinessReport.model_validate(
        {
            "business_id": "biz",
            "currency": "GBP",
            "time_zone": "Europe/London",
            "from": "2026-11-30",
            "to": "2026-11-30",
            "group_by": None,
            "rows": [],
            "totals": totals,
            "liability_opening": {"minor": 0, "currency": "GBP", "text": ""},
            "liability_closing": {"minor": 0, "currency": "GBP", "text": ""},
            "subscription_charges": [],
        }
    )


def test_the_takings_count_redemptions_online_and_offline_net_of_voids_and_refunds():
    takings = Takings.of(report(online=(900, 2), offline=(350, 1), takings=1050))
    assert takings == Takings(date(2026, 11, 30), Money.of(1050, "GBP"), 3)
    assert takings.line() == (
        "Today's takings (Mon 30 Nov, all tills): £10.50 from 3 redemptions, "
        "less voids and refunds."
    )


def test_offline_the_screen_says_so_instead_of_a_figure():
    line = Takings(date(2026, 11, 30), None, why="server down", offline=True).line()
    assert line.startswith("Today's takings (Mon 30 Nov): not shown, this till is offline")
    assert "£" not in line


def test_refused_the_screen_says_why():
    line = Takings(date(2026, 11, 30), None, why="only owners and managers").line()
    assert line == "Today's takings (Mon 30 Nov): not shown, only owners and managers."


@pytest.mark.parametrize(
    ("tz", "zone"), [("America/New_York", "America/New_York"), (":Asia/Tokyo", "Asia/Tokyo")]
)
def test_the_tills_time_zone_comes_from_tz(monkeypatch, tz, zone):
    monkeypatch.setenv("TZ", tz)
    assert till_time_zone() == zone


def test_a_tz_that_names_no_zone_is_not_sent_to_the_server(monkeypatch):
    monkeypatch.setenv("TZ", "Europe")  # a folder of zones
    assert till_time_zone() != "Europe"


# Noon UTC is 02:00 the next day on Kiritimati (UTC+14) and midnight in Etc/GMT+12 (UTC-12):
# the shop's day and the till's are never the same day there.
NOON = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


class Session:
    """What `OwnerDesk` asks of the terminal's session: its clock, its store, and calls to
    the server as the owner, here answered by `Server`."""

    def __init__(self, store, clock):
        self.store = store
        self.clock = clock
        self.server = Server()

    def as_owner(self, call):
        return call(self.server, "biz")


class Server:
    """Answers the report call, noting which day and zone were asked for."""

    def __init__(self):
        self.asked = []

    def report(self, business_id, first, time_zone, access_token):
        self.asked.append((first, time_zone))
        return report(online=(450, 1), offline=(0, 0), takings=450)


@pytest.fixture
def store(tmp_path):
    store = TerminalStore(tmp_path / "till.db")
    store.save_pairing(
        Pairing("http://127.0.0.1:9", "dev", "biz", "secret", Ed25519PrivateKey.generate())
    )
    yield store
    store.close()


def synced_zone(store, zone):
    page = branches_page([])
    page.business_time_zone = zone
    store.apply_changes(page)


def test_today_is_the_business_day_wherever_the_till_is_set(store, monkeypatch):
    monkeypatch.setenv("TZ", "Etc/GMT+12")
    synced_zone(store, "Pacific/Kiritimati")
    session = Session(store, lambda: NOON)
    OwnerDesk(session, "token").takings()  # type: ignore[arg-type]
    assert session.server.asked == [(date(2026, 12, 1), "Pacific/Kiritimati")]


def test_before_the_server_sends_the_business_zone_today_is_the_tills(store, monkeypatch):
    monkeypatch.setenv("TZ", "Etc/GMT+12")
    synced_zone(store, None)  # an older server
    session = Session(store, lambda: NOON)
    OwnerDesk(session, "token").takings()  # type: ignore[arg-type]
    assert session.server.asked == [(date(2026, 11, 30), "Etc/GMT+12")]


def test_the_business_zone_is_kept_until_the_server_sends_another(store):
    synced_zone(store, "Europe/Lisbon")
    synced_zone(store, None)
    assert store.business_time_zone() == "Europe/Lisbon"
    synced_zone(store, "Asia/Tokyo")
    assert store.business_time_zone() == "Asia/Tokyo"


def test_a_zone_this_till_does_not_know_gives_way_to_the_tills(monkeypatch):
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    assert business_time_zone("Mars/Olympus_Mons") == "Asia/Tokyo"
    assert business_time_zone("Europe/Lisbon") == "Europe/Lisbon"
