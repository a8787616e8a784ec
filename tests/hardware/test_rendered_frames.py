"""Our own tokens in rendered camera frames — rotated, blurred, tilted, noisy, dim, small —
through the same scanner a webcam feeds."""

import pytest

from hardware import Cooldown, QrDecoder, Scanner, ScriptedSource
from hardware.synthetic import Look, frame_with_codes
from sync.tokens import IssuerKey, issue
from tests.sync.conftest import gift_card, voucher

KEY = IssuerKey.generate()
CARD = issue(KEY, gift_card())
VOUCHER = issue(KEY, voucher())

LOOKS = {
    "straight": Look(),
    "rotated 33°": Look(angle=33),
    "upside down": Look(angle=180),
    "blurred": Look(blur=5),
    "tilted away": Look(tilt=0.3, angle=10),
    "noisy": Look(noise=25),
    "dim": Look(light=0.3, noise=5),
    "small in the frame": Look(size=0.25),
    "everything at once": Look(angle=20, tilt=0.2, blur=3, noise=10, light=0.6),
}


def scan(*frames):
    scanner = Scanner(ScriptedSource(frames), QrDecoder(), Cooldown(3.0, clock=lambda: 0.0))
    sightings = []
    while (sighting := scanner.poll()) is not None:
        sightings.append(sighting)
    return sightings


@pytest.mark.parametrize("size", [(640, 480), (1280, 720)], ids=["640x480", "1280x720"])
@pytest.mark.parametrize("look", LOOKS.values(), ids=LOOKS.keys())
def test_a_card_is_read_exactly(look, size):
    width, height = size
    [sighting] = scan(frame_with_codes([CARD], width, height, look))
    assert sighting.codes == (CARD,)


def test_two_codes_in_one_frame_are_both_reported():
    [sighting] = scan(frame_with_codes([CARD, VOUCHER], 1280, 720, Look(size=0.5)))
    # Both, in whichever order the decoder found them in the frame.
    assert sorted(sighting.new_codes) == sorted((CARD, VOUCHER))


def test_an_empty_counter_reads_nothing():
    frames = [frame_with_codes([], look=Look(noise=20, seed=seed)) for seed in range(5)]
    assert all(sighting.codes == () for sighting in scan(*frames))


def test_a_code_too_blurred_to_read_gives_no_text_rather_than_a_wrong_one():
    [sighting] = scan(frame_with_codes([CARD], look=Look(size=0.3, blur=15)))
    assert sighting.codes in {(), (CARD,)}
