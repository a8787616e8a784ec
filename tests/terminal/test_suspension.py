"""A suspended business at the till: the pull says so (Tillpoint's operators, or billing for an
unpaid invoice); every screen shows what is paused, listing edits are refused here, offline
too, and nothing is queued; redemptions go on. The next pull after a restore clears it."""

from __future__ import annotations

import pytest
from textual.widgets import Input

from sync.money import Money
from sync.tokens import id_text, new_id
from sync.wire import ChangesPage, SubscriptionStatus
from terminal.app.screens.scan import ScanScreen, Step
from terminal.app.screens.signin import SignInScreen
from terminal.app.screens.vendor import VendorScreen
from terminal.app.status import SuspensionNotice
from terminal.core import catalogue
from terminal.core.catalogue import Branch
from terminal.core.kinds import CardStatus
from terminal.core.suspension import ListingEditsPausedError, SuspendedBy, suspension
from tests.terminal.test_roles_app import Counter, signed_in_as, until
from tests.terminal.test_till_offline import card_token, page

OPERATORS_NOTICE = (
    "This business is suspended by Tillpoint's operators: new sales and listing edits are "
    "paused. Cards and vouchers already sold can still be redeemed. The owner should contact "
    "Tillpoint support."
)
EDIT_REFUSED = (
    "Not saved: this business is suspended by Tillpoint's operators, so its listings cannot "
    "change. The owner should contact Tillpoint support."
)
PLAN = {
    "name": "Starter",
    "max_products": 10,
    "products": 0,
    "hibernating": False,
    "pending_plan": None,
}


def pulled(key, *, by_operators: bool, plan_status: SubscriptionStatus | None = None):
    """A pulled page saying how the business stands."""
    base = page(key).model_dump()
    plan = None if plan_status is None else {**PLAN, "status": plan_status}
    return ChangesPage.model_validate(
        {**base, "suspended_by_operators": by_operators, "plan": plan}
    )


@pytest.fixture
def counter(tmp_path, key):
    counter = Counter(tmp_path, key)
    yield counter
    counter.close()


@pytest.mark.parametrize(
    ("by_operators", "plan_status", "by"),
    [
        (False, None, None),
        (False, SubscriptionStatus.ACTIVE, None),
        (True, None, SuspendedBy.OPERATORS),
        (False, SubscriptionStatus.SUSPENDED, SuspendedBy.BILLING),
        # Paying the invoice lifts billing's suspension, never the operators'.
        (True, SubscriptionStatus.SUSPENDED, SuspendedBy.OPERATORS),
    ],
)
def test_the_pull_decides_who_suspended_the_business(counter, key, by_operators, plan_status, by):
    counter.store.apply_changes(pulled(key, by_operators=by_operators, plan_status=plan_status))
    found = suspension(counter.store)
    assert (found and found.by) == by


def test_while_suspended_no_listing_edit_is_queued_and_a_restore_lets_them_through(counter, key):
    store = counter.store
    store.apply_changes(pulled(key, by_operators=True))
    branch = Branch("High Street", "1 High St", id="branch00001")
    with pytest.raises(ListingEditsPausedError, match="suspended by Tillpoint's operators"):
        catalogue.edit_product(store, None, "Scone", Money.of(250, "GBP"))
    with pytest.raises(ListingEditsPausedError):
        catalogue.edit_branch(store, branch, "High Street", "2 High St", {})
    assert store.pending_count() == 0

    store.apply_changes(pulled(key, by_operators=False))
    assert suspension(store) is None
    catalogue.edit_product(store, None, "Scone", Money.of(250, "GBP"))
    assert store.pending_count() == 1


def test_billings_suspension_refuses_edits_in_its_own_words(counter, key):
    counter.store.apply_changes(
        pulled(key, by_operators=False, plan_status=SubscriptionStatus.SUSPENDED)
    )
    with pytest.raises(ListingEditsPausedError, match=r"unpaid invoice.*owner pays it"):
        catalogue.edit_product(counter.store, None, "Scone", Money.of(250, "GBP"))


@pytest.mark.anyio
async def test_a_suspended_till_says_so_refuses_edits_and_still_redeems(counter, key):
    card = new_id()
    counter.store.cache_card(id_text(card), "GBP", 2000, CardStatus.ACTIVE)
    counter.store.apply_changes(pulled(key, by_operators=True))
    app = counter.app
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, SignInScreen), "the sign-in screen")
        await signed_in_as(pilot, counter, "Olive")
        scan = app.screen
        assert isinstance(scan, ScanScreen)
        notice = scan.query_one(SuspensionNotice)
        assert notice.display
        assert str(notice.render()) == OPERATORS_NOTICE

        # Redemptions go on (offline here: the server is unreachable).
        scan.take_code(card_token(key, card))
        await pilot.press(*"4.20", "enter")
        await until(pilot, lambda: scan.step is Step.RECEIPT, "the verdict")
        assert scan.verdict_text.startswith("✔ APPROVED (offline)")
        assert "Balance left: £15.80" in scan.verdict_text
        await pilot.press("escape")

        # A new product is refused in words, and the fields keep what was typed.
        await pilot.press("f3")
        vendor = app.screen
        assert isinstance(vendor, VendorScreen)
        assert vendor.query_one(SuspensionNotice).display
        vendor.query_one("#product-name", Input).focus()
        await pilot.press(*"Scone", "enter", *"2.50", "enter")
        assert counter.said[-1] == EDIT_REFUSED
        assert vendor.query_one("#product-name", Input).value == "Scone"
        assert [e.type for e in counter.store.pending()] == ["gift_card_redemption"]

        # Restored: the next pull clears the notice, and the edit goes through.
        counter.store.apply_changes(pulled(key, by_operators=False))
        await until(pilot, lambda: not vendor.query_one(SuspensionNotice).display, "restored")
        await pilot.press("enter")
        assert counter.said[-1].startswith("Saved Scone at £2.50")
        assert len(counter.store.pending()) == 2
