"""The owner's Staff screen (F7) through the Textual app at 80x24 (`App.run_test`): a save
goes to the person picked, whatever the table's cursor did since; the owner stays owner and
no one else becomes it; Delete clears a PIN only from the table and only after Y; names are
drawn as typed. The server's calls are stood in for at the client (`SyncClient`), so what
the till sent is what is checked."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable, Footer, Input

from sync.client import SyncClient
from sync.tokens import IssuerKey
from sync.wire import StaffPinSet, StaffRole, TillStaffPublic
from terminal.app.screens.signin import SignInScreen
from terminal.app.screens.staff import ConfirmClearPinScreen, StaffScreen
from terminal.core.session import TerminalSession
from tests.terminal.test_roles_app import Counter, until

pytestmark = pytest.mark.anyio

OWNER_EMAIL = "olive@example.com"


class Server:
    """The business's till staff as the server keeps them, and each change the till asked
    for: (user id, role or None for a cleared PIN)."""

    def __init__(self) -> None:
        self.people = {
            p.id: p
            for p in [
                TillStaffPublic(
                    id="olive-id",
                    email=OWNER_EMAIL,
                    name="Olive",
                    role=StaffRole.OWNER,
                    has_pin=True,
                ),
                TillStaffPublic(
                    id="alex-id",
                    email="alex@example.com",
                    name="Alex",
                    role=StaffRole.MANAGER,
                    has_pin=True,
                ),
                TillStaffPublic(
                    id="kim-id", email="kim@example.com", name="Kim [/b]", role=None, has_pin=False
                ),
                TillStaffPublic(
                    id="sam-id",
                    email="sam@example.com",
                    name="Sam",
                    role=StaffRole.CASHIER,
                    has_pin=True,
                ),
            ]
        }
        self.changes: list[tuple[str, StaffRole | None]] = []

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        server = self

        def till_staff(client, business_id, token):
            return list(server.people.values())

        def set_till_pin(client, business_id, user_id, body: StaffPinSet, token):
            server.changes.append((user_id, body.role))
            person = server.people[user_id]
            update = {"role": body.role, "has_pin": True, "name": body.name or person.name}
            server.people[user_id] = person.model_copy(update=update)
            return server.people[user_id]

        def clear_till_pin(client, business_id, user_id, token):
            server.changes.append((user_id, None))
            update = {"role": None, "has_pin": False}
            server.people[user_id] = server.people[user_id].model_copy(update=update)

        monkeypatch.setattr(SyncClient, "till_staff", till_staff)
        monkeypatch.setattr(SyncClient, "set_till_pin", set_till_pin)
        monkeypatch.setattr(SyncClient, "clear_till_pin", clear_till_pin)
        monkeypatch.setattr(SyncClient, "account_id", lambda client, token: "olive-id")
        monkeypatch.setattr(TerminalSession, "sign_in_owner", lambda session, e, p: "token")


@pytest.fixture
def server(monkeypatch):
    server = Server()
    server.install(monkeypatch)
    return server


@pytest.fixture
def counter(tmp_path):
    counter = Counter(tmp_path, IssuerKey.generate())
    yield counter
    counter.close()


def text_of(widget) -> str:
    return str(widget.render())


async def staff_screen(pilot, app) -> StaffScreen:
    """The owner signs in with the account, then F7: the list, loaded."""
    await until(pilot, lambda: isinstance(app.screen, SignInScreen), "the sign-in screen")
    app.screen.query_one("#account-email", Input).focus()
    await pilot.press(*OWNER_EMAIL, "enter", *"password", "enter")
    await until(pilot, lambda: app.session.owner_token is not None, "the owner signed in")
    await pilot.press("f7")
    screen = app.screen
    assert isinstance(screen, StaffScreen)
    table = screen.query_one(DataTable)
    await until(pilot, lambda: table.row_count == 4, "the list")
    return screen


def row_of(table: DataTable[object], user_id: str) -> int:
    return table.get_row_index(user_id)


async def test_a_second_save_goes_to_the_same_person_not_the_row_the_cursor_jumped_to(
    counter, server
):
    app = counter.app
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await staff_screen(pilot, app)
        table = screen.query_one(DataTable)
        said = screen.query_one("#staff-message")
        table.focus()
        table.move_cursor(row=row_of(table, "sam-id"))
        await pilot.press("enter")
        assert screen.query_one("#staff-name", Input).value == "Sam"
        await pilot.press(*"4821", "enter")
        await until(pilot, lambda: text_of(said).startswith("Saved: Sam"), "the first save")
        assert table.cursor_row == row_of(table, "sam-id")  # the list reloaded, cursor kept
        await pilot.press(*"6142", "enter")  # a typo put right: the same person again
        await until(pilot, lambda: len(server.changes) == 2, "the second save")
        assert server.changes == [("sam-id", "cashier"), ("sam-id", "cashier")]
        assert server.people["olive-id"].role == "owner"
        assert table.cursor_row == row_of(table, "sam-id")

        table.move_cursor(row=row_of(table, "alex-id"))  # moving the cursor picks no one
        screen.query_one("#staff-pin", Input).focus()
        await pilot.press(*"7305", "enter")
        await until(pilot, lambda: len(server.changes) == 3, "the third save")
        assert server.changes[-1] == ("sam-id", "cashier")


async def test_a_name_with_brackets_is_listed_picked_and_saved_as_typed(counter, server):
    app = counter.app
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await staff_screen(pilot, app)
        table = screen.query_one(DataTable)
        assert str(table.get_row_at(row_of(table, "kim-id"))[0]) == "Kim [/b]"
        table.focus()
        table.move_cursor(row=row_of(table, "kim-id"))
        await pilot.press("enter", *"4821", "enter")
        said = screen.query_one("#staff-message")
        await until(pilot, lambda: text_of(said).startswith("Saved:"), "the save")
        assert text_of(said).startswith("Saved: Kim [/b] signs in as cashier")


async def test_the_owner_stays_owner_and_no_one_else_becomes_it(counter, server):
    # As the audit left it: the owner's account demoted by an earlier save (and server).
    demoted = server.people["olive-id"].model_copy(update={"role": StaffRole.CASHIER})
    server.people["olive-id"] = demoted
    app = counter.app
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await staff_screen(pilot, app)
        table = screen.query_one(DataTable)
        said = screen.query_one("#staff-message")
        role = screen.query_one("#staff-role", Input)
        table.focus()
        table.move_cursor(row=row_of(table, "olive-id"))
        await pilot.press("enter")
        assert role.value == "owner"  # put right by the next save
        role.value = "cashier"
        await pilot.press(*"4821", "enter")
        await until(pilot, lambda: "owner" in text_of(said), "the refusal")
        assert text_of(said).startswith("Not saved: you are the business's owner")
        table.focus()
        table.move_cursor(row=row_of(table, "kim-id"))
        await pilot.press("enter")
        assert role.value == "cashier"  # no PIN yet: a cashier to start with
        role.value = "owner"
        await pilot.press(*"4821", "enter")
        await until(pilot, lambda: "only the business's owner" in text_of(said), "the refusal")
        assert server.changes == []


async def test_delete_clears_a_pin_only_from_the_table_and_only_after_y(counter, server):
    app = counter.app
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await staff_screen(pilot, app)
        table = screen.query_one(DataTable)
        table.focus()
        table.move_cursor(row=row_of(table, "sam-id"))
        await pilot.press("enter")
        name = screen.query_one("#staff-name", Input)
        name.focus()
        name.cursor_position = len(name.value)
        await pilot.press("delete")  # typing in a field: only the field hears it
        await pilot.pause(0.2)
        assert app.screen is screen
        assert server.changes == []

        table.focus()
        await pilot.press("delete")
        assert isinstance(app.screen, ConfirmClearPinScreen)
        assert "Sam" in text_of(app.screen.query_one("#confirm Static"))
        await pilot.pause()
        shown = {key.key_display for key in screen.query_one(Footer).query("FooterKey")}
        assert not shown & {"Del", "F1/^s", "F4/^o", "F5/^r"}  # a question first: Y or N
        await pilot.press("n")
        assert app.screen is screen
        assert table.has_focus
        await pilot.press("delete")
        assert isinstance(app.screen, ConfirmClearPinScreen)
        await pilot.press("escape")
        assert app.screen is screen
        assert server.changes == []
        await pilot.press("delete")
        assert isinstance(app.screen, ConfirmClearPinScreen)
        await pilot.press("y")
        await until(pilot, lambda: server.changes == [("sam-id", None)], "the PIN cleared")
        said = screen.query_one("#staff-message")
        await until(pilot, lambda: text_of(said).startswith("Cleared: Sam"), "it said so")
        assert table.cursor_row == row_of(table, "sam-id")
