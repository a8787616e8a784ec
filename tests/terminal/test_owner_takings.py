"""Today's takings as the owner's screen words them, and the till's own time zone that
decides which day "today" is."""

from datetime import date

import pytest

from sync.money import Money
from sync.wire import BusinessReport
from terminal.core.owner import Takings, till_time_zone


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
