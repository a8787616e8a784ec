"""The pull: what changed since a cursor, for the device's business only."""

import pytest

from server.billing.models import Subscription
from server.events import events_after
from sync.client import ServerRefusedError
from sync.wire import SubscriptionStatus
from tests.server.api import buy_card, buy_voucher, create_deal, open_shop
from tests.server.console import signed_in_admin
from tests.server.test_sync_push import Terminal


def test_first_pull_brings_the_cards_then_only_what_changed(client, shop, customer):
    card = buy_card(customer, shop, 1500).json()
    till = Terminal(client, shop)
    first = till.api.pull(0)
    assert [(c.id, c.balance_minor, c.status) for c in first.cards] == [
        (card["id"], 1500, "active")
    ]
    assert first.trust_list["keys"]
    assert till.api.pull(first.cursor).cards == []
    shop.redeem(500, card_id=card["id"])
    later = till.api.pull(first.cursor)
    assert [(c.id, c.balance_minor) for c in later.cards] == [(card["id"], 1000)]
    assert later.cursor > first.cursor


def test_pages_follow_the_cursor(client, shop, customer):
    ids = {buy_card(customer, shop, 100 + n).json()["id"] for n in range(3)}
    till = Terminal(client, shop)
    seen, cursor, pages = set(), 0, 0
    while True:
        page = till.api.pull(cursor, limit=1)
        seen |= {c.id for c in page.cards}
        cursor, pages = page.cursor, pages + 1
        if not page.more:
            break
    assert seen == ids
    assert pages >= 3


def test_reissue_sends_the_old_token_id_as_revoked(client, shop, customer):
    card = buy_card(customer, shop, 1000).json()
    till = Terminal(client, shop)
    cursor = till.api.pull(0).cursor
    customer.post(f"/api/v1/gift-cards/{card['id']}/reissue")
    page = till.api.pull(cursor)
    assert len(page.revoked_token_ids) == 1
    assert [c.id for c in page.cards] == [card["id"]]


def test_vouchers_and_deals_come_along(client, shop, customer):
    deal = create_deal(shop).json()
    voucher = buy_voucher(customer, deal["id"]).json()
    page = Terminal(client, shop).api.pull(0)
    assert [d.id for d in page.deals] == [deal["id"]]
    assert [(v.id, v.status) for v in page.vouchers] == [(voucher["id"], "issued")]


def test_another_business_sees_none_of_it(client, shop, customer):
    buy_card(customer, shop, 1000)
    other = Terminal(client, open_shop(client, "Other"))
    assert other.api.pull(0).cards == []


def test_a_blocked_card_is_pulled_as_blocked(client, shop, customer):
    card = buy_card(customer, shop, 100).json()
    till = Terminal(client, shop)
    cursor = till.api.pull(0).cursor
    till.push(till.event(card_id=card["id"], amount_minor=300))  # overspent offline
    (pulled,) = till.api.pull(cursor).cards
    assert (pulled.status, pulled.balance_minor) == ("blocked", 0)


def test_offline_limits_are_set_by_the_owner_and_pulled(client, shop):
    till = Terminal(client, shop)
    assert till.api.pull(0).offline_limits.max_single_minor == 5000  # the default
    limits = {
        "max_single_minor": 2500,
        "max_per_card_minor": 4000,
        "max_unsynced_minor": 20000,
        "max_cache_age_seconds": 7200,
        "stale_cache_max_minor": 0,
    }
    path = f"/api/v1/businesses/{shop.business_id}/offline-limits"
    assert (
        shop.cashier.client.put(path, json=limits, headers=shop.cashier.headers).status_code == 403
    )
    assert shop.owner.client.put(path, json=limits, headers=shop.owner.headers).json() == limits
    assert shop.cashier.get(path).json() == limits
    assert till.api.pull(0).offline_limits.model_dump() == limits


def test_nonsense_limits_are_refused(client, shop):
    path = f"/api/v1/businesses/{shop.business_id}/offline-limits"
    response = shop.owner.client.put(
        path,
        headers=shop.owner.headers,
        json={
            "max_single_minor": -1,
            "max_per_card_minor": 0,
            "max_unsynced_minor": 0,
            "max_cache_age_seconds": 5,
            "stale_cache_max_minor": 0,
        },
    )
    assert response.status_code == 422
    assert "max_single_minor" in response.json()["detail"]


