"""Clubs: founding, the public directory and page (display names only), joining open, by
approval and by invitation, organisers' powers and their limits, leaving."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.server.api import new_key, sign_up

OLD_STREET = {"latitude": 51.5257, "longitude": -0.0875}
DUBLIN = {"latitude": 53.3498, "longitude": -6.2603}


def found(person, name="Old Street Readers", policy="open", **extra):
    body = {"name": name, "join_policy": policy, "display_name": "Ada", **extra}
    answer = person.post("/api/v1/clubs", body)
    assert answer.status_code == 201, answer.text
    return answer.json()


def join(person, club, display_name="Bea", **extra):
    return person.post(f"/api/v1/clubs/{club['id']}/join", {"display_name": display_name, **extra})


def names(client, club):
    return [
        m["display_name"] for m in client.get(f"/api/v1/clubs/{club['id']}/members").json()["items"]
    ]


def test_a_club_is_founded_found_and_shows_display_names_only(client, customer):
    club = found(customer, description="Crime novels, monthly", place=OLD_STREET)
    assert (club["members"], club["join_policy"]) == (1, "open")
    other = found(sign_up(client), name="Dublin Bakers' Circle", place=DUBLIN)

    def listed(**params):
        return [c["name"] for c in client.get("/api/v1/clubs", params=params).json()["items"]]

    assert listed(q="CRIME novels") == ["Old Street Readers"]
    assert listed(q="bakers circle") == ["Dublin Bakers' Circle"]
    assert listed(lat=51.52, lon=-0.09, radius_km=5) == ["Old Street Readers"]
    assert len(listed()) == 2
    page = client.get(f"/api/v1/clubs/{other['id']}").json()
    assert page["name"] == "Dublin Bakers' Circle"
    members = client.get(f"/api/v1/clubs/{club['id']}/members").json()["items"]
    assert members == [
        {"display_name": "Ada", "role": "founder", "joined_at": members[0]["joined_at"]}
    ]
    assert customer.email not in str(members)
    assert customer.id not in str(members)


def test_the_directory_near_a_point_pages_the_clubs_in_the_radius_nearest_first(client, customer):
    km_north = 1 / 111.195  # degrees of latitude
    for name, km in (("Far", 20), ("Mid", 3), ("Near", 1), ("Edge", 8)):
        found(customer, name=name, place={"latitude": 51.5 + km * km_north, "longitude": -0.1})
    found(customer, name="Nowhere")  # no place: never near anything

    def page(**params):
        near = {"lat": 51.5, "lon": -0.1, "radius_km": 10}
        answer = client.get("/api/v1/clubs", params={**near, **params})
        assert answer.status_code == 200, answer.text
        return answer.json()

    first = page(limit=2)
    assert [(c["name"], round(c["distance_km"], 1)) for c in first["items"]] == [
        ("Near", 1.0),
        ("Mid", 3.0),
    ]
    assert (first["total"], first["next_offset"]) == (3, 2)
    rest = page(offset=2, limit=2)
    assert [c["name"] for c in rest["items"]] == ["Edge"]
    assert (rest["total"], rest["next_offset"]) == (3, None)
    assert page(radius_km=7.9)["total"] == 2
    assert [c["name"] for c in page(q="mid")["items"]] == ["Mid"]
    assert page(radius_km=500)["total"] == 4


def test_an_open_club_takes_members_at_once_and_once(client, customer):
    club = found(customer)
    bea = sign_up(client)
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: join(bea, club), range(4)))  # four taps at once
    assert {a.status_code for a in answers} == {200}
    assert answers[0].json()["status"] == "active"
    assert names(client, club) == ["Ada", "Bea"]
    assert [c["club"]["name"] for c in bea.get("/api/v1/me/clubs").json()["items"]] == [
        "Old Street Readers"
    ]


def test_a_clubs_members_and_roster_come_a_page_at_a_time(client, customer):
    club = found(customer)
    for name in ("Bea", "Carl"):
        assert join(sign_up(client), club, name).status_code == 200
    members = f"/api/v1/clubs/{club['id']}/members"
    first = client.get(members, params={"limit": 2}).json()
    assert (len(first["items"]), first["total"], first["next_offset"]) == (2, 3, 2)
    rest = client.get(members, params={"offset": 2}).json()
    assert rest["next_offset"] is None
    seen = [m["display_name"] for m in first["items"] + rest["items"]]
    assert sorted(seen) == ["Ada", "Bea", "Carl"]  # every member once, across the pages
    roster = customer.get(f"/api/v1/clubs/{club['id']}/roster", params={"limit": 1}).json()
    assert (len(roster["items"]), roster["total"]) == (1, 3)


def test_a_club_that_approves_keeps_requests_for_its_organisers(client, customer):
    club = found(customer, policy="approval")
    bea, carl = sign_up(client), sign_up(client)
    asked = join(bea, club)
    assert asked.json()["status"] == "requested"
    assert names(client, club) == ["Ada"]  # not a member yet
    refused = bea.get(f"/api/v1/clubs/{club['id']}/requests")
    assert refused.status_code == 403  # requests are the organisers'
    [request] = customer.get(f"/api/v1/clubs/{club['id']}/requests").json()["items"]
    assert request["display_name"] == "Bea"
    not_theirs = carl.post(f"/api/v1/clubs/{club['id']}/members/{bea.id}/approve")
    assert not_theirs.status_code == 403
    assert not_theirs.json()["type"].endswith("/not-organiser")
    approved = customer.post(f"/api/v1/clubs/{club['id']}/members/{bea.id}/approve")
    assert approved.status_code == 200, approved.text
    assert names(client, club) == ["Ada", "Bea"]


def test_an_invitation_lets_one_person_in_once(client, customer):
    club = found(customer, policy="invitation")
    bea, carl = sign_up(client), sign_up(client)
    closed = join(bea, club)
    assert closed.status_code == 409
    assert "invitation" in closed.json()["detail"]
    code = customer.post(f"/api/v1/clubs/{club['id']}/invitations").json()["code"]
    assert join(bea, club, invitation=code).json()["status"] == "active"
    used = join(carl, club, display_name="Carl", invitation=code)
    assert used.status_code == 422
    assert used.json()["type"].endswith("/invalid-invitation")
    assert names(client, club) == ["Ada", "Bea"]
    assert bea.post(f"/api/v1/clubs/{club['id']}/invitations").status_code == 403


def test_organisers_remove_members_but_not_the_founder_and_not_each_other(client, customer):
    club = found(customer)
    bea, carl, dee = sign_up(client), sign_up(client), sign_up(client)
    for person, name in ((bea, "Bea"), (carl, "Carl"), (dee, "Dee")):
        assert join(person, club, name).status_code == 200
    base = f"/api/v1/clubs/{club['id']}/members"
    assert (
        customer.client.put(
            f"{base}/{bea.id}/role", json={"role": "organiser"}, headers=customer.headers
        ).status_code
        == 200
    )
    assert (
        customer.client.put(
            f"{base}/{carl.id}/role", json={"role": "organiser"}, headers=customer.headers
        ).status_code
        == 200
    )
    assert bea.delete(f"{base}/{dee.id}").status_code == 204  # an organiser removes a member
    assert bea.delete(f"{base}/{carl.id}").status_code == 403  # not another organiser
    assert bea.delete(f"{base}/{customer.id}").status_code == 409  # nor the founder
    assert names(client, club) == ["Ada", "Bea", "Carl"]
    assert (
        bea.client.put(
            f"{base}/{carl.id}/role", json={"role": "member"}, headers=bea.headers
        ).status_code
        == 403
    )  # roles are the founder's


def test_a_founder_hands_the_club_on_before_leaving(client, customer):
    club = found(customer)
    bea = sign_up(client)
    join(bea, club)
    stuck = customer.post(f"/api/v1/clubs/{club['id']}/leave")
    assert stuck.status_code == 409
    assert "founder" in stuck.json()["detail"]
    handed = customer.client.put(
        f"/api/v1/clubs/{club['id']}/members/{bea.id}/role",
        json={"role": "founder"},
        headers=customer.headers,
    )
    assert handed.status_code == 200
    assert customer.post(f"/api/v1/clubs/{club['id']}/leave").status_code == 204
    members = client.get(f"/api/v1/clubs/{club['id']}/members").json()["items"]
    assert [(m["display_name"], m["role"]) for m in members] == [("Bea", "founder")]
    # The last member leaving closes the club.
    assert bea.post(f"/api/v1/clubs/{club['id']}/leave").status_code == 204
    assert client.get(f"/api/v1/clubs/{club['id']}").status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"name": "  ", "display_name": "Ada"},
        {"name": "Readers", "display_name": "Ada", "join_policy": "secret"},
        {"name": "Readers", "display_name": "Ada", "place": {"latitude": 91, "longitude": 0}},
        {"name": "Readers\x00", "display_name": "Ada"},
    ],
)
def test_a_club_that_cannot_be_founded_is_refused_and_nothing_is_kept(client, customer, body):
    answer = customer.post("/api/v1/clubs", body)
    assert answer.status_code == 422
    assert client.get("/api/v1/clubs").json()["total"] == 0


def test_a_home_business_must_exist(client, customer):
    answer = customer.post(
        "/api/v1/clubs",
        {"name": "Readers", "display_name": "Ada", "home_business_id": "nosuchbiz00"},
    )
    assert answer.status_code == 404
    assert client.get("/api/v1/clubs").json()["total"] == 0


# -- donations -------------------------------------------------------------------------------


def donate(person, club, amount, key=None, card="4242 4242 4242 4242", **extra):
    return person.post(
        f"/api/v1/clubs/{club['id']}/donations",
        {"amount_minor": amount, "payment": {"card_number": card}, **extra},
        key=key or new_key(),
    )


def test_donations_fill_the_fund_once_each_and_members_see_them(client, customer):
    club = found(customer)
    bea, stranger = sign_up(client), sign_up(client)
    join(bea, club)
    first = donate(bea, club, 1500, key="gift-1", message="For the summer read")
    assert first.status_code == 201, first.text
    again = donate(bea, club, 1500, key="gift-1", message="For the summer read")  # a retry
    assert again.json() == first.json()
    receipt = first.json()
    assert (receipt["amount"]["text"], receipt["donor"], receipt["club_name"]) == (
        "£15.00",
        "Bea",
        "Old Street Readers",
    )
    assert donate(stranger, club, 500, anonymous=True).status_code == 201  # anyone may give
    funds = customer.get(f"/api/v1/clubs/{club['id']}/funds").json()
    assert funds["balance"]["minor"] == 2000
    assert [(d["donor"], d["amount"]["minor"]) for d in funds["items"]] == [
        ("Anonymous", 500),
        ("Bea", 1500),
    ]
    assert stranger.get(f"/api/v1/clubs/{club['id']}/funds").status_code == 403  # members only
    [mine] = stranger.get("/api/v1/me/donations").json()["items"]  # the donor's own receipt
    assert (mine["amount"]["minor"], mine["anonymous"]) == (500, True)
    # Anonymous to everyone but themselves (docs/community.md).
    quiet = donate(bea, club, 300, anonymous=True).json()
    assert (quiet["donor"], quiet["anonymous"]) == ("Bea", True)
    assert [d["donor"] for d in bea.get("/api/v1/me/donations").json()["items"]] == ["Bea", "Bea"]
    funds = customer.get(f"/api/v1/clubs/{club['id']}/funds").json()
    assert [d["donor"] for d in funds["items"]] == ["Anonymous", "Anonymous", "Bea"]


def test_a_declined_or_refused_donation_changes_nothing(client, customer):
    club = found(customer)
    declined = donate(customer, club, 1000, card="4000 0000 0000 0002")
    assert declined.status_code == 402
    too_much = donate(customer, club, 100_001)
    assert too_much.status_code == 422
    assert too_much.json()["type"].endswith("/donation-too-large")  # as docs/community.md says
    assert "£1,000.00" in too_much.json()["detail"]
    assert customer.get(f"/api/v1/clubs/{club['id']}/funds").json()["balance"]["minor"] == 0
    assert customer.get("/api/v1/me/donations").json()["items"] == []


def test_donations_count_against_the_payment_cards_daily_load(client, customer, settings):
    club = found(customer)
    assert settings.max_daily_load_per_payment_card_minor == 200_000  # £2,000 a day
    assert donate(customer, club, 100_000).status_code == 201
    assert donate(customer, club, 100_000).status_code == 201
    over = donate(customer, club, 1)
    assert over.status_code == 409
    assert over.json()["type"].endswith("/payment-card-daily-limit")
    assert customer.get(f"/api/v1/clubs/{club['id']}/funds").json()["balance"]["minor"] == 200_000
