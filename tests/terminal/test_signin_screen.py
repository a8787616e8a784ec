"""The sign-in screen as the person at the till meets it, through the Textual app at 80x24
(`App.run_test`), with no server: names drawn as they were typed (brackets and all), in the
order a person reads them, and a refusal or the wait after wrong PINs that stays on screen
until it is over, whatever the background sync does meanwhile."""

from __future__ import annotations

from datetime import timedelta

import pytest
from textual.widgets import OptionList

from sync.engine import PushSummary
from sync.pins import hash_pin
from sync.wire import READING_ANSWERS, ChangesPage, StaffRole, StaffState
from terminal.app.messages import SyncFinished
from terminal.app.screens.scan import ScanScreen
from terminal.app.screens.signin import SignInScreen
from terminal.app.status import StatusLine
from terminal.core.staff import SignInRefusedError
from tests.terminal.test_roles_app import EVERYONE, STAFF, Counter, sign_in, until
from tests.terminal.test_till_offline import page

pytestmark = pytest.mark.anyio

BRACKETS = StaffState(
    id="brackets-id", name="Sam [/b]", role=StaffRole.CASHIER, pin_hash=hash_pin("6142", cost=4)
)
LOWER = StaffState(
    id="lower-id", name="cashier", role=StaffRole.CASHIER, pin_hash=hash_pin("6142", cost=4)
)


@pytest.fixture
def counter(tmp_path, key):
    counter = Counter(tmp_path, key)
    yield counter
    counter.close()


def text_of(widget) -> str:
    return str(widget.render())


def names_listed(app) -> list[str]:
    people = app.screen.query_one("#people")
    return [str(people.get_option_at_index(i).prompt) for i in range(people.option_count)]


async def a_sync_pulled(pilot, app) -> None:
    """What the background sync does after a pull that moved something (every few seconds
    while the stream is down): the sign-in screen's names are drawn again."""
    app.post_message(SyncFinished(PushSummary(pulled=1), "Synced: 0 sent, 1 change received"))
    await pilot.pause(0.1)


async def test_a_name_with_brackets_opens_the_sign_in_screen_and_shows_as_typed(tmp_path, key):
    counter = Counter(tmp_path, key, staff=(*EVERYONE, BRACKETS))
    app = counter.app
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: isinstance(app.screen, SignInScreen), "the sign-in screen")
            assert "Sam [/b] · cashier" in names_listed(app)
            people = app.screen.query_one("#people", OptionList)
            people.highlighted = names_listed(app).index("Sam [/b] · cashier")
            await pilot.press(*"6142", "enter")
            await until(pilot, lambda: isinstance(app.screen, ScanScreen), "Sam [/b] signed in")
            assert "Signed in: Sam [/b] (cashier)." in counter.said
            await pilot.pause(1.1)  # the status line's own refresh, too
            assert text_of(app.screen.query_one(StatusLine)).startswith("Sam [/b] (cashier) · ")
            await pilot.press("f4")
            await until(pilot, lambda: isinstance(app.screen, SignInScreen), "signed out")
            assert "Sam [/b] signed out." in counter.said
    finally:
        counter.close()


async def test_the_names_are_in_alphabetical_order_whatever_their_case(tmp_path, key):
    counter = Counter(tmp_path, key, staff=(*EVERYONE, LOWER))
    app = counter.app
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: isinstance(app.screen, SignInScreen), "the sign-in screen")
            assert names_listed(app) == [
                "Alex · manager",
                "cashier · cashier",
                "Olive · owner",
                "Sam · cashier",
            ]
    finally:
        counter.close()


async def test_a_wrong_pin_stays_said_while_the_background_sync_runs(counter):
    app = counter.app
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, SignInScreen), "the sign-in screen")
        message = app.screen.query_one("#signin-message")
        await sign_in(pilot, app, "Sam", "1111")
        await until(pilot, lambda: "Wrong PIN" in text_of(message), "the refusal")
        said = text_of(message)
        await a_sync_pulled(pilot, app)
        assert text_of(message) == said
        assert app.screen.picked_id() == "sam-id"  # the names redrawn, the pick kept


async def test_the_wait_after_wrong_pins_counts_down_and_outlasts_the_sync(counter):
    app = counter.app
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, SignInScreen), "the sign-in screen")
        message = app.screen.query_one("#signin-message")
        for wrong in ("1111", "2222", "3333"):
            await sign_in(pilot, app, "Sam", wrong)
            await until(pilot, lambda: "Wrong PIN" in text_of(message), "the refusal")
        assert "the next try in 30 seconds" in text_of(message)
        await a_sync_pulled(pilot, app)
        assert "the next try in 30 seconds" in text_of(message)

        counter.now += timedelta(seconds=12)
        await until(pilot, lambda: "in 18 seconds" in text_of(message), "the wait, counting down")
        await a_sync_pulled(pilot, app)
        assert "in 18 seconds" in text_of(message)

        await sign_in(pilot, app, "Sam")  # the right PIN, too soon: says why it is not taken
        await until(pilot, lambda: text_of(message).startswith("Too many"), "the wait")
        assert "in 18 seconds" in text_of(message)
        assert app.session.signed_in is None

        counter.now += timedelta(seconds=18)
        await until(pilot, lambda: "Too many" not in text_of(message), "the end of the wait")
        assert "try again" in text_of(message)
        await sign_in(pilot, app, "Sam")
        await until(pilot, lambda: app.session.signed_in is not None, "Sam signed in")


async def test_a_restarted_till_shows_the_wait_before_anyone_types(tmp_path, key):
    first = Counter(tmp_path, key)
    for _ in range(3):
        with pytest.raises(SignInRefusedError, match="Wrong PIN"):
            first.app.session.sign_in("sam-id", "0000")
    first.app.session.close()
    first.close()

    again = Counter(tmp_path, key)
    again.now = first.now + timedelta(seconds=5)
    app = again.app
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: isinstance(app.screen, SignInScreen), "the sign-in screen")
            message = app.screen.query_one("#signin-message")
            await until(pilot, lambda: "in 25 seconds" in text_of(message), "the wait")
            assert text_of(message).startswith("Too many wrong PINs")
    finally:
        again.close()


async def test_a_role_newer_than_the_till_is_listed_and_says_why_it_cannot_sign_in(tmp_path, key):
    counter = Counter(tmp_path, key)
    auditor = {**STAFF["Sam"].model_dump(mode="json"), "role": "head_auditor"}
    newer = {**page(key).model_dump(mode="json"), "staff": [auditor]}
    counter.store.apply_changes(ChangesPage.model_validate(newer, context=READING_ANSWERS))
    app = counter.app
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: isinstance(app.screen, SignInScreen), "the sign-in screen")
            assert "Sam · head auditor" in names_listed(app)
            message = app.screen.query_one("#signin-message")
            await sign_in(pilot, app, "Sam")  # Sam's own PIN
            await until(pilot, lambda: "newer" in text_of(message), "the refusal")
            assert text_of(message) == (
                "Sam's role at this till (head auditor) is newer than this till knows: "
                "update the till."
            )
            assert app.session.signed_in is None
            assert app.session.store.sign_in_failures() == (0, None)  # no wrong PIN counted
    finally:
        counter.close()
