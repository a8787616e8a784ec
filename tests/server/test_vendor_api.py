"""The vendors' API: change and remove a business, branch, product and deal; manage staff;
read one's own lists a page at a time. Every change reaches the terminals' pull."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from server.deals.models import Deal
from sync.client import SyncClient
from tests.server.api import (
    PASSWORD,
    buy_card,
    buy_voucher,
    create_deal,
    log_in,
    new_key,
    open_shop,
    sign_up,
)
from tests.server.test_sync_push import Terminal


def base(shop, tail=""):
    return f"/api/v1/businesses/{shop.business_id}{tail}"


def add_branch(shop, name="High Street"):
    body = {"name": name, "address": "1 High St", "latitude": 51.5, "longitude": -0.1}
    response = shop.owner.post(base(shop, "/branches"), body)
    assert response.status_code == 201, response.text
    return response.json()


def add_product(shop, name="Flat white", price=320):
    response = shop.owner.post(base(shop, "/products"), {"name": name, "price_minor": price})
    assert response.status_code == 201, response.text
    return response.json()


def problem(response, status):
    assert response.status_code == status, response.text
    return response.json()["type"].rsplit("/", 1)[-1]


# -- the business ----------------------------------------------------------------------------


def test_a_renamed_business_is_found_by_its_new_name_and_pulled_by_its_terminals(client, shop):
    till = Terminal(client, shop)
    cursor = till.api.pull(0).cursor
    etag = client.get(base(shop)).headers["etag"]
    changed = shop.owner.patch(base(shop), {"name": "Le Petit Café", "description": "croissants"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["name"] == "Le Petit Café"
    pulled = till.api.pull(cursor)
    assert pulled.cursor > cursor  # the change is in the business's log
    assert pulled.business_name == "Le Petit Café"
    fresh = client.get(base(shop), headers={"If-None-Match": etag})  # caches see the change
    assert (fresh.status_code, fresh.json()["name"]) == (200, "Le Petit Café")
    found = client.get("/api/v1/businesses", params={"q": "petit cafe"}).json()
    assert [b["id"] for b in found["items"]] == [shop.business_id]


@pytest.mark.parametrize(
    "body",
    [
        {"currency": "EUR"},  # money is held in it: it cannot change
        {"name": None},
        {"name": ""},
        {"category": "x" * 61},
    ],
)
def test_a_bad_change_to_a_business_changes_nothing(client, shop, body):
    assert problem(shop.owner.patch(base(shop), body), 422) == "invalid-request"
    shown = client.get(base(shop)).json()
    assert (shown["name"], shown["currency"]) == ("Corner Café", "GBP")


def test_a_business_has_a_time_zone_that_its_terminals_pull(client, shop):
    assert client.get(base(shop)).json()["time_zone"] == "UTC"  # unless its owner says
    owner = sign_up(client, "vendor")
    body = {"name": "Pastelaria", "category": "cafe", "currency": "EUR"}
    listed = owner.post("/api/v1/businesses", {**body, "time_zone": "Europe/Lisbon"})
    assert listed.status_code == 201, listed.text
    assert listed.json()["time_zone"] == "Europe/Lisbon"
    found = client.get("/api/v1/businesses", params={"q": "pastelaria"}).json()
    assert [b["time_zone"] for b in found["items"]] == ["Europe/Lisbon"]

    till = Terminal(client, shop)
    assert till.api.snapshot(None, None).business_time_zone == "UTC"
    cursor = till.api.pull(0).cursor
    changed = shop.owner.patch(base(shop), {"time_zone": "America/New_York"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["time_zone"] == "America/New_York"
    assert client.get(base(shop)).json()["time_zone"] == "America/New_York"
    pulled = till.api.pull(cursor)
    assert pulled.cursor > cursor  # the change is in the business's log
    assert pulled.business_time_zone == "America/New_York"


@pytest.mark.parametrize(
    "zone",
    [
        "Mars/Olympus_Mons",
        "europe/lisbon",  # zones are named as the tz database spells them
        "Europe",  # a folder of zones, not a zone
        "Europe/Lisbon ",
        "localtime",  # whatever the server's host is set to, not a zone
        "../../etc/passwd",
        "",
    ],
)
def test_a_time_zone_that_is_no_zone_is_refused_saying_what_to_send(client, shop, zone):
    refused = shop.owner.patch(base(shop), {"time_zone": zone, "name": "Renamed"})
    assert problem(refused, 422) == "invalid-time-zone"
    assert f"no time zone {zone!r}: send an IANA name" in refused.json()["detail"]
    shown = client.get(base(shop)).json()
    assert (shown["name"], shown["time_zone"]) == ("Corner Café", "UTC")

    owner = sign_up(client, "vendor")
    body = {"name": "Nowhere", "category": "cafe", "currency": "GBP", "time_zone": zone}
    assert problem(owner.post("/api/v1/businesses", body), 422) == "invalid-time-zone"
    assert owner.get("/api/v1/me").json()["businesses"] == []  # nothing was listed


@pytest.mark.parametrize("zone", [None, "Europe/" + "x" * 60, "Europe/Lisbon\x00"])
def test_a_malformed_time_zone_is_refused(client, shop, zone):
    assert problem(shop.owner.patch(base(shop), {"time_zone": zone}), 422) == "invalid-request"
    assert client.get(base(shop)).json()["time_zone"] == "UTC"


def test_a_closed_business_sells_nothing_new_but_honours_what_it_sold(client, shop, customer):
    card = buy_card(customer, shop, 1_000).json()
    deal = create_deal(shop).json()
    voucher = buy_voucher(customer, deal["id"]).json()
    till = Terminal(client, shop)
    cursor = till.api.pull(0).cursor

    assert shop.owner.delete(base(shop)).status_code == 204
    assert shop.owner.delete(base(shop)).status_code == 204  # again: nothing more happens

    assert client.get("/api/v1/businesses", params={"q": "corner"}).json()["total"] == 0
    assert problem(client.get(base(shop)), 404) == "business-not-found"
    assert client.get("/api/v1/deals").json()["items"] == []
    assert problem(buy_card(customer, shop, 500), 409) == "business-not-selling"
    refused = buy_voucher(customer, deal["id"])
    assert problem(refused, 409) == "business-not-selling"
    assert refused.json()["detail"] == (
        "Corner Café has closed and sells nothing new. Gift cards and vouchers you already "
        "have stay redeemable."
    )
    assert problem(shop.owner.patch(base(shop), {"name": "Back"}), 409) == "business-suspended"
    # What customers bought stays theirs.
    assert shop.redeem(400, card_id=card["id"]).status_code == 200
    redeemed = shop.cashier.post(
        base(shop, "/voucher-redemptions"), {"voucher_id": voucher["id"]}, key=new_key()
    )
    assert redeemed.status_code == 200, redeemed.text
    # The terminals learn the deal ended; the owner still reads the lists.
    assert [(d.id, d.ended) for d in till.api.pull(cursor).deals] == [(deal["id"], True)]
    own = shop.owner.get(base(shop, "/deals")).json()
    assert [d["status"] for d in own["items"]] == ["ended"]


# -- branches and products ---------------------------------------------------------------------


def test_a_changed_branch_reaches_the_terminals(client, shop):
    branch = add_branch(shop)
    till = Terminal(client, shop)
    cursor = till.api.pull(0).cursor
    hours = {"mon": [{"opens": "08:00", "closes": "17:00"}]}
    changed = shop.owner.patch(
        base(shop, f"/branches/{branch['id']}"), {"name": "Market Square", "opening_hours": hours}
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["name"], changed.json()["address"]) == ("Market Square", "1 High St")
    [pulled] = till.api.pull(cursor).branches
    assert (pulled.id, pulled.name) == (branch["id"], "Market Square")


def test_a_changed_product_reaches_the_terminals_and_a_bad_one_changes_nothing(client, shop):
    product = add_product(shop)
    till = Terminal(client, shop)
    cursor = till.api.pull(0).cursor
    path = base(shop, f"/products/{product['id']}")
    for bad in ({"price_minor": -1}, {"price_minor": None}, {"currency": "EUR"}):
        assert problem(shop.owner.patch(path, bad), 422) == "invalid-request"
    assert till.api.pull(cursor).products == []  # nothing changed, nothing to pull
    assert shop.owner.patch(path, {"price_minor": 350}).json()["price"]["minor"] == 350
    [pulled] = till.api.pull(cursor).products
    assert (pulled.id, pulled.price_minor, pulled.version) == (product["id"], 350, 2)


def test_another_business_listings_are_not_found(client, shop):
    other = open_shop(client, "Other")
    branch, product = add_branch(other), add_product(other)
    assert problem(
        shop.owner.patch(base(shop, f"/branches/{branch['id']}"), {"name": "Mine"}), 404
    ) == ("branch-not-found")
    assert problem(
        shop.owner.patch(base(shop, f"/products/{product['id']}"), {"name": "Mine"}), 404
    ) == ("product-not-found")
    assert client.get(f"/api/v1/businesses/{other.business_id}").json()["branches"][0]["name"] == (
        "High Street"
    )


# -- deals -------------------------------------------------------------------------------------


def test_a_changed_deal_reaches_the_terminals(client, shop, customer):
    deal = create_deal(shop, quantity_limit=5).json()
    buy_voucher(customer, deal["id"])
    till = Terminal(client, shop)
    cursor = till.api.pull(0).cursor
    path = base(shop, f"/deals/{deal['id']}")
    changed = shop.owner.patch(path, {"title": "Three for two", "quantity_limit": None})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["title"], changed.json()["remaining"], changed.json()["sold"]) == (
        "Three for two",
        None,
        1,
    )
    [pulled] = till.api.pull(cursor).deals
    assert (pulled.title, pulled.version) == ("Three for two", changed.json()["version"])


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        ({"quantity_limit": 0}, "invalid-request"),
        ({"deal_price_minor": 700}, "invalid-deal-terms"),  # not below the original 680
        ({"ends_at": "2020-01-01T00:00:00Z"}, "invalid-deal-terms"),  # before it starts
        ({"title": None}, "invalid-request"),
        ({"branch_ids": ["nosuchbranch"]}, "branch-not-found"),
    ],
)
def test_a_bad_change_to_a_deal_changes_nothing(client, shop, body, kind):
    deal = create_deal(shop).json()
    status = 404 if kind == "branch-not-found" else 422
    assert problem(shop.owner.patch(base(shop, f"/deals/{deal['id']}"), body), status) == kind
    shown = client.get(f"/api/v1/deals/{deal['id']}").json()
    assert {**shown, "seconds_left": 0} == {**deal, "seconds_left": 0}


def test_a_deal_cannot_be_limited_below_what_it_sold(shop, customer):
    deal = create_deal(shop).json()
    buy_voucher(customer, deal["id"])
    buy_voucher(customer, deal["id"])
    refused = shop.owner.patch(base(shop, f"/deals/{deal['id']}"), {"quantity_limit": 1})
    assert problem(refused, 422) == "quantity-below-sold"
    assert "2 vouchers" in refused.json()["detail"]


def _patch(shop, deal, body, if_match=None):
    headers = dict(shop.owner.headers)
    if if_match is not None:
        headers["If-Match"] = if_match
    path = base(shop, f"/deals/{deal['id']}")
    return shop.owner.client.patch(path, json=body, headers=headers)


def test_a_deal_read_with_its_etag_changes_only_while_no_one_else_has(shop, customer):
    deal = create_deal(shop).json()
    read = shop.owner.get(base(shop, f"/deals/{deal['id']}"))
    assert read.status_code == 200, read.text
    etag = read.headers["ETag"]
    assert etag == f'"{read.json()["version"]}"'  # strong: the deal's version

    changed = _patch(shop, deal, {"title": "Two for one"}, if_match=etag)
    assert changed.status_code == 200, changed.text
    assert changed.headers["ETag"] == f'"{changed.json()["version"]}"' != etag

    # A second editor still holding the first ETag changes nothing.
    stale = _patch(shop, deal, {"title": "Three for two"}, if_match=etag)
    assert problem(stale, 412) == "deal-changed"
    assert stale.headers["content-type"] == "application/problem+json"
    assert "read it again" in stale.json()["detail"]
    assert f"/deals/{deal['id']}" in stale.json()["detail"]
    again = shop.owner.get(base(shop, f"/deals/{deal['id']}"))
    assert (again.json()["title"], again.headers["ETag"]) == (
        "Two for one",
        changed.headers["ETag"],
    )

    # A voucher sold moves the version too; the fresh ETag then goes through.
    buy_voucher(customer, deal["id"])
    assert problem(_patch(shop, deal, {"title": "X"}, if_match=again.headers["ETag"]), 412)
    fresh = shop.owner.get(base(shop, f"/deals/{deal['id']}")).headers["ETag"]
    assert _patch(shop, deal, {"title": "Three for two"}, if_match=fresh).status_code == 200


@pytest.mark.parametrize(
    ("if_match", "status"),
    [
        (None, 200),  # no precondition: as before
        ("*", 200),  # any version of a deal that exists
        ('"999", "{v}"', 200),  # one of them current
        ('W/"{v}"', 412),  # a weak tag never matches (strong comparison)
        ('"999"', 412),
        ("{v}", 400),  # unquoted: not an ETag
        ('"{v}" "{v}"', 400),
    ],
)
def test_if_match_on_a_deal_follows_rfc_9110(shop, if_match, status):
    deal = create_deal(shop).json()
    version = shop.owner.get(base(shop, f"/deals/{deal['id']}")).json()["version"]
    header = None if if_match is None else if_match.replace("{v}", str(version))
    answer = _patch(shop, deal, {"title": "Changed"}, if_match=header)
    assert answer.status_code == status, answer.text
    title = shop.owner.get(base(shop, f"/deals/{deal['id']}")).json()["title"]
    assert (title == "Changed") is (status == 200)
    if status == 400:
        assert answer.json()["type"].endswith("/if-match-invalid")


def test_one_deal_is_read_by_its_own_business_only(shop, client):
    deal = create_deal(shop).json()
    other = open_shop(client, "Other")
    assert other.owner.get(base(shop, f"/deals/{deal['id']}")).status_code == 403
    assert problem(shop.owner.get(base(shop, "/deals/nosuchdeal1")), 404) == "deal-not-found"


def test_a_cancelled_deal_is_no_longer_sold_but_its_vouchers_are_honoured(client, shop, customer):
    deal = create_deal(shop).json()
    voucher = buy_voucher(customer, deal["id"]).json()
    till = Terminal(client, shop)
    cursor = till.api.pull(0).cursor
    path = base(shop, f"/deals/{deal['id']}")

    assert shop.owner.delete(path).status_code == 204
    assert shop.owner.delete(path).status_code == 204  # again: nothing more happens

    assert client.get("/api/v1/deals").json()["items"] == []
    assert problem(buy_voucher(customer, deal["id"]), 409) == "deal-not-on-sale"
    assert problem(shop.owner.patch(path, {"title": "Back on"}), 409) == "deal-closed"
    [pulled] = till.api.pull(cursor).deals
    assert pulled.ended
    # The voucher sold before the cancel is still good until it expires.
    [mine] = customer.get("/api/v1/me/vouchers").json()["items"]
    assert (mine["id"], mine["status"]) == (voucher["id"], "issued")
    redeemed = shop.cashier.post(
        base(shop, "/voucher-redemptions"), {"token": voucher["token"]}, key=new_key()
    )
    assert (redeemed.status_code, redeemed.json()["status"]) == (200, "redeemed")
    [own] = shop.owner.get(base(shop, "/deals")).json()["items"]
    assert (own["status"], own["sold"]) == ("cancelled", 1)
    assert own["cancelled_at"] is not None


def test_own_deals_are_listed_in_every_state(shop, sessions):
    now = datetime.now(UTC)
    draft = create_deal(shop, title="Later", starts_at=(now + timedelta(days=1)).isoformat())
    active = create_deal(shop, title="Now")
    cancelled = create_deal(shop, title="Called off")
    ended = create_deal(shop, title="Over")
    shop.owner.delete(base(shop, f"/deals/{cancelled.json()['id']}"))
    with sessions() as session:
        over = session.get_one(Deal, ended.json()["id"])
        over.starts_at, over.ends_at = now - timedelta(days=3), now - timedelta(days=1)
        session.commit()

    every = shop.owner.get(base(shop, "/deals")).json()
    assert every["total"] == 4
    by_title = {d["title"]: d["status"] for d in every["items"]}
    assert by_title == {
        "Later": "draft",
        "Now": "active",
        "Called off": "cancelled",
        "Over": "ended",
    }
    for status, wanted in [("draft", draft), ("active", active), ("ended", ended)]:
        page = shop.owner.get(base(shop, "/deals"), params={"status": status}).json()
        assert [d["id"] for d in page["items"]] == [wanted.json()["id"]], status
    first = shop.owner.get(base(shop, "/deals"), params={"limit": 3}).json()
    assert (len(first["items"]), first["next_offset"]) == (3, 3)
    assert shop.owner.get(base(shop, "/deals"), params={"q": "CALLED"}).json()["total"] == 1
    assert problem(shop.owner.get(base(shop, "/deals"), params={"status": "gone"}), 422) == (
        "invalid-request"
    )


# -- staff -------------------------------------------------------------------------------------


def test_staff_are_listed_made_managers_and_removed(client, shop):
    till = Terminal(client, shop)
    cashier = shop.cashier
    product = add_product(shop)
    product_path = base(shop, f"/products/{product['id']}")
    [listed] = shop.owner.get(base(shop, "/staff")).json()["items"]
    assert (listed["id"], listed["role"], listed["has_pin"]) == (cashier.id, "cashier", False)
    assert problem(cashier.patch(product_path, {"price_minor": 1}), 403) == "manager-only"

    pin = {"pin": "4817", "role": "cashier"}
    assert shop.owner.put(base(shop, f"/till-staff/{cashier.id}"), pin).status_code == 200
    cursor = till.api.pull(0).cursor
    made = shop.owner.patch(base(shop, f"/staff/{cashier.id}"), {"role": "manager"})
    assert (made.status_code, made.json()["role"], made.json()["has_pin"]) == (200, "manager", True)
    assert [(s.id, s.role) for s in till.api.pull(cursor).staff] == [(cashier.id, "manager")]
    assert cashier.patch(product_path, {"price_minor": 1}).status_code == 200
    managers = shop.owner.get(base(shop, "/staff"), params={"role": "manager"}).json()
    assert managers["total"] == 1

    cursor = till.api.pull(0).cursor
    assert shop.owner.delete(base(shop, f"/staff/{cashier.id}")).status_code == 204
    assert till.api.pull(cursor).removed_staff == [cashier.id]
    assert cashier.get("/api/v1/me").status_code == 401  # their sessions ended
    again = log_in(client, cashier.email, PASSWORD)  # the account stays, working nowhere
    assert shop.redeem(1, card_id="any", by=again).status_code == 403
    assert shop.owner.get(base(shop, "/staff")).json() == {
        "items": [],
        "total": 0,
        "next_offset": None,
    }


def test_the_business_s_own_staff_are_told_only_the_owner_may_and_others_it_is_not_theirs(
    client, shop
):
    """What only the owner may do (change the business, manage its staff): its cashier and
    its manager are told to ask the owner, not that the business is not theirs; another
    business's owner is; nothing changes."""
    email = f"manager-{uuid.uuid4().hex[:8]}@example.com"
    added = shop.owner.post(base(shop, "/staff"), {"email": email, "password": PASSWORD})
    assert added.status_code == 201, added.text
    made = shop.owner.patch(base(shop, f"/staff/{added.json()['id']}"), {"role": "manager"})
    assert made.status_code == 200, made.text
    manager = log_in(client, email, PASSWORD)
    other = open_shop(client, "Elsewhere")
    rename = {"name": "Taken Over"}
    for who, expected in ((shop.cashier, "owner-only"), (manager, "owner-only")):
        refused = who.patch(base(shop, ""), rename)
        assert problem(refused, 403) == expected
        assert "owner" in refused.json()["detail"]
        staffing = who.post(
            base(shop, "/staff"), {"email": "new@example.com", "password": PASSWORD}
        )
        assert problem(staffing, 403) == expected
    assert problem(other.owner.patch(base(shop, ""), rename), 403) == "not-your-business"
    assert shop.owner.get(base(shop, "")).json()["name"] != "Taken Over"


