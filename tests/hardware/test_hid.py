"""USB scanners type fast and end with Enter; people type slowly."""

from hardware import KeystrokeAssembler


def type_keys(assembler, keys, gap):
    results, at = [], 0.0
    for key in keys:
        at += gap
        results.append(assembler.feed(key, at))
    return [code for code in results if code]


def test_a_scanner_burst_ending_in_enter_is_a_code():
    assert type_keys(KeystrokeAssembler(), [*"TP1:ABC123", "enter"], gap=0.005) == ["TP1:ABC123"]


def test_slow_typing_is_not_taken_for_a_scan():
    assert type_keys(KeystrokeAssembler(), [*"hello", "enter"], gap=0.3) == []


def test_a_function_key_in_the_middle_breaks_the_burst():
    assert type_keys(KeystrokeAssembler(), [*"TP1", "f2", *"AB", "enter"], gap=0.005) == []


def test_two_scans_in_a_row_are_two_codes():
    keys = [*"TP1:ONE", "enter", *"TP1:TWO", "enter"]
    assert type_keys(KeystrokeAssembler(), keys, gap=0.005) == ["TP1:ONE", "TP1:TWO"]
