"""A till's branch (named by its pairing code) and branch edits pushed from a till: applied
to the version they were made on, recorded in the event log for the other tills, a stale one
reported to the owner, bad hours refused with the field named."""

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.client import ServerRefusedError, SyncClient
from sync.wire import public_key_text
from tests.server.api import open_shop
from tests.server.test_sync_push import Terminal

HOURS = {"mon": [{"opens": "08:00", "closes": "17:00"}]}


def add_branch(shop, name="High Street", address="1 High Street"):
    response = shop.owner.post(
        f"/api/v1/businesses/{shop.business_id}/branches",
        {"name": name, "address": address, "latitude": 51.5, "longitude": -0.1},
    )
    assert response.status_code == 201, response.text
    return response.json()


def branch_shown(client, shop, branch_id):
    business = client.get(f"/api/v1/businesses/{shop.business_id}").json()
    return next(b for b in business["branches"] if b["id"] == branch_id)


def test_a_pairing_code_names_the_branch_its_till_serves(client, shop):
    add_branch(shop, "Station Road")
    branch = add_branch(shop)
    code = shop.owner.post(
        f"/api/v1/businesses/{shop.business_id}/pairing-codes", {"branch_id": branch["id"]}
    ).json()
    assert code["branch_id"] == branch["id"]
    key = public_key_text(Ed25519PrivateKey.generate().public_key())
    paired = SyncClient("", http=client).pair(code["code"], key, "Till 2")
    assert paired.branch_id == branch["id"]
    (listed,) = shop.owner.get(f"/api/v1/businesses/{shop.business_id}/devices").json()["items"]
    assert (listed["name"], listed["branch_id"]) == ("Till 2", branch["id"])


def test_a_pairing_code_for_another_business_branch_is_refused(client, shop):
    other = open_shop(client, "Other")
    theirs = add_branch(other)
    response = shop.owner.post(
        f"/api/v1/businesses/{shop.business_id}/pairing-codes", {"branch_id": theirs["id"]}
    )
    assert response.status_code == 404
    assert response.json()["type"].endswith("branch-not-found")
    assert "pick one of its branches" in response.json()["detail"]


def branch_edit(till, branch_id, version, **changes):
    return till.event("branch_edit", branch_id=branch_id, base_version=version, **changes)


def test_a_branch_edit_applies_and_reaches_the_other_tills(client, shop):
    branch = add_branch(shop)
    first, second = Terminal(client, shop, "Till 1"), Terminal(client, shop, "Till 2")
    cursor = second.api.pull(0).cursor
    (pulled,) = first.api.pull(0).branches
    assert pulled.version == 1
    edit = branch_edit(
        first,
        branch["id"],
        1,
        name="High St (corner)",
        address="2 High Street",
        opening_hours=HOURS,
    )
    assert first.push(edit) == [("applied", "")]
    shown = branch_shown(client, shop, branch["id"])
    assert (shown["name"], shown["address"]) == ("High St (corner)", "2 High Street")
    assert shown["opening_hours"] == HOURS
    (learned,) = second.api.pull(cursor).branches  # through the event log
    assert (learned.name, learned.version) == ("High St (corner)", 2)
    assert learned.opening_hours == HOURS


def test_a_stale_branch_edit_is_reported_not_dropped(client, shop):
    branch = add_branch(shop)
    first, second = Terminal(client, shop, "Till 1"), Terminal(client, shop, "Till 2")
    assert first.push(branch_edit(first, branch["id"], 1, name="Corner"))[0][0] == "applied"
    status, detail = second.push(branch_edit(second, branch["id"], 1, name="Market Square"))[0]
    assert status == "rejected"
    assert detail.startswith("conflict:")
    assert branch_shown(client, shop, branch["id"])["name"] == "Corner"
    (incident,) = shop.owner.get(f"/api/v1/businesses/{shop.business_id}/incidents").json()["items"]
    assert incident["kind"] == "edit_conflict"
    assert "Market Square" in incident["detail"]


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"opening_hours": {"mon": [{"opens": "18:00", "closes": "08:00"}]}}, "opening_hours"),
        ({"opening_hours": {"someday": [{"opens": "08:00", "closes": "18:00"}]}}, "someday"),
        ({"name": "   "}, "name"),
        ({"address": ""}, "address"),
    ],
)
def test_a_bad_branch_edit_is_refused_and_changes_nothing(client, shop, changes, named):
    branch = add_branch(shop)
    till = Terminal(client, shop)
    status, detail = till.push(branch_edit(till, branch["id"], 1, **changes))[0]
    assert status == "rejected"
    assert named in detail
    shown = branch_shown(client, shop, branch["id"])
    assert (shown["name"], shown["address"], shown["opening_hours"]) == (
        "High Street",
        "1 High Street",
        {},
    )


def test_another_business_branch_cannot_be_edited(client, shop):
    branch = add_branch(shop)
    other = Terminal(client, open_shop(client, "Other"))
    status, detail = other.push(branch_edit(other, branch["id"], 1, name="Mine"))[0]
    assert (status, detail) == ("rejected", "no branch of this business has that id")
    assert branch_shown(client, shop, branch["id"])["name"] == "High Street"


def test_a_revoked_till_cannot_push_a_branch_edit(client, shop):
    branch = add_branch(shop)
    till = Terminal(client, shop)
    revoked = shop.owner.post(
        f"/api/v1/businesses/{shop.business_id}/devices/{till.device_id}/revoke"
    )
    assert revoked.json()["revoked"] is True
    with pytest.raises(ServerRefusedError) as refused:
        till.push(branch_edit(till, branch["id"], 1, name="Mine"))
    assert refused.value.kind == "device-revoked"
    assert branch_shown(client, shop, branch["id"])["name"] == "High Street"