@pytest.mark.parametrize("role", ["owner", "boss", None])
def test_a_staff_member_cannot_be_given_another_role(shop, role):
    path = base(shop, f"/staff/{shop.cashier.id}")
    assert problem(shop.owner.patch(path, {"role": role}), 422) == "invalid-request"
    [listed] = shop.owner.get(base(shop, "/staff")).json()["items"]
    assert listed["role"] == "cashier"


def test_the_owner_and_strangers_are_not_staff(client, shop):
    stranger = sign_up(client, "vendor")
    for user_id in (shop.owner.id, stranger.id, "nosuchuser"):
        path = base(shop, f"/staff/{user_id}")
        assert problem(shop.owner.patch(path, {"role": "manager"}), 404) == "staff-not-found"
        assert problem(shop.owner.delete(path), 404) == "staff-not-found"


# -- terminals, incidents, holds, vouchers -------------------------------------------------------


def test_terminals_are_listed_a_page_at_a_time(client, shop):
    first, second = Terminal(client, shop, "Till 1"), Terminal(client, shop, "Till 2")
    shop.owner.post(base(shop, f"/devices/{first.device_id}/revoke"))
    page = shop.owner.get(base(shop, "/devices"), params={"limit": 1}).json()
    assert (page["total"], page["next_offset"], page["items"][0]["name"]) == (2, 1, "Till 1")
    live = shop.owner.get(base(shop, "/devices"), params={"revoked": "false"}).json()
    assert [d["id"] for d in live["items"]] == [second.device_id]
    # The owner's screens at the till read every page through the sync client.
    api = SyncClient("", http=client)
    api.page_size = 1
    token = shop.owner.headers["Authorization"].removeprefix("Bearer ")
    listed = api.devices(shop.business_id, token)
    assert [(d.id, d.revoked) for d in listed] == [
        (first.device_id, True),
        (second.device_id, False),
    ]


