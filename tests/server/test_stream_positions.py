"""What a stream makes of the Last-Event-ID it is sent: its own ids back, and anything else
as "start at the head" (never an error, never a position beyond what a log can hold)."""

from __future__ import annotations

import pytest

from server.realtime.streams import format_positions, parse_positions, parse_terminal_position


@pytest.mark.parametrize(
    ("header", "position"),
    [
        ("4182", 4182),
        (" 7 ", 7),
        (None, None),
        ("", None),
        ("-1", None),
        ("4e3", None),
        ("a\x00b", None),
        ("9" * 400, 2**62),
        ("١٢", None),  # digits of another script: not a position
    ],
)
def test_a_terminal_position(header, position):
    assert parse_terminal_position(header) == position


def test_card_stream_ids_round_trip():
    positions = {"shop-b": 40, "shop-a": 12}
    assert parse_positions(format_positions(positions)) == positions


@pytest.mark.parametrize(
    "header", ["", "junk", "a:", ":5", "a:-1", "a:x", "a\x00:1,", "x" * 100 + ":1", ",,,"]
)
def test_card_stream_ids_that_do_not_parse_are_left_out(header):
    assert parse_positions(header) == {}
