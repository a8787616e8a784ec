"""Contests: a business or the platform runs one; customers and clubs enter; a live,
paged leaderboard (ties to whoever got there first); results computed once by the job at the
end and rebuildable from the ledger; prize gift cards paid into winners' accounts; winners
and clubs' organisers told; money moved in a circle counts once."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from server.contests import results
from server.contests.models import Contest, ContestEntry
from server.notifications.models import Notification
from server.notifications.outbox import Channels
from tests.server.api import (
    APPROVE,
    PASSWORD,
    Shop,
    buy_card,
    log_in,
    make_admin,
    new_key,
    open_shop,
    sign_up,
    verify_email,
)

EMAIL = Channels(email=True, push=False)


def window() -> tuple[str, str, datetime]:
    """A contest running now: started an hour ago, ending in an hour (the job is then run as
    if it were just after the end)."""
    now = datetime.now(UTC)
    end = now + timedelta(hours=1)
    return (now - timedelta(hours=1)).isoformat(), end.isoformat(), end


def run_contest(shop, measure="redeemed", entrants="customers", prizes=(2000, 1000), **extra):
    start, end, _ = window()
    body = {
        "title": "Autumn regulars",
        "starts_at": start,
        "ends_at": end,
        "entrants": entrants,
        "measure": measure,
        "prizes_minor": list(prizes),
        **extra,
    }
    answer = shop.owner.post(f"/api/v1/businesses/{shop.business_id}/contests", body)
    assert answer.status_code == 201, answer.text
    return answer.json()


def enter(person, contest, name):
    answer = person.post(f"/api/v1/contests/{contest['id']}/entries", {"display_name": name})
    assert answer.status_code == 200, answer.text
    return answer.json()


def board(client, contest, **params):
    answer = client.get(f"/api/v1/contests/{contest['id']}/leaderboard", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def ranking(client, contest):
    return [(s["name"], s["score"]) for s in board(client, contest, limit=100)["items"]]


def finish_all(client, contest) -> int:
    """Run the contests' job as if it were a minute after the contest's end."""
    after = datetime.fromisoformat(contest["ends_at"]) + timedelta(minutes=1)
    with client.app.state.sessions() as session:
        done = results.finish_due(session, after, client.app.state.keyring, EMAIL)
        session.commit()
    return done


def sister_shop(client, shop: Shop, name: str) -> Shop:
    """Another business of the same owner, with a cashier: a contest may count both."""
    made = shop.owner.post(
        "/api/v1/businesses", {"name": name, "category": "cafe", "currency": "GBP"}
    )
    assert made.status_code == 201, made.text
    business_id = made.json()["id"]
    email = f"till-{uuid.uuid4().hex[:8]}@example.com"
    staff = shop.owner.post(
        f"/api/v1/businesses/{business_id}/staff", {"email": email, "password": PASSWORD}
    )
    assert staff.status_code == 201, staff.text
    return Shop(shop.owner, log_in(client, email), business_id)


def refund(shop, redemption, amount):
    answer = shop.owner.post(
        f"/api/v1/businesses/{shop.business_id}/refunds",
        {"redemption_id": redemption["id"], "amount_minor": amount, "reason": "returned"},
        key=new_key(),
    )
    assert answer.status_code == 200, answer.text


def test_the_leaderboard_is_live_paged_and_a_tie_goes_to_who_got_there_first(client, shop):
    contest = run_contest(shop)
    ada, bea, cat = (sign_up(client) for _ in range(3))
    for person, name in ((ada, "Ada"), (bea, "Bea"), (cat, "Cat")):
        enter(person, contest, name)
    cards = {p.id: buy_card(p, shop, 5000).json() for p in (ada, bea, cat)}
    assert shop.redeem(1500, card_id=cards[bea.id]["id"]).status_code == 200  # Bea first
    assert shop.redeem(1000, card_id=cards[ada.id]["id"]).status_code == 200
    assert shop.redeem(500, card_id=cards[ada.id]["id"]).status_code == 200  # Ada ties later
    assert shop.redeem(200, card_id=cards[cat.id]["id"]).status_code == 200
    assert ranking(client, contest) == [("Bea", 1500), ("Ada", 1500), ("Cat", 200)]
    first = board(client, contest, limit=2)
    assert [s["place"] for s in first["items"]] == [1, 2]
    assert (first["total"], first["next_offset"], first["status"]) == (3, 2, "open")
    rest = board(client, contest, offset=2, limit=2)
    assert [(s["place"], s["name"]) for s in rest["items"]] == [(3, "Cat")]
    assert ada.email not in str(first)
    assert ada.id not in str(first)


def test_the_job_finishes_a_contest_once_pays_prize_cards_and_tells_the_winners(client, shop):
    contest = run_contest(shop, prizes=(2000, 1000, 500))
    ada, bea, cat = (sign_up(client) for _ in range(3))
    for person in (ada, bea):
        verify_email(person)
    entries = {p.id: enter(p, contest, n) for p, n in ((ada, "Ada"), (bea, "Bea"), (cat, "Cat"))}
    for person, spent in ((ada, 3000), (bea, 1000)):
        card = buy_card(person, shop, 5000).json()
        assert shop.redeem(spent, card_id=card["id"]).status_code == 200
    assert finish_all(client, contest) == 1
    assert finish_all(client, contest) == 0  # nothing twice
    with client.app.state.sessions() as session:  # not even when asked for this one
        after = datetime.fromisoformat(contest["ends_at"]) + timedelta(minutes=2)
        keyring = client.app.state.keyring
        assert not results.finish(session, contest["id"], after, keyring, EMAIL)

    final = board(client, contest)
    assert final["status"] == "finished"
    assert [(s["name"], s["score"], (s["prize"] or {}).get("minor")) for s in final["items"]] == [
        ("Ada", 3000, 2000),
        ("Bea", 1000, 1000),
        ("Cat", 0, None),  # a place without a score wins nothing
    ]
    mine = ada.get(f"/api/v1/contests/{contest['id']}/entries/{entries[ada.id]['id']}").json()
    [prize_card] = [
        c for c in ada.get("/api/v1/me/gift-cards").json()["items"] if c["id"] == mine["card_id"]
    ]
    assert prize_card["balance"]["minor"] == 2000
    assert prize_card["business_id"] == shop.business_id
    with client.app.state.sessions() as session:
        told = session.execute(
            select(
                Notification.user_id, Notification.kind, Notification.channel, Notification.title
            )
            .where(Notification.kind.in_(["contest_won", "contest_result"]))
            .order_by(Notification.user_id, Notification.channel)
        ).all()
    emailed = {(user, kind) for user, kind, channel, _ in told if channel == "email"}
    assert emailed == {(ada.id, "contest_won"), (bea.id, "contest_won")}
    assert cat.id not in {user for user, *_ in told}
    assert any("1st place in Autumn regulars" in title for *_, title in told)
    # Entering or recording after the end is refused, and changes nothing.
    late = sign_up(client).post(
        f"/api/v1/contests/{contest['id']}/entries", {"display_name": "Late"}
    )
    assert late.status_code == 409
    assert late.json()["type"].endswith("/contest-closed")


def test_a_customer_entering_without_a_display_name_is_told_to_give_one(client, shop):
    contest = run_contest(shop)
    customer = sign_up(client)
    answer = customer.post(f"/api/v1/contests/{contest['id']}/entries", {})
    assert answer.status_code == 422
    assert answer.json()["type"].endswith("/invalid-request")
    assert answer.json()["errors"] == [
        {
            "field": "body.display_name",
            "message": "Give the display_name the leaderboard shows for you.",
        }
    ]
    assert board(client, contest)["total"] == 0  # not entered


def test_results_rebuilt_from_the_ledger_match_the_stored_ones(client, shop):
    contest = run_contest(shop, entrants="both", prizes=(1500,))
    founder, member, solo = sign_up(client), sign_up(client), sign_up(client)
    club = founder.post("/api/v1/clubs", {"name": "Readers", "display_name": "Fi"}).json()
    assert (
        member.post(f"/api/v1/clubs/{club['id']}/join", {"display_name": "Mo"}).status_code == 200
    )
    club_entry = founder.post(f"/api/v1/contests/{contest['id']}/entries", {"club_id": club["id"]})
    assert club_entry.status_code == 200, club_entry.text
    enter(solo, contest, "Solo")
    for person, spent in ((founder, 700), (member, 900), (solo, 1200)):
        card = buy_card(person, shop, 2000).json()
        assert shop.redeem(spent, card_id=card["id"]).status_code == 200
    assert ranking(client, contest) == [("Readers", 1600), ("Solo", 1200)]  # members' cards add up
    assert finish_all(client, contest) == 1
    # The club changes after the end: its result was computed with its roster then.
    assert member.post(f"/api/v1/clubs/{club['id']}/leave").status_code == 204
    with client.app.state.sessions() as session:
        stored = session.get_one(Contest, contest["id"])
        assert results.rebuild(session, stored) == results.stored(session, stored)
        assert [s.score for s in results.stored(session, stored)] == [1600, 1200]
    # The club's prize card is the club's: in its holdings, in no one's wallet, until an
    # organiser hands it to a member.
    entry = founder.get(
        f"/api/v1/contests/{contest['id']}/entries/{club_entry.json()['id']}"
    ).json()
    assert entry["place"] == 1
    wallet = "/api/v1/me/gift-cards"
    assert entry["card_id"] not in [c["id"] for c in founder.get(wallet).json()["items"]]
    (held,) = founder.get(f"/api/v1/clubs/{club['id']}/holdings").json()["items"]
    assert (held["item_id"], held["won_in"], held["paid"]["minor"], held["bought_by"]) == (
        entry["card_id"],
        contest["id"],
        0,
        None,  # no one bought a prize (audit finding 9)
    )
    history = founder.get(f"/api/v1/clubs/{club['id']}/history").json()["items"]
    assert [(h["kind"], h["amount"]["minor"]) for h in history] == [("prize_won", 0)]
    handed = founder.post(
        f"/api/v1/clubs/{club['id']}/holdings/{held['id']}/hand-over",
        {"member_id": founder.id},
        key=new_key(),
    )
    assert handed.status_code == 200, handed.text
    [card] = [c for c in founder.get(wallet).json()["items"] if c["id"] == entry["card_id"]]
    assert card["balance"]["minor"] == 1500


def test_two_workers_at_once_finish_a_contest_once(client, shop, engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer: two workers cannot race there")
    contest = run_contest(shop, prizes=(1000,))
    ada = sign_up(client)
    enter(ada, contest, "Ada")
    card = buy_card(ada, shop, 5000).json()
    assert shop.redeem(100, card_id=card["id"]).status_code == 200
    start = threading.Barrier(2)
    done: list[int] = []

    def worker() -> None:
        start.wait()
        done.append(finish_all(client, contest))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(done) == [0, 1]
    prizes = [c for c in ada.get("/api/v1/me/gift-cards").json()["items"] if c["id"] != card["id"]]
    assert [c["balance"]["minor"] for c in prizes] == [1000]  # one prize card, not two
    with client.app.state.sessions() as session:
        stored = session.get_one(Contest, contest["id"])
        assert len(results.stored(session, stored)) == 1


def test_money_moved_in_a_circle_counts_once(client, shop):
    other = sister_shop(client, shop, "Bakery")
    both = [shop.business_id, other.business_id]
    contest = run_contest(shop, prizes=(500,), participating=both)
    visits = run_contest(shop, measure="businesses", prizes=(), participating=both)
    ada, bea = sign_up(client), sign_up(client)
    ada_entry = enter(ada, contest, "Ada")
    enter(bea, contest, "Bea")
    enter(ada, visits, "Ada")
    card = buy_card(ada, shop, 1000).json()
    # Spent, refunded, spent again, ten times: £10 went round between card and till.
    for _ in range(10):
        spent = shop.redeem(1000, card_id=card["id"]).json()
        refund(shop, spent, 1000)
    assert shop.redeem(1000, card_id=card["id"]).status_code == 200
    # A visit refunded in full is no visit.
    bakery_card = buy_card(ada, other, 500).json()
    refund(other, other.redeem(500, card_id=bakery_card["id"]).json(), 500)
    assert ranking(client, contest) == [("Ada", 1000), ("Bea", 0)]
    assert ranking(client, visits) == [("Ada", 1)]

    # A prize card's value came from the organiser: spent back there, it counts nothing.
    assert finish_all(client, contest) == 2  # both contests ended
    again = run_contest(shop, prizes=())
    enter(ada, again, "Ada")
    assert ranking(client, again) == [("Ada", 1000)]
    won = ada.get(f"/api/v1/contests/{contest['id']}/entries/{ada_entry['id']}").json()
    assert won["prize"]["minor"] == 500
    assert shop.redeem(500, card_id=won["card_id"]).status_code == 200
    assert ranking(client, again) == [("Ada", 1000)]


def test_donations_count_for_the_donor_and_the_club(client, shop):
    contest = run_contest(shop, measure="donated", entrants="both", prizes=())
    founder, donor = sign_up(client), sign_up(client)
    club = founder.post("/api/v1/clubs", {"name": "Readers", "display_name": "Fi"}).json()
    founder.post(f"/api/v1/contests/{contest['id']}/entries", {"club_id": club["id"]})
    enter(donor, contest, "Dee")
    for amount in (700, 300):
        given = donor.post(
            f"/api/v1/clubs/{club['id']}/donations",
            {"amount_minor": amount, "payment": {"card_number": APPROVE}},
            key=new_key(),
        )
        assert given.status_code == 201, given.text
    # One donation brought both to 1000 at once: the tie goes to the first to enter.
    assert ranking(client, contest) == [("Readers", 1000), ("Dee", 1000)]


def test_points_are_the_organisers_to_record_and_entries_pages_the_entrants(client, shop):
    contest = run_contest(shop, measure="points", prizes=())
    path = f"/api/v1/contests/{contest['id']}"
    ada, bea, stranger = sign_up(client), sign_up(client), sign_up(client)
    ada_entry, bea_entry = enter(ada, contest, "Ada"), enter(bea, contest, "Bea")
    again = ada.post(f"{path}/entries", {"display_name": "Ada"}).json()
    assert again["id"] == ada_entry["id"]  # entering again changes nothing

    def record(by, entry, points, key=None):
        body = {"entry_id": entry["id"], "points": points, "note": "books read"}
        return by.post(f"{path}/points", body, key=key or new_key())

    assert record(shop.owner, bea_entry, 3).status_code == 201
    key = new_key()
    assert record(shop.owner, ada_entry, 3, key).status_code == 201
    assert record(shop.owner, ada_entry, 3, key).status_code == 201  # a retry: recorded once
    refused = record(ada, ada_entry, 50)
    assert refused.status_code == 403
    assert refused.json()["type"].endswith("/not-contest-organiser")
    other_owner = open_shop(client, "Elsewhere").owner
    assert record(other_owner, ada_entry, 50).status_code == 403
    counted = run_contest(shop, prizes=())  # the ledger counts this one
    refused = shop.owner.post(
        f"/api/v1/contests/{counted['id']}/points",
        {"entry_id": enter(ada, counted, "Ada")["id"], "points": 5},
        key=new_key(),
    )
    assert refused.status_code == 409
    assert refused.json()["type"].endswith("/contest-not-by-points")
    assert ranking(client, contest) == [("Bea", 3), ("Ada", 3)]  # Bea got to 3 first
    assert ada.get(f"{path}/entries/{ada_entry['id']}").json()["score"] == 3
    seen = stranger.get(f"{path}/entries/{ada_entry['id']}")
    assert seen.status_code == 403
    assert seen.json()["type"].endswith("/not-entrant")
    assert shop.owner.get(f"{path}/entries/{ada_entry['id']}").status_code == 200


def test_a_manager_runs_the_business_s_contest_and_a_cashier_may_not(client, shop):
    start, end, _ = window()
    body = {
        "title": "Staff picks",
        "starts_at": start,
        "ends_at": end,
        "entrants": "customers",
        "measure": "points",
        "prizes_minor": [1000],
    }
    path = f"/api/v1/businesses/{shop.business_id}/contests"
    refused = shop.cashier.post(path, body)
    assert refused.status_code == 403
    assert refused.json()["type"].endswith("/manager-only")
    made = shop.owner.patch(
        f"/api/v1/businesses/{shop.business_id}/staff/{shop.cashier.id}", {"role": "manager"}
    )
    assert made.status_code == 200, made.text
    contest = shop.cashier.post(path, body)
    assert contest.status_code == 201, contest.text
    ada = enter(sign_up(client), contest.json(), "Ada")
    points = {"entry_id": ada["id"], "points": 4}
    recorded = shop.cashier.post(
        f"/api/v1/contests/{contest.json()['id']}/points", points, key=new_key()
    )
    assert recorded.status_code == 201, recorded.text
    assert ranking(client, contest.json()) == [("Ada", 4)]
    elsewhere = open_shop(client, "Elsewhere")  # a manager of nowhere else
    assert (
        elsewhere.owner.post(
            f"/api/v1/contests/{contest.json()['id']}/points", points, key=new_key()
        ).status_code
        == 403
    )


def test_who_may_enter_what(client, shop):
    contest = run_contest(shop)  # customers only
    path = f"/api/v1/contests/{contest['id']}/entries"
    founder, member = sign_up(client), sign_up(client)
    club = founder.post("/api/v1/clubs", {"name": "Readers", "display_name": "Fi"}).json()
    member.post(f"/api/v1/clubs/{club['id']}/join", {"display_name": "Mo"})
    wrong = founder.post(path, {"club_id": club["id"]})
    assert wrong.status_code == 409
    assert wrong.json()["type"].endswith("/contest-wrong-entrant")
    clubs_only = run_contest(shop, entrants="clubs")
    clubs_path = f"/api/v1/contests/{clubs_only['id']}/entries"
    not_theirs = member.post(clubs_path, {"club_id": club["id"]})
    assert not_theirs.status_code == 403  # only the club's organisers enter it
    assert founder.post(clubs_path, {"display_name": "Fi"}).status_code == 409
    assert shop.owner.post(path, {"display_name": "Owner"}).status_code == 409  # customers enter
    with client.app.state.sessions() as session:
        assert session.scalar(select(func.count()).select_from(ContestEntry)) == 0


def test_bad_rules_are_refused_and_make_nothing(client, shop):
    start, end, _ = window()
    base = {"title": "T", "starts_at": start, "ends_at": end, "entrants": "both"}
    path = f"/api/v1/businesses/{shop.business_id}/contests"
    for wrong in (
        {"measure": "redeemed", "ends_at": start, "starts_at": end},
        {"measure": "redeemed", "prizes_minor": [0]},
        {"measure": "redeemed", "prizes_minor": [10**9]},
        {"measure": "redeemed", "participating": ["nope"]},
        {"measure": "height"},
    ):
        answer = shop.owner.post(path, {**base, **wrong})
        assert answer.status_code in (404, 422), (wrong, answer.text)
    assert client.get("/api/v1/contests").json()["total"] == 0


def test_the_platform_runs_contests_with_a_named_business_s_prize_cards(client, shop):
    admin = make_admin(client)
    start, end, _ = window()
    body = {
        "title": "City-wide",
        "starts_at": start,
        "ends_at": end,
        "entrants": "customers",
        "measure": "businesses",
        "participating": [shop.business_id],
        "prizes_minor": [800],
    }
    missing = admin.post("/api/v1/contests", body)
    assert missing.status_code == 422  # whose gift cards would the prize be?
    made = admin.post("/api/v1/contests", {**body, "prize_business_id": shop.business_id})
    assert made.status_code == 201, made.text
    contest = made.json()
    assert contest["business_id"] is None
    assert contest["prizes"][0]["minor"] == 800
    assert shop.owner.post("/api/v1/contests", body).status_code == 403
    ada = sign_up(client)
    enter(ada, contest, "Ada")
    card = buy_card(ada, shop, 1000).json()
    assert shop.redeem(100, card_id=card["id"]).status_code == 200
    assert finish_all(client, contest) == 1
    assert [c["balance"]["minor"] for c in ada.get("/api/v1/me/gift-cards").json()["items"]] == [
        900,
        800,
    ]


def test_an_entry_or_points_sent_twice_at_once_count_once(client, shop):
    """Double-submits: a customer entering twice at once, two organisers entering their club
    at once, and points sent twice at once with one key — one entry each, points once."""
    from concurrent.futures import ThreadPoolExecutor

    from tests.server.test_clubs import found, join

    contest = run_contest(shop, measure="points", entrants="both", prizes=())
    path = f"/api/v1/contests/{contest['id']}"
    ada, bea = sign_up(client), sign_up(client)
    club = found(ada)
    join(bea, club)
    ada.put(f"/api/v1/clubs/{club['id']}/members/{bea.id}/role", {"role": "organiser"})

    def together(*sends):
        barrier = threading.Barrier(len(sends))

        def go(send):
            barrier.wait()
            return send()

        with ThreadPoolExecutor(len(sends)) as pool:
            return list(pool.map(go, sends))

    mine = together(*[lambda: ada.post(f"{path}/entries", {"display_name": "Ada"})] * 4)
    theirs = together(
        *[lambda a=a: a.post(f"{path}/entries", {"club_id": club["id"]}) for a in (ada, bea)]
    )
    for answers in (mine, theirs):
        assert {a.status_code for a in answers} == {200}, [a.text for a in answers]
        assert len({a.json()["id"] for a in answers}) == 1
    body = {"entry_id": mine[0].json()["id"], "points": 4}
    key = new_key()
    points = together(*[lambda: shop.owner.post(f"{path}/points", body, key=key)] * 2)
    assert [p.status_code for p in points] == [201, 201]
    assert points[0].json() == points[1].json()
    assert board(client, contest)["total"] == 2
    assert ranking(client, contest) == [("Ada", 4), ("Old Street Readers", 0)]


def test_the_contest_list_counts_and_pages_by_business(client, shop):
    mine = [run_contest(shop, prizes=())["id"] for _ in range(2)]
    other = open_shop(client, "Elsewhere")
    run_contest(other, prizes=())
    everyone = client.get("/api/v1/contests", params={"limit": 1}).json()
    assert (everyone["total"], everyone["next_offset"], len(everyone["items"])) == (3, 1, 1)
    shops = client.get("/api/v1/contests", params={"business_id": shop.business_id}).json()
    assert (shops["total"], shops["next_offset"]) == (2, None)
    assert sorted(c["id"] for c in shops["items"]) == sorted(mine)