def test_incidents_name_the_till_and_the_event_and_add_up_the_shortfall(client, shop, customer):
    card = buy_card(customer, shop, 1_000).json()
    other = buy_card(customer, shop, 500).json()
    first, second = Terminal(client, shop, "Till 1"), Terminal(client, shop, "Till 2")
    first.push(first.event(card_id=card["id"], amount_minor=800))
    overspend = second.event(card_id=card["id"], amount_minor=600)
    assert second.push(overspend)[0][0] == "applied_with_incident"
    first.push(first.event(card_id=other["id"], amount_minor=400))
    again = second.event(card_id=other["id"], amount_minor=300)
    assert second.push(again)[0][0] == "applied_with_incident"

    page = shop.owner.get(base(shop, "/incidents")).json()
    assert [
        (i["till"], i["device_id"], i["event_id"], i["amount_minor"]) for i in page["items"]
    ] == [
        ("Till 2", second.device_id, overspend.id, 400),
        ("Till 2", second.device_id, again.id, 200),
    ]
    assert page["shortfall"] == [{"minor": 600, "currency": "GBP", "text": "£6.00"}]
    resolved = page["items"][0]["id"]
    shop.owner.post(base(shop, f"/incidents/{resolved}/resolve"), {"resolution": "paid in cash"})
    open_ = shop.owner.get(base(shop, "/incidents"), params={"resolved": "false"}).json()
    assert [i["event_id"] for i in open_["items"]] == [again.id]
    from_first = shop.owner.get(base(shop, "/incidents"), params={"device_id": first.device_id})
    assert from_first.json()["total"] == 0


