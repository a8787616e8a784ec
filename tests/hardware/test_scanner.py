"""The cooldown: a code is reported once while it stays in view, again after it has gone."""

from hardware import Cooldown, QrDecoder, Scanner, ScriptedSource
from hardware.synthetic import frame_with_codes


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_a_code_seen_again_within_the_cooldown_is_not_reported_twice():
    clock = Clock()
    cooldown = Cooldown(3.0, clock)
    assert cooldown.fresh(["A"]) == ["A"]
    clock.now += 1
    assert cooldown.fresh(["A"]) == []
    clock.now += 2.5  # still in view: the cooldown started over at the last sighting
    assert cooldown.fresh(["A", "B"]) == ["B"]
    clock.now += 3.5  # out of sight for longer than the cooldown
    assert cooldown.fresh(["A"]) == ["A"]


def test_a_code_held_in_front_of_the_camera_is_reported_once():
    frame = frame_with_codes(["TP1:HELLO"])
    clock = Clock()
    scanner = Scanner(ScriptedSource([frame] * 5), QrDecoder(), Cooldown(3.0, clock))
    reported: list[str] = []
    while (sighting := scanner.poll()) is not None:
        reported.extend(sighting.new_codes)
        assert sighting.codes == ("TP1:HELLO",)
        clock.now += 1 / 30
    assert reported == ["TP1:HELLO"]
    assert scanner.frames == 5