@pytest.mark.parametrize(
    ("single", "per_card", "unsynced", "field", "larger"),
    [
        (5_000, 2_000, 20_000, "max_single_minor", "max_per_card_minor"),
        (1_000, 30_000, 20_000, "max_per_card_minor", "max_unsynced_minor"),
    ],
)
def test_contradictory_limits_are_refused_and_change_nothing(
    client, shop, single, per_card, unsynced, field, larger
):
    """One redemption above one card's limit, or one card's above all unsynced, could never
    be approved as typed: refused, naming the field, as the till's Owner tab refuses it."""
    path = f"/api/v1/businesses/{shop.business_id}/offline-limits"
    before = shop.owner.get(path).json()
    response = shop.owner.client.put(
        path,
        headers=shop.owner.headers,
        json={
            "max_single_minor": single,
            "max_per_card_minor": per_card,
            "max_unsynced_minor": unsynced,
            "max_cache_age_seconds": 3600,
            "stale_cache_max_minor": 0,
        },
    )
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["errors"][0]["field"] == field
    assert larger in problem["detail"]
    assert shop.owner.get(path).json() == before


def test_the_first_sync_is_a_snapshot_in_pages(client, shop, customer):
    ids = {buy_card(customer, shop, 100 + n).json()["id"] for n in range(5)}
    deal = create_deal(shop).json()
    till = Terminal(client, shop)
    first = till.api.snapshot(None, None, limit=2)
    assert [d.id for d in first.deals] == [deal["id"]]
    assert first.trust_list["keys"]
    seen, page = {c.id for c in first.cards}, first
    while page.next_after:
        page = till.api.snapshot(page.next_after, first.cursor, limit=2)
        assert page.deals == []  # the rest comes with the first page only
        seen |= {c.id for c in page.cards}
    assert seen == ids
    # Changes made after the snapshot began are in the pull from its cursor.
    changed = next(iter(ids))
    shop.redeem(50, card_id=changed)
    assert [c.id for c in till.api.pull(first.cursor).cards] == [changed]


def test_an_impossible_cursor_is_a_clear_error(client, shop):
    till = Terminal(client, shop)
    with pytest.raises(ServerRefusedError) as refused:
        till.api.pull(2**70)
    assert (refused.value.status, refused.value.kind) == (422, "invalid-request")


def test_a_product_or_branch_removed_since_is_pulled_as_removed(client, shop):
    base = f"/api/v1/businesses/{shop.business_id}"
    product = shop.owner.post(f"{base}/products", {"name": "Scone", "price_minor": 250}).json()
    branch = shop.owner.post(
        f"{base}/branches", {"name": "Pop-up", "address": "x", "latitude": 0, "longitude": 0}
    ).json()
    till = Terminal(client, shop)
    first = till.api.pull(0)
    assert [p.id for p in first.products] == [product["id"]]
    for path in (f"{base}/products/{product['id']}", f"{base}/branches/{branch['id']}"):
        assert client.delete(path, headers=shop.owner.headers).status_code == 204
    later = till.api.pull(first.cursor)
    assert (later.removed_products, later.removed_branches) == (
        [product["id"]],
        [branch["id"]],
    )
    assert later.products == []


def test_a_terminal_that_pulls_is_seen_by_its_owner(client, shop):
    till = Terminal(client, shop)
    devices = f"/api/v1/businesses/{shop.business_id}/devices"
    assert shop.owner.get(devices).json()["items"][0]["last_seen_at"] is None
    till.api.pull(0)
    assert shop.owner.get(devices).json()["items"][0]["last_seen_at"] is not None


def _business_events_after(client, shop, position: int) -> list[tuple[str, str]]:
    with client.app.state.sessions() as session:
        return [(e.entity, e.kind) for e in events_after(session, shop.business_id, position, 100)]


def test_an_operators_suspension_and_restoration_reach_the_terminals_through_the_log(client, shop):
    till = Terminal(client, shop)
    first = till.api.pull(0)
    assert first.suspended_by_operators is False
    admin = signed_in_admin(client)
    page = f"/console/businesses/{shop.business_id}"

    assert admin.submit(page, f"{page}/suspend", reason="Counterfeit vouchers").status_code == 303
    assert _business_events_after(client, shop, first.cursor) == [("business", "updated")]
    suspended = till.api.pull(first.cursor)
    assert suspended.cursor > first.cursor
    assert suspended.suspended_by_operators is True
    assert till.api.snapshot(None, None).suspended_by_operators is True  # a till paired now
    # The operator's reason is for the audit log, not for the till.
    assert "Counterfeit" not in suspended.model_dump_json()

    assert admin.submit(page, f"{page}/restore", reason="Checked: genuine").status_code == 303
    assert _business_events_after(client, shop, suspended.cursor) == [("business", "updated")]
    restored = till.api.pull(suspended.cursor)
    assert restored.cursor > suspended.cursor
    assert restored.suspended_by_operators is False
    assert till.api.snapshot(None, None).suspended_by_operators is False


def test_billings_suspension_stays_the_plans_status_not_the_operators(client, shop):
    with client.app.state.sessions() as session:
        subscription = session.get(Subscription, shop.business_id)
        subscription.status = SubscriptionStatus.SUSPENDED
        session.commit()
    pulled = Terminal(client, shop).api.pull(0)
    assert pulled.plan is not None
    assert pulled.plan.status is SubscriptionStatus.SUSPENDED
    assert pulled.suspended_by_operators is False