def test_holds_are_listed_by_status(shop, customer):
    card = buy_card(customer, shop, 1_000).json()
    holds = base(shop, "/holds")
    kept = shop.cashier.post(holds, {"card_id": card["id"], "amount_minor": 300}, key=new_key())
    voided = shop.cashier.post(holds, {"card_id": card["id"], "amount_minor": 200}, key=new_key())
    shop.cashier.post(f"{holds}/{voided.json()['id']}/void", key=new_key())
    every = shop.owner.get(holds).json()
    assert sorted((h["status"], h["amount"]["minor"]) for h in every["items"]) == [
        ("pending", 300),
        ("voided", 200),
    ]
    pending = shop.owner.get(holds, params={"status": "pending"}).json()
    assert [h["id"] for h in pending["items"]] == [kept.json()["id"]]


def test_vouchers_sold_are_listed_by_deal_and_status(shop, customer):
    first, second = create_deal(shop).json(), create_deal(shop, title="Cake").json()
    used = buy_voucher(customer, first["id"]).json()
    buy_voucher(customer, first["id"])
    buy_voucher(customer, second["id"])
    shop.cashier.post(base(shop, "/voucher-redemptions"), {"voucher_id": used["id"]}, key=new_key())
    sold = base(shop, "/vouchers")
    assert shop.owner.get(sold).json()["total"] == 3
    of_first = shop.owner.get(sold, params={"deal_id": first["id"]}).json()
    assert of_first["total"] == 2
    redeemed = shop.owner.get(sold, params={"status": "redeemed"}).json()
    assert [v["id"] for v in redeemed["items"]] == [used["id"]]
